#pragma once

#include <torch/script.h>

#include <utility>
#include <vector>

namespace heatlens {

// Shape of the interpretable-by-design feature-group model (Afchar & Hennequin 2020): the
// input split into a grid x grid set of square patches (the feature groups), one expert per
// group and one per pair of adjacent groups (horizontal and vertical neighbours).
struct GroupsConfig
{
    int inputChannels = 1;
    int inputSize = 28;
    int grid = 4; // 4 x 4 groups of 7 x 7 pixels
    int hidden = 32;
    int classes = 10;
    // The additive head instead of the gated mixture: f = sum of the group experts' logits + sum
    // of the pair experts' residuals, so that the game of masking groups to a baseline is
    // 2-additive and its exact Shapley values and pair interactions follow in closed form.
    bool additive = false;

    int patch() const { return inputSize / grid; }
    int numGroups() const { return grid * grid; }
    // Adjacent pairs (row-major group indices, first < second): all horizontal neighbours,
    // then all vertical ones. Experts are ordered groups first, then these pairs.
    std::vector<std::pair<int, int>> pairs() const;
    int numExperts() const { return numGroups() + int(pairs().size()); }
};

// Builds the model as an ordinary TorchScript module. Submodules groups.i and pairs.k
// (fc1, relu1, fc2, relu2, head, confidence) each see only their own pixels. A pair expert also
// receives its two group experts' hidden features and the mean of their logits through
// stop-gradient (detach) and adds a learned residual to that mean: it learns only what the
// single groups miss (boosting). Every expert gives class logits z_e and a confidence score
// s_e; with w = softmax(s) over experts, the prediction is sum_e w_e z_e.
// Methods besides forward:
//   experts(x) -> (logits [N, E, classes], scores [N, E])
//   expert_logits(x) -> [N, E, classes]
//   group_attributions(x) -> w [N, E], rows sum to 1: the exact attribution of every group
//     (first numGroups() columns) and pair interaction (the rest, in pairs() order).
//
// With config.additive, forward(x) = sum_g z_g + sum_k r_k (r_k: pair k's residual, what it adds
// to the mean of its groups' logits), and instead of group_attributions the module offers, for a
// baseline b (masked groups take b's pixels):
//   exact_shapley(x, b) -> [N, groups, classes]: m_i + 1/2 sum_j m_ij, where
//     m_i = z_i(x) - z_i(b) + sum over pairs (i, j) of r_ij(x_i, b_j) - r_ij(b_i, b_j)
//   exact_interactions(x, b) -> [N, pairs, classes]: m_ij = r_ij(x_i, x_j) - r_ij(x_i, b_j)
//     - r_ij(b_i, x_j) + r_ij(b_i, b_j), in pairs() order; non-adjacent pairs interact 0
//   terms(x) -> (group logits [N, G, classes], pair residuals [N, P, classes])
torch::jit::Module buildDemoGroups(const GroupsConfig &config);

} // namespace heatlens
