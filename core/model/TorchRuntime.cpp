#include "core/model/TorchRuntime.h"

#include <dlfcn.h>
#include <malloc.h>

#include <cstdlib>
#include <fstream>

namespace heatlens {

void configureProcessForTensors()
{
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024); // glibc's maximum on 64-bit
    mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
}

namespace {

std::string firstLineOf(const char *path)
{
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

} // namespace

std::string describeMallocPages()
{
    const char *tunables = std::getenv("GLIBC_TUNABLES");
    const std::string value = tunables ? tunables : "";
    const bool asked = value.find("glibc.malloc.hugetlb=1") != std::string::npos ||
                       value.find("glibc.malloc.hugetlb=2") != std::string::npos;
    if (!asked)
        return "malloc: 4 KiB pages (GLIBC_TUNABLES does not ask for glibc.malloc.hugetlb)";
    // "always [madvise] never": the bracketed word is the kernel's mode.
    const std::string mode = firstLineOf("/sys/kernel/mm/transparent_hugepage/enabled");
    if (mode.find("[never]") != std::string::npos)
        return "malloc: 4 KiB pages (glibc.malloc.hugetlb is set, but the kernel's transparent "
               "huge pages are off)";
    return "malloc: huge pages (GLIBC_TUNABLES=" + value +
           (mode.empty() ? std::string() : "; transparent_hugepage: " + mode) + ")";
}

namespace {

// Looked up at run time: which BLAS serves libblas.so.3 is the alternatives system's choice.
using SetThreads = void (*)(int);
using GetThreads = int (*)();
const auto g_setBlas =
    reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
const auto g_getBlas =
    reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));

} // namespace

int blasThreads()
{
    return g_setBlas && g_getBlas ? g_getBlas() : -1;
}

int setBlasThreads(int threads)
{
    if (!g_setBlas || !g_getBlas || threads < 1)
        return -1;
    const int previous = g_getBlas();
    if (previous != threads)
        g_setBlas(threads);
    return previous;
}

} // namespace heatlens
