#pragma once

#include <torch/csrc/jit/runtime/graph_executor.h>

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

} // namespace heatlens
