#include "core/render/ColorMap.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <stdexcept>

namespace heatlens {

namespace {

struct ControlPoint
{
    double t; // position in [0, 1]
    double r, g, b;
};

// Moreland, "Diverging Color Maps for Scientific Visualization" (2009), every 4th point of the
// published 33-entry table.
const std::vector<ControlPoint> &coolWarmPoints()
{
    static const std::vector<ControlPoint> points = {
        {0.0, 59, 76, 192},     {0.125, 98, 130, 234}, {0.25, 141, 176, 254},
        {0.375, 184, 208, 249}, {0.5, 221, 221, 221},  {0.625, 245, 196, 173},
        {0.75, 244, 154, 123},  {0.875, 222, 96, 77},  {1.0, 180, 4, 38}};
    return points;
}

const std::vector<ControlPoint> &bwrPoints()
{
    static const std::vector<ControlPoint> points = {
        {0.0, 0, 0, 255}, {0.5, 255, 255, 255}, {1.0, 255, 0, 0}};
    return points;
}

std::string lower(std::string text)
{
    for (char &c : text)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

cv::Mat ramp256()
{
    cv::Mat ramp(1, 256, CV_8UC1);
    for (int i = 0; i < 256; ++i)
        ramp.at<uchar>(0, i) = static_cast<uchar>(i);
    return ramp;
}

cv::Mat openCvLut(cv::ColormapTypes map)
{
    cv::Mat bgr, rgb;
    cv::applyColorMap(ramp256(), bgr, map);
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB); // OpenCV's colour maps are BGR
    return rgb;
}

cv::Mat grayLut()
{
    cv::Mat rgb;
    cv::cvtColor(ramp256(), rgb, cv::COLOR_GRAY2RGB);
    return rgb;
}

cv::Vec3b interpolate(const std::vector<ControlPoint> &points, double t)
{
    size_t k = 0;
    while (k + 2 < points.size() && t > points[k + 1].t)
        ++k;
    const ControlPoint &a = points[k];
    const ControlPoint &b = points[k + 1];
    const double f = std::clamp((t - a.t) / (b.t - a.t), 0.0, 1.0);
    return {cv::saturate_cast<uchar>(a.r + f * (b.r - a.r)),
            cv::saturate_cast<uchar>(a.g + f * (b.g - a.g)),
            cv::saturate_cast<uchar>(a.b + f * (b.b - a.b))};
}

// Entry 128 is exactly the centre: [0, 128] covers the lower half, [128, 255] the upper one.
cv::Mat divergingLut(const std::vector<ControlPoint> &points)
{
    cv::Mat lut(1, 256, CV_8UC3);
    for (int i = 0; i < 256; ++i) {
        const double t = i <= 128 ? 0.5 * i / 128.0 : 0.5 + 0.5 * (i - 128) / 127.0;
        lut.at<cv::Vec3b>(0, i) = interpolate(points, t);
    }
    return lut;
}

cv::Mat buildLut(ColorMapId id)
{
    switch (id) {
    case ColorMapId::Viridis:
        return openCvLut(cv::COLORMAP_VIRIDIS);
    case ColorMapId::Inferno:
        return openCvLut(cv::COLORMAP_INFERNO);
    case ColorMapId::Magma:
        return openCvLut(cv::COLORMAP_MAGMA);
    case ColorMapId::Turbo:
        return openCvLut(cv::COLORMAP_TURBO);
    case ColorMapId::Jet:
        return openCvLut(cv::COLORMAP_JET);
    case ColorMapId::Gray:
        return grayLut();
    case ColorMapId::CoolWarm:
        return divergingLut(coolWarmPoints());
    case ColorMapId::Bwr:
        return divergingLut(bwrPoints());
    }
    throw std::invalid_argument("unknown colour map id " + std::to_string(int(id)));
}

const ColorMapInfo &infoFor(ColorMapId id)
{
    for (const auto &info : colorMaps())
        if (info.id == id)
            return info;
    throw std::invalid_argument("unknown colour map id " + std::to_string(int(id)));
}

int lutIndex(float v, bool diverging)
{
    const float value = std::isnan(v) ? 0.0f : v;
    if (diverging)
        return static_cast<int>(std::lround((std::clamp(value, -1.0f, 1.0f) + 1.0f) * 127.5f));
    return static_cast<int>(std::lround(std::clamp(value, 0.0f, 1.0f) * 255.0f));
}

cv::Mat to8Bit(const cv::Mat &image)
{
    cv::Mat eight;
    if (image.depth() == CV_8U)
        return image;
    if (image.depth() == CV_16U)
        image.convertTo(eight, CV_8U, 1.0 / 257.0);
    else if (image.depth() == CV_32F || image.depth() == CV_64F)
        image.convertTo(eight, CV_8U, 255.0); // floating-point images are taken to be in [0, 1]
    else
        throw std::invalid_argument(std::string("toRgb8: unsupported depth ") +
                                    cv::depthToString(image.depth()));
    return eight;
}

} // namespace

const std::vector<ColorMapInfo> &colorMaps()
{
    static const std::vector<ColorMapInfo> maps = {
        {ColorMapId::Viridis, "viridis", false},  {ColorMapId::Inferno, "inferno", false},
        {ColorMapId::Magma, "magma", false},      {ColorMapId::Turbo, "turbo", false},
        {ColorMapId::Jet, "jet", false},          {ColorMapId::Gray, "gray", false},
        {ColorMapId::CoolWarm, "coolwarm", true}, {ColorMapId::Bwr, "bwr", true}};
    return maps;
}

bool colorMapDiverging(ColorMapId id)
{
    for (const auto &info : colorMaps())
        if (info.id == id)
            return info.diverging;
    return false;
}

ColorMapId colorMapFromName(const std::string &name)
{
    std::string known;
    for (const auto &info : colorMaps()) {
        if (info.name == lower(name))
            return info.id;
        known += (known.empty() ? "" : ", ") + info.name;
    }
    throw std::invalid_argument("unknown colour map '" + name + "' (known: " + known + ")");
}

cv::Mat colorMapLut(ColorMapId id)
{
    static const std::array<cv::Mat, 8> luts = [] {
        std::array<cv::Mat, 8> built;
        for (const auto &info : colorMaps())
            built[size_t(info.id)] = buildLut(info.id);
        return built;
    }();
    if (size_t(id) >= luts.size())
        throw std::invalid_argument("unknown colour map id " + std::to_string(int(id)));
    return luts[size_t(id)].clone(); // callers may modify their copy
}

cv::Mat colorize(const cv::Mat &normalized, ColorMapId id)
{
    const cv::Mat values = floatMap(normalized, "colorize");
    const cv::Mat lut = colorMapLut(id);
    const bool diverging = infoFor(id).diverging;
    cv::Mat rgb(values.size(), CV_8UC3);
    auto dst = rgb.begin<cv::Vec3b>();
    for (auto it = values.begin<float>(); it != values.end<float>(); ++it, ++dst)
        *dst = lut.at<cv::Vec3b>(0, lutIndex(*it, diverging));
    return rgb;
}

cv::Mat overlayHeatmap(const cv::Mat &image, const cv::Mat &heatRgb, double alpha)
{
    const cv::Mat heat = toRgb8(heatRgb);
    cv::Mat base = toRgb8(image);
    if (base.empty() || heat.empty())
        return base.empty() ? heat : base;
    if (base.size() != heat.size()) {
        // Nearest keeps small inputs (28x28) crisp when enlarged; area averages when shrinking.
        const bool upscale = base.cols <= heat.cols && base.rows <= heat.rows;
        cv::resize(base, base, heat.size(), 0, 0, upscale ? cv::INTER_NEAREST : cv::INTER_AREA);
    }
    const double a = std::isnan(alpha) ? 0.0 : std::clamp(alpha, 0.0, 1.0);
    cv::Mat out;
    cv::addWeighted(base, 1.0 - a, heat, a, 0.0, out);
    return out;
}

cv::Mat toRgb8(const cv::Mat &image)
{
    if (image.empty())
        return {};
    const cv::Mat eight = to8Bit(image);
    cv::Mat rgb;
    switch (eight.channels()) {
    case 1:
        cv::cvtColor(eight, rgb, cv::COLOR_GRAY2RGB);
        return rgb;
    case 3:
        return eight.data == image.data ? eight.clone() : eight; // never alias the sample
    case 4:
        cv::cvtColor(eight, rgb, cv::COLOR_RGBA2RGB); // drops alpha
        return rgb;
    default:
        throw std::invalid_argument("toRgb8: unsupported channel count " +
                                    std::to_string(eight.channels()));
    }
}

} // namespace heatlens
