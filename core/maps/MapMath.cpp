#include "core/maps/MapMath.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace heatlens {

namespace {

double finiteMin(const cv::Mat &values)
{
    double lowest = std::numeric_limits<double>::infinity();
    for (auto it = values.begin<float>(); it != values.end<float>(); ++it)
        if (std::isfinite(*it))
            lowest = std::min(lowest, double(*it));
    return std::isfinite(lowest) ? lowest : 0.0;
}

// Maps every value through `f` into [lo, 1]; NaN becomes 0.
template<typename F> cv::Mat mapValues(const cv::Mat &values, double lo, F f)
{
    cv::Mat out(values.size(), CV_32F);
    auto dst = out.begin<float>();
    for (auto it = values.begin<float>(); it != values.end<float>(); ++it, ++dst)
        *dst = std::isnan(*it) ? 0.0f : static_cast<float>(std::clamp(f(double(*it)), lo, 1.0));
    return out;
}

} // namespace

cv::Mat floatMap(const cv::Mat &map, const char *caller)
{
    if (map.channels() != 1)
        throw std::invalid_argument(std::string(caller) + ": expected a single-channel map, got " +
                                    std::to_string(map.channels()) + " channels");
    cv::Mat values;
    map.convertTo(values, CV_32F);
    return values;
}

double percentileOfAbs(const cv::Mat &values, double percentile)
{
    std::vector<float> magnitudes;
    magnitudes.reserve(values.total());
    for (auto it = values.begin<float>(); it != values.end<float>(); ++it)
        if (std::isfinite(*it))
            magnitudes.push_back(std::abs(*it));
    if (magnitudes.empty())
        return 0.0;
    const double pos = std::clamp(percentile, 0.0, 100.0) / 100.0 * (magnitudes.size() - 1);
    const auto lo = static_cast<size_t>(std::floor(pos));
    std::nth_element(magnitudes.begin(), magnitudes.begin() + lo, magnitudes.end());
    const double a = magnitudes[lo];
    if (lo + 1 >= magnitudes.size())
        return a;
    const double b = *std::min_element(magnitudes.begin() + lo + 1, magnitudes.end());
    return a + (pos - lo) * (b - a);
}

// Signed maps: v / scale in [-1, 1]. Unsigned maps: v / scale in [0, 1]; when an unsigned display
// is asked of a map with negative values, (v - min) / (scale - min) instead, so that the most
// negative value is 0 rather than every negative value collapsing onto 0. A map whose clip value
// is 0 (all zeros or all NaN) gives zeros and scale 1.
double normalizeMap(const cv::Mat &map, const Normalization &norm, cv::Mat &out)
{
    const cv::Mat values = floatMap(map, "normalizeMap");
    double scale =
        norm.sharedScale > 0 ? norm.sharedScale : percentileOfAbs(values, norm.clipPercentile);
    if (!(scale > 0) || !std::isfinite(scale)) {
        out = cv::Mat::zeros(values.size(), CV_32F);
        return 1.0;
    }
    const double lowest = finiteMin(values);
    if (norm.signedMap)
        out = mapValues(values, -1.0, [scale](double v) { return v / scale; });
    else if (lowest >= 0)
        out = mapValues(values, 0.0, [scale](double v) { return v / scale; });
    else
        out = mapValues(values, 0.0, [&](double v) { return (v - lowest) / (scale - lowest); });
    return scale;
}

} // namespace heatlens
