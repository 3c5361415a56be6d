#pragma once

#include <torch/csrc/jit/runtime/graph_executor.h>

#include <string>

namespace heatlens {

// TorchScript's profiling executor specialises graphs over the first calls and may rewrite them
// into differentiable subgraphs; Heatlens runs graphs plainly so that the first call costs what
// every call costs and gradients flow through the graph exactly as written. Thread-local.
class PlainExecutionGuard
{
public:
    PlainExecutionGuard()
        : m_guard(false)
    {}

private:
    torch::jit::GraphOptimizerEnabledGuard m_guard;
};

} // namespace heatlens

namespace heatlens {

// Process-wide settings for tensor work, called first thing by every executable: glibc's malloc
// otherwise maps and unmaps every tensor-sized block, and the page faults cost more than the
// arithmetic (demo training measured 2.6x slower, two thirds of it in the kernel).
void configureProcessForTensors();

// Whether glibc's malloc backs its heap with transparent huge pages in this process: the
// launchers (app/launch) start the programs with GLIBC_TUNABLES=glibc.malloc.hugetlb=1, which
// spares the first gradient pass a page fault per 4 KiB. "malloc: huge pages (...)" or
// "malloc: 4 KiB pages (...)", with the reason, for `inspect` and the log.
std::string describeMallocPages();

} // namespace heatlens

namespace heatlens {

// Threads of the BLAS library LibTorch calls through libblas.so.3. With OpenBLAS (installed by
// set-up) its own thread pool spins next to LibTorch's intra-op threads; for training small
// models one BLAS thread is faster (demo ViT on 2 cores: 10.6 s -> 6.2 s per 10,000 images).
// Returns the previous count, or -1 (and does nothing) when the BLAS is not OpenBLAS.
int setBlasThreads(int threads);
// OpenBLAS's thread count, or -1 when the BLAS is not OpenBLAS.
int blasThreads();

// Sets the BLAS thread count for a scope.
class BlasThreadsGuard
{
public:
    explicit BlasThreadsGuard(int threads)
        : m_previous(setBlasThreads(threads))
    {}
    ~BlasThreadsGuard()
    {
        if (m_previous > 0)
            setBlasThreads(m_previous);
    }
    BlasThreadsGuard(const BlasThreadsGuard &) = delete;
    BlasThreadsGuard &operator=(const BlasThreadsGuard &) = delete;

private:
    int m_previous;
};

} // namespace heatlens
