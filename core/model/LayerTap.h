#pragma once

#include <torch/script.h>

#include <memory>
#include <string>
#include <vector>

namespace torch::jit {
struct Graph;
struct GraphFunction;
struct Node;
} // namespace torch::jit

namespace heatlens {

// How the ReLUs of a tapped forward back-propagate. Guided Backprop (Springenberg et al. 2015)
// passes a gradient only where both the ReLU's input and the incoming gradient are positive;
// DeconvNet (Zeiler & Fergus 2014) only where the incoming gradient is positive. The forward
// values are unchanged.
enum class ReluRule { Plain, Guided, Deconv };

// Runs a module's forward and also returns the outputs of chosen submodules ("layer taps"),
// for any TorchScript model, traced or scripted, without changing the model: forward's graph is
// copied and inlined, the value each chosen submodule produces is located through the inlined
// call stacks and appended as an extra output. The copy runs against the module's own
// parameters; the module and its methods are never modified.
//
// A path may also name a value inside a module: "encoder.layer_0.self_attention#softmax" is the
// output of the last softmax computed inside that module (attention probabilities of models
// whose attention is not a submodule of its own).
//
// With a ReluRule other than Plain, every aten::relu / aten::relu_ of the copy is replaced by an
// operator with that backward rule (only the private copy changes).
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
    LayerTap(const torch::jit::Module &module, const std::vector<std::string> &layerPaths,
             ReluRule rule = ReluRule::Plain);
    ~LayerTap();

    Output run(const torch::Tensor &input) const;

    const std::vector<std::string> &paths() const { return m_paths; }
    // How many ReLUs the rule replaced (0 for Plain).
    int rewrittenRelus() const { return m_rewrittenRelus; }

    // Module paths of every submodule whose output can be tapped, in execution order of their
    // (last) output. Paths producing the same value are listed in order of depth (shallowest
    // first).
    static std::vector<std::string> tappableLayers(const torch::jit::Module &module);

    // Taps of the attention probabilities of a transformer, in execution order: every softmax
    // computed inside a module whose name contains "attn" or "attention" (case-insensitive),
    // named by the module that outputs it when there is one ("blocks.0.attn.softmax"), else as
    // "<attention module>#softmax". Empty when there is none.
    static std::vector<std::string> attentionLayers(const torch::jit::Module &module);

private:
    torch::jit::Module m_module;
    std::vector<std::string> m_paths;
    std::shared_ptr<torch::jit::GraphFunction> m_function;
    int m_rewrittenRelus = 0;
};

// A forward in which one layer's output is multiplied by a tensor given with each call
// (broadcast against the output): run(x, scale). Ablation-CAM zeroes one channel per row of a
// batch this way. Works on a private copy of forward's graph, like LayerTap.
class ScaledLayerForward
{
public:
    // Throws std::invalid_argument naming the path like LayerTap.
    ScaledLayerForward(const torch::jit::Module &module, const std::string &layerPath);
    ~ScaledLayerForward();

    torch::Tensor run(const torch::Tensor &input, const torch::Tensor &scale) const;

private:
    torch::jit::Module m_module;
    std::shared_ptr<torch::jit::GraphFunction> m_function;
};

// Inlines every method and function call of `graph` in place from the callees' own graphs,
// keeping every node's module path (its call stack) so that layer taps still find their layers
// in the result. For private copies of a module's forward (stochastic copies).
void inlineModuleCalls(torch::jit::Graph &graph);

// The module path of an inlined node ("features.block1.conv"; "" at the top level).
std::string nodeModulePath(const torch::jit::Node *node);

} // namespace heatlens
