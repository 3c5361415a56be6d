#include "core/metrics/Faithfulness.h"

#include "core/explain/Baselines.h"
#include "core/groups/GridCells.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace heatlens {

namespace {

// What every point of a curve is made of: the image with the features ranked below n taken
// from `end`, the rest from `start`.
struct CurveSetup
{
    torch::Tensor start, end; // [1, C, H, W]
    torch::Tensor rankOf;     // [H * W] int64: rank of each pixel's feature (0 = first perturbed)
    int64_t features = 0;

    torch::Tensor images(const std::vector<int64_t> &counts) const
    {
        const auto n = torch::tensor(counts, torch::kInt64).view({-1, 1});
        const auto mask = (rankOf.view({1, -1}) < n)
                              .to(torch::kFloat32)
                              .view({int64_t(counts.size()), 1, start.size(2), start.size(3)});
        return start * (1.0f - mask) + end * mask;
    }
};

CurveSetup setUp(const Model &model, const torch::Tensor &input, const cv::Mat &map,
                 const CurveOptions &o)
{
    const int64_t h = input.size(2), w = input.size(3);
    if (map.type() != CV_32FC1 || map.rows != h || map.cols != w)
        throw std::invalid_argument("the attribution map is " + std::to_string(map.cols) + "x" +
                                    std::to_string(map.rows) + ", the model input " +
                                    std::to_string(w) + "x" + std::to_string(h));
    if (o.mode != "deletion" && o.mode != "insertion")
        throw std::invalid_argument("curve mode must be deletion or insertion, got \"" + o.mode +
                                    "\"");
    if (o.order != "morf" && o.order != "lerf")
        throw std::invalid_argument("curve order must be morf or lerf, got \"" + o.order + "\"");
    if (o.steps < 1 || o.batch < 1 || o.cells < 0)
        throw std::invalid_argument("curve steps and batch must be at least 1 and cells at "
                                    "least 0");
    cv::Mat owned = map.clone();
    const auto values = torch::from_blob(owned.data, {h * w}, torch::kFloat32).clone();
    CurveSetup s;
    // Features and their scores: pixels, or grid cells with their summed attribution.
    torch::Tensor featureOf = torch::arange(h * w, torch::kInt64), scores = values;
    if (o.cells > 0) {
        const auto cells = gridCells(int(h), int(w), std::min<int>(o.cells, int(h)),
                                     std::min<int>(o.cells, int(w)));
        featureOf = pixelRegionIndex(int(h), int(w), cells);
        scores = torch::zeros({int64_t(cells.size())}, torch::kFloat64)
                     .index_add_(0, featureOf, values.to(torch::kFloat64));
    }
    s.features = scores.size(0);
    const auto featureRank = featureRanking(scores, o.order == "morf");
    s.rankOf = featureRank.index_select(0, featureOf);
    const auto x = input.detach();
    if (o.mode == "deletion") {
        s.start = x;
        s.end = makeBaseline(o.baseline, x, model.card(), o.seed);
    } else {
        s.start = makeBaseline("blur", x, model.card(), o.seed);
        s.end = x;
    }
    return s;
}

int64_t featuresAt(int k, int steps, int64_t features)
{
    return int64_t(std::llround(double(k) * double(features) / double(steps)));
}

} // namespace

torch::Tensor featureRanking(const torch::Tensor &scores, bool mostRelevantFirst)
{
    const auto sc = scores.to(torch::kFloat64).contiguous().view({-1});
    const int64_t n = sc.size(0);
    const double *v = sc.data_ptr<double>();
    // Stable order: ties keep the feature order, so a ranking (and a curve) is deterministic.
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [v, mostRelevantFirst](int64_t a, int64_t b) {
        return mostRelevantFirst ? v[a] > v[b] : v[a] < v[b];
    });
    auto rank = torch::empty({n}, torch::kInt64);
    auto *r = rank.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i)
        r[order[size_t(i)]] = i;
    return rank;
}

