#include "core/uncertainty/UncertaintyCurves.h"

#include "core/model/Preprocess.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <sstream>

namespace heatlens {

std::string UncertaintyCurveOptions::canonical() const
{
    std::ostringstream out;
    out << "kind=" << kind << ";" << curve.canonical() << ";road-noise=" << road.noise
        << ";ranking=" << ranking << ";samples=" << modelSamples << ";top=" << topFraction
        << ";test-steps=" << testSteps;
    return out.str();
}

void UncertaintyCurveOptions::validate() const
{
    auto fail = [](const std::string &what) {
        throw std::invalid_argument("uncertainty curves: " + what);
    };
    if (kind != "deletion" && kind != "insertion" && kind != "road")
        fail("kind must be deletion, insertion or road, got \"" + kind + "\"");
    if (ranking != "mean" && ranking != "p5" && ranking != "snr")
        fail("ranking must be mean, p5 or snr, got \"" + ranking + "\"");
    if (modelSamples < 1)
        fail("model samples must be >= 1, got " + std::to_string(modelSamples));
    if (!(topFraction > 0.0 && topFraction <= 1.0))
        fail("the top fraction must be in (0, 1], got " + std::to_string(topFraction));
    if (testSteps < 1)
        fail("test steps must be >= 1, got " + std::to_string(testSteps));
}

size_t bytesHeld(const UncertaintyCurves &c)
{
    size_t bytes = sizeof(UncertaintyCurves);
    for (const CurveBand *b : {&c.samples, &c.rankedMap})
        for (const auto &curve : b->curves)
            bytes += (curve.size() + 4) * sizeof(double);
    return bytes + bytesHeld(c.deterministic);
}

namespace {

double percentile(std::vector<double> values, double q)
{
    values.erase(
        std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }),
        values.end());
    if (values.empty())
        return std::numeric_limits<double>::quiet_NaN();
    std::sort(values.begin(), values.end());
    const double pos = q / 100.0 * double(values.size() - 1);
    const size_t below = size_t(std::floor(pos));
    const size_t above = std::min(below + 1, values.size() - 1);
    return values[below] + (pos - double(below)) * (values[above] - values[below]);
}

double meanOfFinite(const std::vector<double> &values)
{
    double sum = 0.0;
    int n = 0;
    for (double v : values)
        if (std::isfinite(v)) {
            sum += v;
            ++n;
        }
    return n ? sum / n : std::numeric_limits<double>::quiet_NaN();
}

Curve curveOf(const Model &model, const torch::Tensor &input, int target, const cv::Mat &map,
              const UncertaintyCurveOptions &o, const JobContext &ctx)
{
    if (o.kind == "road") {
        RoadOptions road = o.road;
        road.order = o.curve.order;
        road.batch = o.curve.batch;
        return roadCurve(model, input, target, map, road, ctx);
    }
    CurveOptions c = o.curve;
    c.mode = o.kind;
    return perturbationCurve(model, input, target, map, c, ctx);
}

// The probability of `target` as the pixels of `order` (flat indices, most relevant first) are
// set to the black input, 0 .. all of them in `steps` steps; AUC over the fraction of them.
double halfDeletionAuc(const Model &model, const torch::Tensor &input, int target,
                       const std::vector<int64_t> &order, int steps)
{
    const auto black = blackInput(model.card());
    const int64_t h = input.size(2), w = input.size(3);
    std::vector<torch::Tensor> images;
    for (int k = 0; k <= steps; ++k) {
        const auto count = int64_t(std::lround(double(k) / steps * double(order.size())));
        auto mask = torch::zeros({h * w});
        if (count > 0)
            mask.index_fill_(
                0, torch::tensor(std::vector<int64_t>(order.begin(), order.begin() + count)), 1.0);
        mask = mask.view({1, 1, h, w});
        images.push_back(input * (1 - mask) + black * mask);
    }
    const auto probs = torch::softmax(model.predict(torch::cat(images)), 1).select(1, target);
    std::vector<double> x, y;
    for (int k = 0; k <= steps; ++k) {
        x.push_back(double(k) / steps);
        y.push_back(probs[k].item<double>());
    }
    return trapezoid(x, y);
}

// The confident and uncertain halves of the top pixels by |mean| (flat indices, each ordered by
// |mean|, most relevant first).
std::pair<std::vector<int64_t>, std::vector<int64_t>> halves(const UncertaintyResult &r,
                                                             double topFraction)
{
    const int64_t n = int64_t(r.mean.total());
    std::vector<int64_t> idx(static_cast<size_t>(n));
    std::iota(idx.begin(), idx.end(), 0);
    auto absMean = [&](int64_t i) { return std::abs(r.mean.at<float>(int(i))); };
    auto snr = [&](int64_t i) {
        const float s = r.snr.at<float>(int(i));
        return std::isfinite(s) ? s : (absMean(i) > 0 ? std::numeric_limits<float>::max() : 0.f);
    };
    std::stable_sort(idx.begin(), idx.end(),
                     [&](int64_t a, int64_t b) { return absMean(a) > absMean(b); });
    const auto top = std::max<int64_t>(2, int64_t(std::lround(topFraction * double(n))));
    idx.resize(size_t(std::min(top, n)));
    std::vector<int64_t> bySnr = idx;
    std::stable_sort(bySnr.begin(), bySnr.end(),
                     [&](int64_t a, int64_t b) { return snr(a) > snr(b); });
    const size_t half = bySnr.size() / 2;
    std::vector<int64_t> confident(bySnr.begin(), bySnr.begin() + std::ptrdiff_t(half));
    std::vector<int64_t> uncertain(bySnr.end() - std::ptrdiff_t(half), bySnr.end());
    auto byRelevance = [&](std::vector<int64_t> &v) {
        std::stable_sort(v.begin(), v.end(),
                         [&](int64_t a, int64_t b) { return absMean(a) > absMean(b); });
    };
    byRelevance(confident);
    byRelevance(uncertain);
    return {confident, uncertain};
}

