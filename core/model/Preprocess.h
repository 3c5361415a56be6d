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
// the crop are 0. Same as mapToFrame(inputMap, geometry, geometry.native).
cv::Mat mapToNative(const cv::Mat &inputMap, const InputGeometry &geometry);

// Brings an input-resolution map to a frame of `frame` pixels covering the whole native image
// (the native frame, or a uniformly scaled copy of it): the crop is scaled to the frame, the map
// resized into it (area averaging when it shrinks, so that no value is skipped; bilinear when
// it grows), pixels outside the crop are 0. Maps of models with different input sizes, crops
// or patch grids become comparable pixel by pixel.
cv::Mat mapToFrame(const cv::Mat &inputMap, const InputGeometry &geometry, cv::Size frame);

// The crop (the part of the image the model saw) in a frame of `frame` pixels.
cv::Rect cropInFrame(const InputGeometry &geometry, cv::Size frame);

// The frame maps are compared in: the native size, scaled down to at most `maxSide` pixels on
// the longer side (aspect kept) so that comparisons of huge images stay interactive.
cv::Size comparisonFrame(cv::Size native, int maxSide = 512);

// The inverse of mapToFrame: a map in a frame of the native image (any scale) back to the
// model's input resolution, e.g. a consensus of several models for a curve of one of them.
cv::Mat frameToInput(const cv::Mat &frameMap, const InputGeometry &geometry);

} // namespace heatlens
