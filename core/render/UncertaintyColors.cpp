#include "core/render/UncertaintyColors.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace heatlens {

cv::Mat colorizeDefined(const cv::Mat &values, double lo, double hi, ColorMapId id,
                        cv::Vec3b undefined)
{
    const cv::Mat v = floatMap(values, "colorizeDefined");
    const cv::Mat lut = colorMapLut(id);
    const double span = hi > lo ? hi - lo : 1.0;
    cv::Mat rgb(v.size(), CV_8UC3);
    auto dst = rgb.begin<cv::Vec3b>();
    for (auto it = v.begin<float>(); it != v.end<float>(); ++it, ++dst) {
        if (!std::isfinite(*it)) {
            *dst = std::isnan(*it) ? undefined : lut.at<cv::Vec3b>(0, *it > 0 ? 255 : 0);
            continue;
        }
        const double t = std::clamp((double(*it) - lo) / span, 0.0, 1.0);
        *dst = lut.at<cv::Vec3b>(0, int(std::lround(t * 255.0)));
    }
    return rgb;
}

namespace {

// The palette: colours[level][bin], level 0 the most certain (2^(layers-1) bins).
std::vector<std::vector<cv::Vec3b>> vsupPalette(ColorMapId id, int layers)
{
    const cv::Mat lut = colorMapLut(id);
    std::vector<std::vector<cv::Vec3b>> palette;
    for (int level = 0; level < layers; ++level) {
        const int bins = 1 << (layers - 1 - level);
        // Toward white by the level: the most uncertain level keeps a trace of colour.
        const double fade = layers > 1 ? 0.8 * level / (layers - 1) : 0.0;
        std::vector<cv::Vec3b> row;
        for (int b = 0; b < bins; ++b) {
            const double centre = (b + 0.5) / bins; // in [0, 1] of the colour map
            const cv::Vec3b c = lut.at<cv::Vec3b>(0, int(std::lround(centre * 255.0)));
            cv::Mat rgb(1, 1, CV_8UC3, cv::Scalar(c[0], c[1], c[2])), lab;
            cv::cvtColor(rgb, lab, cv::COLOR_RGB2Lab);
            cv::Vec3b l = lab.at<cv::Vec3b>(0, 0);
            // White in OpenCV's 8-bit Lab: L = 255, a = b = 128.
            const cv::Vec3b white(255, 128, 128);
            for (int k = 0; k < 3; ++k)
                l[k] = cv::saturate_cast<uchar>(l[k] + fade * (white[k] - l[k]));
            lab.at<cv::Vec3b>(0, 0) = l;
            cv::cvtColor(lab, rgb, cv::COLOR_Lab2RGB);
            row.push_back(rgb.at<cv::Vec3b>(0, 0));
        }
        palette.push_back(row);
    }
    return palette;
}

cv::Vec3b vsupColour(const std::vector<std::vector<cv::Vec3b>> &palette, double position,
                     double uncertainty)
{
    const int layers = int(palette.size());
    const double u = std::isfinite(uncertainty) ? std::clamp(uncertainty, 0.0, 1.0) : 1.0;
    const int level = std::min(layers - 1, int(u * layers));
    const auto &row = palette[size_t(level)];
    const int bin = std::min(int(row.size()) - 1, int(std::clamp(position, 0.0, 1.0) * row.size()));
    return row[size_t(bin)];
}

} // namespace

cv::Mat vsupColorize(const cv::Mat &value, const cv::Mat &uncertainty, ColorMapId id,
                     bool signedMap, int layers)
{
    const cv::Mat v = floatMap(value, "vsupColorize"), u = floatMap(uncertainty, "vsupColorize");
    if (v.size() != u.size())
        throw std::invalid_argument("vsupColorize: value and uncertainty maps differ in size");
    const auto palette = vsupPalette(id, std::max(1, layers));
    cv::Mat rgb(v.size(), CV_8UC3);
    for (int y = 0; y < v.rows; ++y)
        for (int x = 0; x < v.cols; ++x) {
            const double val = std::isfinite(v.at<float>(y, x)) ? v.at<float>(y, x) : 0.0;
            const double position = signedMap ? (val + 1.0) / 2.0 : val;
            rgb.at<cv::Vec3b>(y, x) = vsupColour(palette, position, u.at<float>(y, x));
        }
    return rgb;
}

cv::Mat vsupLegend(int size, ColorMapId id, int layers)
{
    const auto palette = vsupPalette(id, std::max(1, layers));
    cv::Mat rgba(size, size, CV_8UC4, cv::Scalar(0, 0, 0, 0));
    // A wedge of 60 degrees each side of straight up, its tip at the bottom centre.
    const double cx = size / 2.0, cy = size - 1.0, radius = size - 2.0;
    const double half = M_PI / 3.0;
    for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x) {
            const double dx = x - cx, dy = cy - y;
            const double r = std::hypot(dx, dy), angle = std::atan2(dx, dy);
            if (r > radius || std::abs(angle) > half || r < 1.0)
                continue;
            const double position = (angle + half) / (2.0 * half);
            const double uncertainty = 1.0 - r / radius;
            const cv::Vec3b c = vsupColour(palette, position, uncertainty);
            rgba.at<cv::Vec4b>(y, x) = cv::Vec4b(c[0], c[1], c[2], 255);
        }
    return rgba;
}

} // namespace heatlens
