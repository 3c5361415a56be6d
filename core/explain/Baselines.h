#pragma once

#include "core/explain/Params.h"
#include "core/model/ModelCard.h"

#include <torch/script.h>

#include <string>
#include <vector>

namespace heatlens {

// Reference inputs ("baselines") shared by Integrated Gradients, Occlusion and the other
// methods that compare the input with an uninformative one. All are in the model's input space
// (after normalisation), shaped like `input` ([1, C, H, W]):
//   black   an all-black image normalised like the input (-mean / std per channel)
//   zero    the all-zero tensor (the dataset mean colour for a mean/std-normalised model)
//   mean    the input image's own mean colour, per channel
//   blur    the input blurred by a Gaussian of sigma = max(1, min(H, W) / 16) (reflected border)
//   uniform noise drawn uniformly within the input's [min, max], seeded
const std::vector<std::string> &baselineKinds();
std::string baselineHelp();
// The "baseline" choice parameter (default "zero") of the perturbation methods.
ParamSpec baselineParam();

// Throws std::invalid_argument naming the kind when it is unknown.
torch::Tensor makeBaseline(const std::string &kind, const torch::Tensor &input,
                           const ModelCard &card, uint64_t seed = 0);

} // namespace heatlens
