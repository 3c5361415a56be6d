#include "core/model/TorchRuntime.h"

#include <dlfcn.h>
#include <malloc.h>

namespace heatlens {

void configureProcessForTensors()
{
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024); // glibc's maximum on 64-bit
    mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
}

int setBlasThreads(int threads)
{
    // Looked up at run time: which BLAS serves libblas.so.3 is the alternatives system's choice.
    using Set = void (*)(int);
    using Get = int (*)();
    static const auto set = reinterpret_cast<Set>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    static const auto get = reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    if (!set || !get || threads < 1)
        return -1;
    const int previous = get();
    set(threads);
    return previous;
}

} // namespace heatlens
