#pragma once

#include "core/model/Threads.h"
#include "core/model/TorchRuntime.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>

namespace heatlens::bench {

// Benchmarks run the way the programs do: the launchers (app/launch) set OMP_WAIT_POLICY
// before the OpenMP runtime is loaded and malloc's huge pages (GLIBC_TUNABLES) before the
// dynamic loader starts, so a benchmark started without them re-executes itself once; then threads
// are configured as heatlens-cli does and printed.
inline void runLikeThePrograms(char **argv)
{
    if (!std::getenv("OMP_WAIT_POLICY") || !std::getenv("GLIBC_TUNABLES")) {
        setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
        setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1", 0);
        execv("/proc/self/exe", argv);
        std::perror("re-executing with OMP_WAIT_POLICY and GLIBC_TUNABLES"); // go on as we are
    }
    configureProcessForTensors();
    std::printf("threads: %s; %s\n", configureThreads(0).describe().c_str(),
                cpuBudget().describe().c_str());
}

// Best of `repeat` timed runs of `fn`, after one untimed warm-up run, in seconds.
inline double seconds(const std::function<void()> &fn, int repeat)
{
    fn();
    double best = 1e30;
    for (int i = 0; i < repeat; ++i) {
        const auto start = std::chrono::steady_clock::now();
        fn();
        best = std::min(
            best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return best;
}

} // namespace heatlens::bench