double meanAbsOf(const UncertaintyResult &r, const std::vector<int64_t> &pixels)
{
    double sum = 0.0;
    for (int64_t i : pixels)
        sum += std::abs(r.mean.at<float>(int(i)));
    return pixels.empty() ? 0.0 : sum / double(pixels.size());
}

} // namespace

CurveBand bandOf(const std::vector<double> &fractions,
                 const std::vector<std::vector<double>> &curves)
{
    CurveBand band;
    band.fractions = fractions;
    band.curves = curves;
    for (size_t p = 0; p < fractions.size(); ++p) {
        std::vector<double> at;
        for (const auto &c : curves)
            at.push_back(c.at(p));
        band.mean.push_back(meanOfFinite(at));
        band.low.push_back(percentile(at, 5));
        band.high.push_back(percentile(at, 95));
    }
    for (const auto &c : curves)
        band.aucs.push_back(trapezoid(fractions, c));
    band.aucMean = meanOfFinite(band.aucs);
    band.aucLow = percentile(band.aucs, 5);
    band.aucHigh = percentile(band.aucs, 95);
    return band;
}

cv::Mat rankingMap(const UncertaintyResult &r, const std::string &ranking)
{
    if (ranking == "mean")
        return r.mean;
    if (ranking == "p5") {
        auto it = r.percentiles.find(5);
        if (it == r.percentiles.end())
            throw std::invalid_argument("uncertainty curves: ranking by the 5th percentile needs "
                                        "the percentiles (turn them on for the run)");
        cv::Mat p5 = it->second.clone();
        cv::patchNaNs(p5, 0.0);
        return p5;
    }
    if (ranking == "snr") {
        cv::Mat snr = r.snr.clone();
        for (int i = 0; i < int(snr.total()); ++i)
            if (!std::isfinite(snr.at<float>(i)))
                snr.at<float>(i) = r.mean.at<float>(i) != 0.0f ? 1e30f : 0.0f;
        return snr;
    }
    throw std::invalid_argument("uncertainty curves: unknown ranking \"" + ranking + "\"");
}

UncertaintyCurves uncertaintyCurves(const UncertaintyRequest &request,
                                    const UncertaintyResult &result,
                                    const UncertaintyCurveOptions &options, const JobContext &ctx,
                                    const std::function<void(const UncertaintyCurves &)> &onUpdate)
{
    const auto start = std::chrono::steady_clock::now();
    options.validate();
    if (result.sampleMaps.empty())
        throw std::invalid_argument("uncertainty curves: the result keeps no sample maps");
    UncertaintyCurves out;
    out.kind = options.kind;
    out.ranking = options.ranking;
    out.modelSamples = std::min(options.modelSamples, int(result.sampleMaps.size()));
    const cv::Mat ranked = rankingMap(result, options.ranking);
    const Model &model = *request.model;
    const int target = result.target;
    out.deterministic = curveOf(model, request.input, target, ranked, options, ctx.sub(0, 0.05));
    const auto [confident, uncertain] = halves(result, options.topFraction);
    out.confidentMeanAbs = meanAbsOf(result, confident);
    out.uncertainMeanAbs = meanAbsOf(result, uncertain);
    out.confidentAuc = halfDeletionAuc(model, request.input, target, confident, options.testSteps);
    out.uncertainAuc = halfDeletionAuc(model, request.input, target, uncertain, options.testSteps);
    out.delta = out.uncertainAuc - out.confidentAuc;

    const auto &source = SourceRegistry::instance().get(result.sourceId);
    auto run = source.prepare({request.model, request.input, result.sourceParams, request.members});
    std::vector<std::vector<double>> perSample, perModel;
    std::vector<double> deltas;
    std::vector<double> fractions;
    const int n = out.modelSamples;
    for (int t = 0; t < n; ++t) {
        ctx.throwIfCancelled();
        const auto sub = ctx.sub(0.05 + 0.95 * t / n, 0.05 + 0.95 * (t + 1) / n,
                                 "model sample " + std::to_string(t + 1) + "/" + std::to_string(n));
        const ModelPtr sampled = run->sample(t).model;
        const Curve own = curveOf(*sampled, request.input, target, result.sampleMaps[size_t(t)],
                                  options, sub.sub(0, 0.5));
        const Curve map =
            curveOf(*sampled, request.input, target, ranked, options, sub.sub(0.5, 1.0));
        fractions = own.fractions;
        perSample.push_back(own.probabilities);
        perModel.push_back(map.probabilities);
        deltas.push_back(
            halfDeletionAuc(*sampled, request.input, target, uncertain, options.testSteps) -
            halfDeletionAuc(*sampled, request.input, target, confident, options.testSteps));
        out.samples = bandOf(fractions, perSample);
        out.rankedMap = bandOf(fractions, perModel);
        out.deltaLow = percentile(deltas, 5);
        out.deltaHigh = percentile(deltas, 95);
        out.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (onUpdate)
            onUpdate(out);
    }
    ctx.report(1.0);
    return out;
}

} // namespace heatlens
