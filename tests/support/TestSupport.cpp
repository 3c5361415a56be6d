#include "TestSupport.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <unistd.h>
#include <vector>

namespace heatlens::test {

namespace {

std::vector<std::string> &tempDirs()
{
    static std::vector<std::string> dirs;
    static bool registered = false;
    if (!registered) {
        registered = true;
        std::atexit([] {
            std::error_code ec;
            for (const auto &d : tempDirs())
                std::filesystem::remove_all(d, ec);
        });
    }
    return dirs;
}

} // namespace

std::string makeTempDir(const std::string &prefix)
{
    static int counter = 0;
    auto base = std::filesystem::path(HEATLENS_BINARY_DIR) / "test-tmp";
    auto dir = base / (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    tempDirs().push_back(dir.string());
    return dir.string();
}

std::string fixturesDir()
{
    return HEATLENS_FIXTURES_DIR;
}

bool haveFixture(const std::string &name)
{
    return std::filesystem::exists(std::filesystem::path(fixturesDir()) / name);
}

void writeBytes(const std::string &path, const std::string &bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out)
        throw std::runtime_error("cannot write " + path);
}

} // namespace heatlens::test
