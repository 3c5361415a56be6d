#pragma once

// Tiny TorchScript models whose attributions can be computed by hand, for the known-answer tests
// of every family (tests/core/test_*_known_answers.cpp, faithfulness, sanity).

#include "core/explain/Method.h"
#include "core/explain/Params.h"
#include "core/model/Model.h"

#include <opencv2/core/mat.hpp>

#include <torch/script.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace heatlens::test {

using CompilationUnitPtr = std::shared_ptr<torch::jit::CompilationUnit>;

// An empty scripted module of type __torch__.heatlens_test.<type>, in `cu` (a new unit when
// null), with its `training` attribute set to `training` (Model copies and evaluates it).
torch::jit::Module scriptModule(CompilationUnitPtr cu, const std::string &type,
                                bool training = true);

// logits = W · flatten(x) + b
torch::jit::Module linearModule(const torch::Tensor &weight, const torch::Tensor &bias,
                                bool training = true);

// Submodule "conv" (bias, stride 1, padding k / 2), then `act` (a TorchScript function name such
// as torch.relu), a spatial sum and logits = V · sums.
torch::jit::Module convSumModule(const torch::Tensor &convWeight, const torch::Tensor &convBias,
                                 const torch::Tensor &v, const std::string &act);

// A Model of `module` with a card for channels x height x width inputs (and optional mean/std).
ModelPtr withCard(const torch::jit::Module &module, int channels, int height, int width,
                  std::vector<float> mean = {}, std::vector<float> std = {},
                  const std::string &name = "test model");

// The registered method's explanation of `input` for `target`, parameters at their defaults
// except `overrides` (name -> text, as on the command line).
Explanation explainWith(const std::string &methodId, const ModelPtr &model,
                        const torch::Tensor &input, int target,
                        const std::map<std::string, std::string> &overrides = {});

// CV_32FC1 map <-> [H, W] float tensor (copies).
torch::Tensor tensorOf(const cv::Mat &map);
cv::Mat mapOf(const torch::Tensor &tensor);

// The linear model of the known answers: 2 channels of 3 x 4 pixels (not square, so that a
// transposed map would show), 3 classes, seeded weights and input.
struct LinearCase
{
    explicit LinearCase(std::vector<float> mean = {}, std::vector<float> std = {});

    torch::Tensor weightOf(int target) const { return weight[target].view({2, 3, 4}); }

    torch::Tensor weight, bias, input;
    ModelPtr model;
};

// The golden files' model and image (tests/data/golden), made from closed forms so that they
// hold on any processor. A 28 x 28 grey image: a ramp with a bright disc, left of centre.
cv::Mat goldenInput();
// Ten classes on 1 x 28 x 28 inputs normalised with mean 0.5, std 0.25; the weights are
// multiples of 1/8 in [-11/8, 11/8] and class 3's bias puts it far ahead of the others, so the
// predicted class is 3 whatever the rounding of the logits. `variant` > 0 shifts the weights
// (a second model of the same shape for comparisons).
torch::jit::Module goldenModule(int variant = 0);

} // namespace heatlens::test
