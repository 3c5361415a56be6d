#pragma once

#include "core/model/ModelCard.h"

#include <opencv2/core/mat.hpp>
#include <torch/types.h>

namespace heatlens {

// Where the model's input came from in the native image: the input covers `crop` (native pixel
// coordinates), scaled to `input`. Used to bring maps back to the native frame.
struct InputGeometry
{
    cv::Size native;
    cv::Rect crop;
    cv::Size input;
};

// Image (any supported depth/channels) -> float tensor [1, C, H, W] as the card prescribes:
// channel conversion, resize (stretch or shorter-side + centre crop), scale to [0, 1], mean/std.
torch::Tensor preprocessImage(const cv::Mat &image, const ModelCard &card, InputGeometry *geometry);

// The "black image" in model input space: zeros before normalisation, i.e. -mean/std.
torch::Tensor blackInput(const ModelCard &card);

// Brings an input-resolution map (CV_32F, input size) to the native image frame; pixels outside
// the crop are 0.
cv::Mat mapToNative(const cv::Mat &inputMap, const InputGeometry &geometry);

} // namespace heatlens
