#include "core/model/TorchRuntime.h"

#include <malloc.h>

namespace heatlens {

void configureProcessForTensors()
{
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024); // glibc's maximum on 64-bit
    mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
}

} // namespace heatlens
