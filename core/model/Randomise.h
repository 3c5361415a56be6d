#pragma once

#include "core/model/Model.h"

#include <cstdint>
#include <string>
#include <vector>

namespace heatlens {

// A module that owns parameters itself ("features.block1.conv"; "" for parameters of the root
// module such as a ViT's class token), with its parameter names and total size.
struct ParameterLayer
{
    std::string path;
    std::vector<std::string> parameters;
    int64_t size = 0;
};

// The model's parameter layers in the order the module declares them (input side first for
// Sequential-style models and the demo zoo; the order the sanity checks cascade in reverse).
std::vector<ParameterLayer> parameterLayers(const Model &model);

// A private copy of `model` in which every parameter of the listed layers is redrawn (seeded,
// so the same call gives the same copy); the model itself is not touched. Redraw rule, that of
// PyTorch's reset_parameters for weight layers: tensors of two or more dimensions from
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), the other parameters of such a layer (biases) with the
// same bound; parameters of layers without a weight matrix (norm scales and shifts, class
// tokens, position embeddings) from a normal distribution N(0, 1) truncated to [-2, 2].
// Throws std::invalid_argument naming a path that is not a parameter layer. The copies are
// pooled clones of the model (see CopyPool): a copy is one clone's parameters, reset from the
// model's and redrawn, lent for as long as the returned pointer lives; it runs its module itself
// (Model::variant).
ModelPtr randomisedCopy(const ModelPtr &model, const std::vector<std::string> &layers,
                        uint64_t seed);

} // namespace heatlens
