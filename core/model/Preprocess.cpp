#include "core/model/Preprocess.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace heatlens {

namespace {

cv::Mat toChannels(const cv::Mat &image, int channels, bool bgr)
{
    cv::Mat out;
    const int c = image.channels();
    if (channels == 1) {
        if (c == 1)
            out = image;
        else
            cv::cvtColor(image, out, c == 4 ? cv::COLOR_RGBA2GRAY : cv::COLOR_RGB2GRAY);
    } else {
        if (c == 1)
            cv::cvtColor(image, out, cv::COLOR_GRAY2RGB);
        else if (c == 4)
            cv::cvtColor(image, out, cv::COLOR_RGBA2RGB);
        else
            out = image;
        if (bgr)
            cv::cvtColor(out, out, cv::COLOR_RGB2BGR);
    }
    return out;
}

cv::Mat toUnitFloat(const cv::Mat &image)
{
    double scale = 1.0;
    if (image.depth() == CV_8U)
        scale = 1.0 / 255.0;
    else if (image.depth() == CV_16U)
        scale = 1.0 / 65535.0;
    else if (image.depth() != CV_32F)
        throw std::invalid_argument("preprocess: unsupported image depth " +
                                    std::to_string(image.depth()));
    cv::Mat out;
    image.convertTo(out, CV_MAKETYPE(CV_32F, image.channels()), scale);
    return out;
}

cv::Rect centerCrop(cv::Size size, cv::Size target)
{
    int w = std::min(size.width, target.width);
    int h = std::min(size.height, target.height);
    return {(size.width - w) / 2, (size.height - h) / 2, w, h};
}

// Resizes and crops per the card; fills `geometry`.
cv::Mat fitToInput(const cv::Mat &image, const ModelCard &card, InputGeometry &geometry)
{
    const cv::Size input(card.inputWidth, card.inputHeight);
    geometry.native = image.size();
    geometry.input = input;
    if (card.resize != "center-crop") {
        geometry.crop = cv::Rect(0, 0, image.cols, image.rows);
        cv::Mat out;
        cv::resize(image, out, input, 0, 0, cv::INTER_LINEAR);
        return out;
    }
    // Shorter side to resizeShorter (or to the input's shorter side), then a centre crop.
    const int shorter =
        card.resizeShorter > 0 ? card.resizeShorter : std::min(input.width, input.height);
    const double s = double(shorter) / std::min(image.cols, image.rows);
    cv::Mat resized;
    cv::resize(image, resized,
               cv::Size(std::max(1, int(std::lround(image.cols * s))),
                        std::max(1, int(std::lround(image.rows * s)))),
               0, 0, s < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
    const cv::Rect crop = centerCrop(resized.size(), input);
    geometry.crop = cv::Rect(int(std::lround(crop.x / s)), int(std::lround(crop.y / s)),
                             int(std::lround(crop.width / s)), int(std::lround(crop.height / s))) &
                    cv::Rect(0, 0, image.cols, image.rows);
    cv::Mat out;
    cv::resize(resized(crop), out, input, 0, 0, cv::INTER_LINEAR);
    return out;
}

} // namespace

torch::Tensor preprocessImage(const cv::Mat &image, const ModelCard &card, InputGeometry *geometry)
{
    if (image.empty())
        throw std::invalid_argument("preprocess: empty image");
    if (card.inputChannels <= 0 || card.inputHeight <= 0 || card.inputWidth <= 0)
        throw std::invalid_argument("preprocess: the model card has no input size");
    InputGeometry geo;
    cv::Mat fitted =
        fitToInput(toChannels(image, card.inputChannels, card.colorOrder == "bgr"), card, geo);
    cv::Mat unit = toUnitFloat(fitted);
    const int c = card.inputChannels;
    auto hwc = torch::from_blob(unit.data, {unit.rows, unit.cols, c}, torch::kFloat32);
    // Copies out of `unit` (contiguous() would not: for one channel the permuted view already
    // counts as contiguous, and the tensor would outlive the pixels it points to).
    auto tensor = hwc.permute({2, 0, 1}).clone(at::MemoryFormat::Contiguous).unsqueeze(0);
    if (!card.mean.empty()) {
        auto mean = torch::tensor(card.mean).view({1, -1, 1, 1});
        auto std = torch::tensor(card.std).view({1, -1, 1, 1});
        tensor = (tensor - mean) / std;
    }
    if (geometry)
        *geometry = geo;
    return tensor;
}

torch::Tensor blackInput(const ModelCard &card)
{
    auto zeros = torch::zeros({1, card.inputChannels, card.inputHeight, card.inputWidth});
    if (card.mean.empty())
        return zeros;
    auto mean = torch::tensor(card.mean).view({1, -1, 1, 1});
    auto std = torch::tensor(card.std).view({1, -1, 1, 1});
    return (zeros - mean) / std;
}

cv::Mat mapToNative(const cv::Mat &inputMap, const InputGeometry &geometry)
{
    return mapToFrame(inputMap, geometry, geometry.native);
}

cv::Rect cropInFrame(const InputGeometry &geometry, cv::Size frame)
{
    if (geometry.native.width <= 0 || geometry.native.height <= 0)
        return {};
    const double sx = double(frame.width) / geometry.native.width;
    const double sy = double(frame.height) / geometry.native.height;
    const cv::Rect &c = geometry.crop;
    const int x0 = int(std::lround(c.x * sx)), y0 = int(std::lround(c.y * sy));
    const int x1 = int(std::lround((c.x + c.width) * sx));
    const int y1 = int(std::lround((c.y + c.height) * sy));
    return cv::Rect(x0, y0, x1 - x0, y1 - y0) & cv::Rect(0, 0, frame.width, frame.height);
}

cv::Mat mapToFrame(const cv::Mat &inputMap, const InputGeometry &geometry, cv::Size frame)
{
    if (frame.width <= 0 || frame.height <= 0)
        throw std::invalid_argument("mapToFrame: the frame is empty");
    cv::Mat out = cv::Mat::zeros(frame, CV_32F);
    const cv::Rect crop = cropInFrame(geometry, frame);
    if (crop.area() <= 0 || inputMap.empty())
        return out;
    const bool shrinks = crop.width < inputMap.cols || crop.height < inputMap.rows;
    cv::Mat resized;
    cv::resize(inputMap, resized, crop.size(), 0, 0, shrinks ? cv::INTER_AREA : cv::INTER_LINEAR);
    resized.copyTo(out(crop));
    return out;
}

cv::Size comparisonFrame(cv::Size native, int maxSide)
{
    const int longer = std::max(native.width, native.height);
    if (longer <= maxSide || longer <= 0)
        return native;
    const double s = double(maxSide) / longer;
    return {std::max(1, int(std::lround(native.width * s))),
            std::max(1, int(std::lround(native.height * s)))};
}

cv::Mat frameToInput(const cv::Mat &frameMap, const InputGeometry &geometry)
{
    if (frameMap.empty() || geometry.input.area() <= 0)
        throw std::invalid_argument("frameToInput: empty map or geometry");
    const cv::Rect crop = cropInFrame(geometry, frameMap.size());
    if (crop.area() <= 0)
        return cv::Mat::zeros(geometry.input, CV_32F);
    const bool shrinks = geometry.input.width < crop.width || geometry.input.height < crop.height;
    cv::Mat out;
    cv::resize(frameMap(crop), out, geometry.input, 0, 0,
               shrinks ? cv::INTER_AREA : cv::INTER_LINEAR);
    return out;
}

} // namespace heatlens
