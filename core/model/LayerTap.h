#pragma once

#include <torch/script.h>

#include <memory>
#include <string>
#include <vector>

namespace torch::jit {
struct Graph;
struct GraphFunction;
} // namespace torch::jit

namespace heatlens {

// Runs a module's forward and also returns the outputs of chosen submodules ("layer taps"),
// for any TorchScript model, traced or scripted, without changing the model: forward's graph is
// copied and inlined, the value each chosen submodule produces is located through the inlined
// call stacks and appended as an extra output. The copy runs against the module's own
// parameters; the module and its methods are never modified.
class LayerTap
{
public:
    struct Output
    {
        torch::Tensor logits;
        std::vector<torch::Tensor> taps; // in the order of the requested paths
    };

    // Throws std::invalid_argument naming the path when a layer does not exist or its output
    // cannot be located (e.g. computed only inside control flow).
    LayerTap(const torch::jit::Module &module, const std::vector<std::string> &layerPaths);
    ~LayerTap();

    Output run(const torch::Tensor &input) const;

    const std::vector<std::string> &paths() const { return m_paths; }

    // Module paths of every submodule whose output can be tapped, in execution order of their
    // (last) output. Paths producing the same value are listed in order of depth (shallowest
    // first).
    static std::vector<std::string> tappableLayers(const torch::jit::Module &module);

private:
    torch::jit::Module m_module;
    std::vector<std::string> m_paths;
    std::shared_ptr<torch::jit::GraphFunction> m_function;
};

} // namespace heatlens
