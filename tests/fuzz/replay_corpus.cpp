// parsers_survive_their_fuzz_corpus: every fuzz target over its kept corpus and crashing inputs
// (tests/data/fuzz/<target>/), in the normal build and compiler. An abort names the input.
#include "FuzzTarget.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

char g_current[4096] = "";

void onAbort(int)
{
    const char prefix[] = "\nparsers_survive_their_fuzz_corpus: aborted on ";
    [[maybe_unused]] auto a = write(2, prefix, sizeof(prefix) - 1);
    [[maybe_unused]] auto b = write(2, g_current, std::strlen(g_current));
    [[maybe_unused]] auto c = write(2, "\n", 1);
    std::signal(SIGABRT, SIG_DFL);
    std::raise(SIGABRT);
}

} // namespace

int main()
{
    std::signal(SIGABRT, onAbort);
    const fs::path root = HEATLENS_FUZZ_CORPUS;
    int failures = 0;
    size_t inputs = 0;
    std::set<std::string> names;
    for (const auto &target : heatlens::fuzz::registeredTargets()) {
        names.insert(target.name);
        const fs::path dir = root / target.name;
        std::vector<fs::path> files;
        std::error_code ec;
        for (const auto &entry : fs::directory_iterator(dir, ec))
            if (entry.is_regular_file())
                files.push_back(entry.path());
        std::sort(files.begin(), files.end());
        if (files.empty()) {
            std::fprintf(stderr, "FAIL %s: no corpus in %s\n", target.name, dir.c_str());
            ++failures;
            continue;
        }
        for (const auto &file : files) {
            std::snprintf(g_current, sizeof(g_current), "%s", file.c_str());
            std::ifstream in(file, std::ios::binary);
            const std::string bytes((std::istreambuf_iterator<char>(in)),
                                    std::istreambuf_iterator<char>());
            try {
                target.run(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
            } catch (const std::exception &e) {
                std::fprintf(stderr, "FAIL %s: uncaught %s\n", file.c_str(), e.what());
                ++failures;
            } catch (...) {
                std::fprintf(stderr, "FAIL %s: uncaught non-standard exception\n", file.c_str());
                ++failures;
            }
            ++inputs;
        }
        std::printf("%-18s %zu inputs\n", target.name, files.size());
    }
    for (const auto &entry : fs::directory_iterator(root))
        if (entry.is_directory() && !names.count(entry.path().filename().string())) {
            std::fprintf(stderr, "FAIL %s: a corpus without a target\n", entry.path().c_str());
            ++failures;
        }
    fs::remove_all(heatlens::fuzz::scratchDir());
    std::printf("%zu inputs over %zu targets, %d failures\n", inputs, names.size(), failures);
    return failures == 0 ? 0 : 1;
}
