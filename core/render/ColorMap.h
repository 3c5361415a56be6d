#pragma once

#include "core/maps/MapMath.h"

#include <opencv2/core/mat.hpp>

#include <string>
#include <vector>

namespace heatlens {

// Colour maps for heatmaps. Sequential maps take values in [0, 1]; diverging maps take values
// in [-1, 1] with 0 at the neutral centre.
enum class ColorMapId { Viridis, Inferno, Magma, Turbo, Jet, Gray, CoolWarm, Bwr };

struct ColorMapInfo
{
    ColorMapId id;
    std::string name; // "viridis", "coolwarm", ...
    bool diverging;
};

const std::vector<ColorMapInfo> &colorMaps();
ColorMapId colorMapFromName(const std::string &name); // throws naming the value
bool colorMapDiverging(ColorMapId id);

// 256 RGB entries, CV_8UC3, 1 x 256; entry 128 is the centre of a diverging map.
cv::Mat colorMapLut(ColorMapId id);

// Applies a colour map to a normalised map: CV_8UC3 RGB.
cv::Mat colorize(const cv::Mat &normalized, ColorMapId id);

// Blends a colourised heatmap over an image (any depth/channels; converted to 8-bit RGB and
// resized to the heatmap's size). `alpha` is the heatmap's opacity in [0, 1].
cv::Mat overlayHeatmap(const cv::Mat &image, const cv::Mat &heatRgb, double alpha);

// 8-bit RGB view of a sample image of any supported depth and channel count.
cv::Mat toRgb8(const cv::Mat &image);

} // namespace heatlens
