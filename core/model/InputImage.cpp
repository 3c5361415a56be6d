#include "core/model/InputImage.h"

#include <opencv2/imgproc.hpp>

#include <stdexcept>
#include <string>

namespace heatlens {

namespace {

std::string shapeText(const torch::Tensor &t)
{
    std::string text = "[";
    for (int64_t d = 0; d < t.dim(); ++d)
        text += (d ? ", " : "") + std::to_string(t.size(d));
    return text + "]";
}

} // namespace

cv::Mat inputToRgb8(const torch::Tensor &input, const ModelCard &card)
{
    if (!input.defined())
        throw std::invalid_argument("inputToRgb8: the input tensor is undefined");
    torch::Tensor x = input.detach();
    if (x.dim() == 4 && x.size(0) == 1)
        x = x.squeeze(0);
    if (x.dim() != 3 || (x.size(0) != 1 && x.size(0) != 3))
        throw std::invalid_argument("inputToRgb8: expected one image [1, C, H, W] with 1 or 3 "
                                    "channels, got " +
                                    shapeText(input));
    const int64_t c = x.size(0);
    x = x.to(torch::kFloat32);
    if (!card.mean.empty()) {
        const auto n = int64_t(card.mean.size());
        if ((n != 1 && n != c) || card.std.size() != card.mean.size())
            throw std::invalid_argument(
                "inputToRgb8: the model card has " + std::to_string(card.mean.size()) +
                " mean and " + std::to_string(card.std.size()) + " std values for an input of " +
                std::to_string(c) + " channels");
        const auto mean = torch::tensor(card.mean).view({-1, 1, 1});
        const auto std = torch::tensor(card.std).view({-1, 1, 1});
        x = x * std + mean;
    }
    // [C, H, W] in [0, 1] -> H x W x C bytes.
    const auto bytes =
        (x.clamp(0.0, 1.0) * 255.0).round().to(torch::kUInt8).permute({1, 2, 0}).contiguous();
    const int h = int(bytes.size(0)), w = int(bytes.size(1));
    cv::Mat planar(h, w, CV_8UC(int(c)), bytes.data_ptr<uint8_t>());
    cv::Mat rgb;
    if (c == 1)
        cv::cvtColor(planar, rgb, cv::COLOR_GRAY2RGB);
    else if (card.colorOrder == "bgr")
        cv::cvtColor(planar, rgb, cv::COLOR_BGR2RGB);
    else
        rgb = planar.clone();
    return rgb;
}

} // namespace heatlens
