#include "FuzzTarget.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace heatlens::fuzz {

namespace fs = std::filesystem;

std::vector<Target> &registeredTargets()
{
    static std::vector<Target> targets;
    return targets;
}

const std::string &scratchDir()
{
    static const std::string dir = [] {
        const fs::path path = fs::temp_directory_path() /
                              ("heatlens-fuzz-" + std::to_string(static_cast<long>(getpid())));
        fs::create_directories(path);
        return path.string();
    }();
    return dir;
}

std::string writeScratch(const std::string &name, const uint8_t *data, size_t size)
{
    const std::string path = (fs::path(scratchDir()) / name).string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(data), std::streamsize(size));
    if (!out)
        violated("cannot write the scratch file " + path);
    return path;
}

void violated(const std::string &what)
{
    std::fprintf(stderr, "heatlens fuzz: contract broken: %s\n", what.c_str());
    std::fflush(stderr);
    std::abort();
}

void requireNamed(const std::exception &e, const std::string &path)
{
    const std::string message = e.what();
    if (message.find(path) == std::string::npos)
        violated("the error does not name " + path + ": \"" + message + "\"");
}

} // namespace heatlens::fuzz
