#include "core/metrics/Removal.h"

#include "core/metrics/Imputation.h"

#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>

namespace heatlens {

namespace {

void checkMap(const torch::Tensor &input, const cv::Mat &map)
{
    if (input.dim() != 4 || input.size(0) != 1)
        throw std::invalid_argument("expected one input [1, C, H, W]");
    if (map.type() != CV_32FC1 || map.rows != input.size(2) || map.cols != input.size(3))
        throw std::invalid_argument("the attribution map is " + std::to_string(map.cols) + "x" +
                                    std::to_string(map.rows) + ", the model input " +
                                    std::to_string(input.size(3)) + "x" +
                                    std::to_string(input.size(2)));
}

void checkFractions(const std::vector<double> &fractions)
{
    if (fractions.empty())
        throw std::invalid_argument("no removal fractions given");
    for (double f : fractions)
        if (!(f >= 0.0 && f <= 1.0))
            throw std::invalid_argument("removal fraction " + std::to_string(f) +
                                        " is not in [0, 1]");
}

// [1, C, H, W] float tensor <-> H x W x C float image.
cv::Mat toImage(const torch::Tensor &input)
{
    const auto hwc = input[0].permute({1, 2, 0}).to(torch::kFloat32).contiguous();
    const int c = int(hwc.size(2));
    return cv::Mat(int(hwc.size(0)), int(hwc.size(1)), CV_32FC(c), hwc.data_ptr<float>()).clone();
}

torch::Tensor toInput(const cv::Mat &image)
{
    cv::Mat owned = image.isContinuous() ? image : image.clone();
    return torch::from_blob(owned.data, {owned.rows, owned.cols, owned.channels()}, torch::kFloat32)
        .permute({2, 0, 1})
        .unsqueeze(0)
        .clone();
}

int64_t countAt(double fraction, int64_t pixels)
{
    return int64_t(std::llround(fraction * double(pixels)));
}

} // namespace

torch::Tensor pixelRanking(const cv::Mat &map, bool mostRelevantFirst)
{
    if (map.type() != CV_32FC1)
        throw std::invalid_argument("pixelRanking expects a CV_32FC1 map");
    cv::Mat owned = map.clone();
    return featureRanking(torch::from_blob(owned.data, {int64_t(owned.total())}, torch::kFloat32),
                          mostRelevantFirst);
}

torch::Tensor roadImage(const torch::Tensor &input, const torch::Tensor &ranking, double fraction,
                        double noise, uint64_t seed)
{
    const int h = int(input.size(2)), w = int(input.size(3));
    const int64_t k = countAt(fraction, int64_t(h) * w);
    const auto removed = (ranking < k).to(torch::kUInt8).mul(255).view({h, w}).contiguous();
    const cv::Mat mask(h, w, CV_8UC1, removed.data_ptr<uint8_t>());
    return toInput(noisyLinearImpute(toImage(input), mask, noise, seed));
}

Curve roadCurve(const Model &model, const torch::Tensor &input, int target, const cv::Mat &map,
                const RoadOptions &options, const JobContext &ctx)
{
    checkMap(input, map);
    checkFractions(options.fractions);
    if (options.order != "morf" && options.order != "lerf")
        throw std::invalid_argument("ROAD order must be morf or lerf, got \"" + options.order +
                                    "\"");
    if (options.noise < 0.0 || options.batch < 1)
        throw std::invalid_argument("ROAD noise must be >= 0 and batch >= 1");
    if (target < 0 || target >= model.numClasses())
        throw std::invalid_argument("target class " + std::to_string(target) + " is not in [0, " +
                                    std::to_string(model.numClasses() - 1) + "]");
    const auto ranking = pixelRanking(map, options.order == "morf");
    Curve curve;
    const size_t n = options.fractions.size();
    for (size_t begin = 0; begin < n; begin += size_t(options.batch)) {
        const size_t end = std::min(n, begin + size_t(options.batch));
        std::vector<torch::Tensor> images;
        for (size_t i = begin; i < end; ++i) {
            ctx.throwIfCancelled();
            images.push_back(
                roadImage(input, ranking, options.fractions[i], options.noise, options.seed + i));
            ctx.report(0.9 * double(i + 1) / double(n), "imputing");
        }
        const auto logits = model.predict(torch::cat(images)).to(torch::kFloat64);
        const auto probs = torch::softmax(logits, 1).select(1, target).contiguous();
        const auto own = logits.select(1, target).contiguous();
        curve.forwardPasses += int(end - begin);
        for (size_t i = begin; i < end; ++i) {
            curve.fractions.push_back(options.fractions[i]);
            curve.probabilities.push_back(probs.data_ptr<double>()[i - begin]);
            curve.logits.push_back(own.data_ptr<double>()[i - begin]);
        }
    }
    curve.aucProbability = trapezoid(curve.fractions, curve.probabilities);
    curve.aucLogit = trapezoid(curve.fractions, curve.logits);
    ctx.report(1.0);
    return curve;
}

std::vector<int> maskedPredictions(const Model &model, const torch::Tensor &input,
                                   const cv::Mat &map, const std::vector<double> &fractions,
                                   uint64_t seed, int batch)
{
    checkMap(input, map);
    checkFractions(fractions);
    if (batch < 1)
        throw std::invalid_argument("batch must be at least 1");
    const int64_t h = input.size(2), w = input.size(3);
    const auto ranking = pixelRanking(map, true).view({1, 1, h, w});
    const auto x = input.detach().to(torch::kFloat32);
    const double lo = x.min().item<double>(), hi = x.max().item<double>();
    torch::Generator gen = at::detail::createCPUGenerator(seed);
    std::vector<int> predicted;
    for (size_t begin = 0; begin < fractions.size(); begin += size_t(batch)) {
        const size_t end = std::min(fractions.size(), begin + size_t(batch));
        std::vector<torch::Tensor> images;
        for (size_t i = begin; i < end; ++i) {
            const auto drop = ranking < countAt(fractions[i], h * w);
            const auto noise = torch::empty_like(x).uniform_(lo, hi, gen);
            images.push_back(torch::where(drop, noise, x));
        }
        const auto classes = model.predict(torch::cat(images)).argmax(1).contiguous();
        for (int64_t i = 0; i < classes.size(0); ++i)
            predicted.push_back(int(classes.data_ptr<int64_t>()[i]));
    }
    return predicted;
}

double meanOf(const std::vector<double> &values)
{
    if (values.empty())
        return 0.0;
    return std::accumulate(values.begin(), values.end(), 0.0) / double(values.size());
}

} // namespace heatlens
