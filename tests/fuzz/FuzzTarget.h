#pragma once

// One parser's fuzz target, written once and built two ways:
//  - with HEATLENS_LIBFUZZER (./setup.sh fuzz, clang -fsanitize=fuzzer): the target is the
//    program's LLVMFuzzerTestOneInput;
//  - otherwise (the normal build): the target registers itself with the replay test, which runs
//    it over its corpus and every crashing input kept under tests/data/fuzz/<name>/.
// A target returns normally for any input the parser handles as documented: a result, or the
// documented exception with a message naming the file. Anything else (another exception type, a
// message that does not name the file, a broken invariant) aborts, so libFuzzer records the input.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace heatlens::fuzz {

using TargetFunction = void (*)(const uint8_t *data, size_t size);

struct Target
{
    const char *name;
    TargetFunction run;
};

std::vector<Target> &registeredTargets();

struct Registration
{
    Registration(const char *name, TargetFunction run)
    {
        registeredTargets().push_back({name, run});
    }
};

// A folder of this process's own under $TMPDIR (created once, emptied by the caller's writes).
const std::string &scratchDir();
// Writes `size` bytes to scratchDir()/name, replacing the file; returns its path.
std::string writeScratch(const std::string &name, const uint8_t *data, size_t size);
// Aborts with `what` on stderr (libFuzzer then saves the input).
[[noreturn]] void violated(const std::string &what);
// The documented contract of an error: its message names `path`.
void requireNamed(const std::exception &e, const std::string &path);

} // namespace heatlens::fuzz

#ifdef HEATLENS_LIBFUZZER
#define HEATLENS_FUZZ_TARGET(name)                                                                 \
    static void fuzz_##name(const uint8_t *data, size_t size);                                     \
    extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                        \
    {                                                                                              \
        fuzz_##name(data, size);                                                                   \
        return 0;                                                                                  \
    }                                                                                              \
    static void fuzz_##name(const uint8_t *data, size_t size)
#else
#define HEATLENS_FUZZ_TARGET(name)                                                                 \
    static void fuzz_##name(const uint8_t *data, size_t size);                                     \
    static const heatlens::fuzz::Registration registration_##name(#name, fuzz_##name);             \
    static void fuzz_##name(const uint8_t *data, size_t size)
#endif
