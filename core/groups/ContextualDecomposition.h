#pragma once

#include "core/groups/Estimators.h"

#include <torch/script.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace torch::jit {
struct Graph;
}

namespace heatlens {

// The model has an operator contextual decomposition has no rule for; the message names it.
class CdUnsupported : public std::invalid_argument
{
public:
    using std::invalid_argument::invalid_argument;
};

// Contextual decomposition (Murdoch, Liu & Yu 2018; Singh, Murdoch & Yu 2019, "Hierarchical
// interpretations for neural network predictions"): every value computed from the input is
// carried as a relevant part (what comes from the chosen pixels) and an irrelevant part (the
// rest), whose sum is the value itself, so the logits split into the contribution of the chosen
// pixels and of everything else. The input splits as relevant = (x - b) * mask,
// irrelevant = x - relevant, for a baseline b (zero in ACD; the masker's fill here, so that
// "absent" means the same as in the coalition game).
//
// The forward graph (inlined, in-place ops made functional) is walked operator by operator with
// the rules of ACD's CNN decomposition:
//   conv, linear, batch norm (eval), add/sub of a constant: affine; the parts go through the
//       linear map and the constant (bias) is shared in proportion to |relevant| and
//       |irrelevant|
//   ReLU: relevant' = relu(relevant), irrelevant' = relu(relevant + irrelevant) - relevant'
//   max pooling: both parts taken where the whole value has its maximum
//   linear operators (average and adaptive pooling, mean, sum, scaling by a constant, flatten,
//       view, reshape, permute, select, slice, cat, stack, eval-mode dropout, detach ...) and
//       the residual add of two decomposed values: applied to each part
// Any other operator on a decomposed value (softmax, layer norm, GELU, the product of two
// decomposed values, control flow ...) throws CdUnsupported naming it.
class ContextualDecomposition
{
public:
    // Checks nothing yet: the walk finds unsupported operators (the first call throws).
    explicit ContextualDecomposition(const torch::jit::Module &module);
    ~ContextualDecomposition();

    struct Parts
    {
        torch::Tensor relevant, irrelevant; // [B, classes]; their sum is the logits
    };
    // input [1, C, H, W]; baseline [1, C, H, W] (undefined: zero); masks [B, 1 or C, H, W] of
    // 0 and 1, one decomposition per row.
    Parts decompose(const torch::Tensor &input, const torch::Tensor &baseline,
                    const torch::Tensor &masks) const;

private:
    torch::jit::Module m_module;
    std::shared_ptr<torch::jit::Graph> m_graph;
};

// Group attributions and pair interactions by contextual decomposition of the game's input on
// its groups and baseline: single i is CD({i}) of the target logit, pair (i, j) is
// CD({i, j}) - CD({i}) - CD({j}) (all pairs, or neighbours only). `calls` counts decomposed
// rows (each costs about two forward passes) plus the game's v(empty) and v(all). Throws
// CdUnsupported naming the operator, std::invalid_argument for the inpainting masker (no fixed
// baseline), Cancelled when cancelled.
GroupInteractions cdInteractions(CoalitionGame &game, int target, bool adjacentOnly, int batch = 64,
                                 const JobContext &ctx = {});

} // namespace heatlens
