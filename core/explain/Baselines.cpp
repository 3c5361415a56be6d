#include "core/explain/Baselines.h"

#include "core/model/Preprocess.h"

#include <ATen/CPUGeneratorImpl.h>
#include <opencv2/imgproc.hpp>

#include <stdexcept>

namespace heatlens {

const std::vector<std::string> &baselineKinds()
{
    static const std::vector<std::string> kinds{"black", "zero", "mean", "blur", "uniform"};
    return kinds;
}

std::string baselineHelp()
{
    return "black: a black image (normalised like the input); zero: the all-zero input "
           "tensor; mean: the image's mean colour; blur: the image blurred (sigma = size/16); "
           "uniform: noise within the image's range.";
}

namespace {

torch::Tensor blurred(const torch::Tensor &input)
{
    auto x = input.detach().to(torch::kFloat32).contiguous().clone();
    const int h = int(x.size(2)), w = int(x.size(3));
    const double sigma = std::max(1.0, std::min(h, w) / 16.0);
    for (int64_t c = 0; c < x.size(1); ++c) {
        auto plane = x[0][c];
        cv::Mat view(h, w, CV_32FC1, plane.data_ptr<float>());
        cv::GaussianBlur(view, view, cv::Size(0, 0), sigma, sigma, cv::BORDER_REFLECT);
    }
    return x;
}

} // namespace

ParamSpec baselineParam()
{
    return ParamSpec::choice("baseline", "Baseline", "zero", baselineKinds())
        .describe(baselineHelp());
}

torch::Tensor makeBaseline(const std::string &kind, const torch::Tensor &input,
                           const ModelCard &card, uint64_t seed)
{
    if (kind == "black")
        return blackInput(card).expand_as(input).clone();
    if (kind == "zero")
        return torch::zeros_like(input);
    if (kind == "mean")
        return input.mean({2, 3}, /*keepdim=*/true).expand_as(input).clone();
    if (kind == "blur")
        return blurred(input);
    if (kind == "uniform") {
        auto generator = at::detail::createCPUGenerator(seed);
        const auto low = input.min(), high = input.max();
        return at::rand(input.sizes(), generator, input.options()) * (high - low) + low;
    }
    std::string known;
    for (const auto &k : baselineKinds())
        known += (known.empty() ? "" : ", ") + k;
    throw std::invalid_argument("unknown baseline \"" + kind + "\" (known: " + known + ")");
}

} // namespace heatlens
