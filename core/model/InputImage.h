#pragma once

#include "core/model/ModelCard.h"

#include <opencv2/core/mat.hpp>
#include <torch/types.h>

namespace heatlens {

// What a model input looks like to a person: the inverse of preprocessImage's value mapping.
// `input` is [1, C, H, W] or [C, H, W] in the model's input space (after mean/std); the card's
// mean/std are undone (when it has them), values are clamped to [0, 1] and scaled to 8 bits, the
// channel order is brought to RGB (card colour order "bgr" is swapped back) and one-channel
// inputs become grey RGB. Returns CV_8UC3, H x W, RGB. Resizing is not undone: the image is at
// the model's input resolution. Throws std::invalid_argument naming the shape when `input` is
// not one image of 1 or 3 channels, or when the card's mean/std do not fit its channel count.
cv::Mat inputToRgb8(const torch::Tensor &input, const ModelCard &card);

} // namespace heatlens