double trapezoid(const std::vector<double> &x, const std::vector<double> &y)
{
    double area = 0.0;
    for (size_t i = 1; i < x.size() && i < y.size(); ++i)
        area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2.0;
    return area;
}

Curve perturbationCurve(const Model &model, const torch::Tensor &input, int target,
                        const cv::Mat &map, const CurveOptions &options, const JobContext &ctx,
                        const std::function<void(const Curve &)> &onBatch)
{
    if (target < 0 || target >= model.numClasses())
        throw std::invalid_argument("target class " + std::to_string(target) + " is not in [0, " +
                                    std::to_string(model.numClasses() - 1) + "]");
    const CurveSetup s = setUp(model, input, map, options);
    Curve curve;
    const int points = options.steps + 1;
    for (int begin = 0; begin < points; begin += options.batch) {
        ctx.throwIfCancelled();
        const int end = std::min(points, begin + options.batch);
        std::vector<int64_t> counts;
        for (int k = begin; k < end; ++k)
            counts.push_back(featuresAt(k, options.steps, s.features));
        const auto logits = model.predict(s.images(counts)).to(torch::kFloat64);
        const auto probs = torch::softmax(logits, 1).select(1, target).contiguous();
        const auto own = logits.select(1, target).contiguous();
        curve.forwardPasses += end - begin;
        for (int k = begin; k < end; ++k) {
            curve.fractions.push_back(double(k) / double(options.steps));
            curve.probabilities.push_back(probs.data_ptr<double>()[k - begin]);
            curve.logits.push_back(own.data_ptr<double>()[k - begin]);
        }
        curve.aucProbability = trapezoid(curve.fractions, curve.probabilities);
        curve.aucLogit = trapezoid(curve.fractions, curve.logits);
        ctx.report(double(end) / double(points),
                   std::to_string(end) + "/" + std::to_string(points) + " steps");
        if (onBatch)
            onBatch(curve);
    }
    return curve;
}

torch::Tensor curveImage(const Model &model, const torch::Tensor &input, const cv::Mat &map,
                         const CurveOptions &options, double fraction)
{
    return CurveImages(model, input, map, options).image(fraction);
}

struct CurveImages::Impl
{
    CurveSetup setup;
    CurveOptions options;

    int stepOf(double fraction) const
    {
        return int(std::lround(std::clamp(fraction, 0.0, 1.0) * options.steps));
    }
};

CurveImages::CurveImages(const Model &model, const torch::Tensor &input, const cv::Mat &map,
                         const CurveOptions &options)
    // A copy of the input: the images must not change when the caller's tensor does.
    : m_impl(std::make_shared<const Impl>(
          Impl{setUp(model, input.detach().clone(), map, options), options}))
{}

torch::Tensor CurveImages::image(double fraction) const
{
    const int k = m_impl->stepOf(fraction);
    return m_impl->setup.images({featuresAt(k, m_impl->options.steps, m_impl->setup.features)});
}

double CurveImages::pointFraction(double fraction) const
{
    return double(m_impl->stepOf(fraction)) / double(m_impl->options.steps);
}

const CurveOptions &CurveImages::options() const
{
    return m_impl->options;
}

int64_t CurveImages::features() const
{
    return m_impl->setup.features;
}

size_t CurveImages::bytesHeld() const
{
    size_t n = 0;
    for (const auto *t : {&m_impl->setup.start, &m_impl->setup.end, &m_impl->setup.rankOf})
        if (t->defined())
            n += size_t(t->numel()) * t->element_size();
    return n;
}

size_t bytesHeld(const Curve &curve)
{
    return bytesHeld(curve.fractions) + bytesHeld(curve.probabilities) + bytesHeld(curve.logits);
}

std::string CurveOptions::canonical() const
{
    std::string text = "mode=" + mode + ";order=" + order;
    if (mode != "insertion")
        text += ";baseline=" + baseline + ";seed=" + std::to_string(seed);
    return text + ";steps=" + std::to_string(steps) + ";cells=" + std::to_string(cells);
}

} // namespace heatlens
