#include "core/io/CacheDirectory.h"

#include <cstdlib>

namespace heatlens {

std::string heatlensCacheDirectory()
{
    auto env = [](const char *name) {
        const char *value = std::getenv(name);
        return value && *value ? std::string(value) : std::string();
    };
    std::string cache = env("XDG_CACHE_HOME");
    if (cache.empty()) {
        const std::string home = env("HOME");
        cache = (home.empty() ? std::string("/tmp") : home) + "/.cache";
    }
    return cache + "/heatlens";
}

} // namespace heatlens
