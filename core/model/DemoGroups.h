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
torch::jit::Module buildDemoGroups(const GroupsConfig &config);

} // namespace heatlens
