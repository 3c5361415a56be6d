#pragma once

#include <opencv2/core/mat.hpp>

namespace heatlens {

// Arithmetic on attribution maps (single-channel, any depth) that both the metrics and the
// rendering need: nothing here knows colours, models or methods.

// How a raw attribution map becomes display values.
struct Normalization
{
    bool signedMap = false;       // keep the sign: scale to [-1, 1] by the clip value of |map|
    double clipPercentile = 99.0; // clip at this percentile of |map| (100 = max)
    double sharedScale = 0.0;     // > 0: use this value instead of the percentile (shared scale)
};

// Returns the scale used (the value that maps to 1) and writes a CV_32F map in [0,1] or [-1,1].
double normalizeMap(const cv::Mat &map, const Normalization &norm, cv::Mat &out);

// Percentile (linear interpolation between order statistics, as numpy) of |v| over the finite
// values of a CV_32F map; 0 when none is finite.
double percentileOfAbs(const cv::Mat &values, double percentile);

// A single-channel map as CV_32F; throws std::invalid_argument naming `caller` otherwise.
cv::Mat floatMap(const cv::Mat &map, const char *caller);

} // namespace heatlens
