#include "core/model/TorchRuntime.h"

#include <dlfcn.h>
#include <malloc.h>

namespace heatlens {

void configureProcessForTensors()
{
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024); // glibc's maximum on 64-bit
    mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
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
