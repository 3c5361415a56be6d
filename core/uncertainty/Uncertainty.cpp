#include "core/uncertainty/Uncertainty.h"

#include "core/explain/MethodRegistry.h"
#include "core/metrics/Similarity.h"
#include "core/uncertainty/MapMoments.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>

namespace heatlens {

std::string UncertaintyOptions::canonical() const
{
    std::ostringstream out;
    out << "T=" << maxSamples << ";min=" << minSamples << ";budget=" << timeBudget
        << ";target=" << targetError << ";rows=" << batchRows << ";pct=" << percentiles
        << ";norm=" << normalise << ";tau=" << cvThreshold << ";top=" << topFraction
        << ";keep=" << keepMaps;
    return out.str();
}

void UncertaintyOptions::validate() const
{
    auto fail = [](const std::string &what, const std::string &value) {
        throw std::invalid_argument("uncertainty: " + what + ", got " + value);
    };
    if (maxSamples < 2 || maxSamples > 10000)
        fail("samples must be in [2, 10000]", std::to_string(maxSamples));
    if (minSamples < 2)
        fail("the minimum number of samples must be at least 2", std::to_string(minSamples));
    if (timeBudget < 0.0)
        fail("the time budget must be >= 0 seconds", std::to_string(timeBudget));
    if (targetError < 0.0 || targetError >= 1.0)
        fail("the target error must be in [0, 1)", std::to_string(targetError));
    if (batchRows < 1)
        fail("rows per batch must be >= 1", std::to_string(batchRows));
    if (normalise != "raw" && normalise != "max")
        fail("normalise must be raw or max", "\"" + normalise + "\"");
    if (cvThreshold < 0.0 || cvThreshold >= 1.0)
        fail("the CV threshold must be in [0, 1)", std::to_string(cvThreshold));
    if (topFraction <= 0.0 || topFraction > 1.0)
        fail("the top fraction must be in (0, 1]", std::to_string(topFraction));
    if (keepMaps < 0)
        fail("kept maps must be >= 0", std::to_string(keepMaps));
}

size_t bytesHeld(const UncertaintyResult &r)
{
    size_t bytes = sizeof(UncertaintyResult);
    for (const cv::Mat *m :
         {&r.mean, &r.stdDev, &r.stdError, &r.cv, &r.snr, &r.signAgreement, &r.count})
        bytes += m->total() * m->elemSize();
    for (const auto &entry : r.percentiles)
        bytes += entry.second.total() * entry.second.elemSize();
    for (const auto &m : r.sampleMaps)
        bytes += m.total() * m.elemSize();
    return bytes;
}

namespace {

const std::vector<int> kPercentiles{5, 25, 50, 75, 95};

cv::Mat normalised(const cv::Mat &map, const std::string &how)
{
    if (how != "max")
        return map;
    double lo = 0.0, hi = 0.0;
    cv::minMaxLoc(map, &lo, &hi);
    const double scale = std::max(std::abs(lo), std::abs(hi));
    return scale > 0.0 ? cv::Mat(map / scale) : map;
}

// CV, SNR and their summaries from the moments' maps.
void fillRatios(const UncertaintyOptions &o, UncertaintyResult &r)
{
    double lo = 0.0, hi = 0.0;
    cv::minMaxLoc(r.mean, &lo, &hi);
    const double floor = o.cvThreshold * std::max(std::abs(lo), std::abs(hi));
    const float nan = std::numeric_limits<float>::quiet_NaN();
    r.cv = cv::Mat(r.mean.size(), CV_32FC1);
    r.snr = cv::Mat(r.mean.size(), CV_32FC1);
    std::vector<float> defined;
    for (int y = 0; y < r.mean.rows; ++y)
        for (int x = 0; x < r.mean.cols; ++x) {
            const float mu = std::abs(r.mean.at<float>(y, x)), sd = r.stdDev.at<float>(y, x);
            const bool ok = mu > 0.0f && double(mu) >= floor && r.count.at<float>(y, x) >= 2.0f;
            r.cv.at<float>(y, x) = ok ? sd / mu : nan;
            r.snr.at<float>(y, x) = sd > 0.0f ? mu / sd : nan;
            if (ok)
                defined.push_back(sd / mu);
        }
    r.undefinedCvFraction = 1.0 - double(defined.size()) / double(r.mean.total());
    r.meanCv = r.medianCv = std::numeric_limits<double>::quiet_NaN();
    if (!defined.empty()) {
        double sum = 0.0;
        for (float v : defined)
            sum += v;
        r.meanCv = sum / double(defined.size());
        auto mid = defined.begin() + std::ptrdiff_t(defined.size() / 2);
        std::nth_element(defined.begin(), mid, defined.end());
        r.medianCv = *mid;
    }
}

void fillMoments(const MapMoments &m, const UncertaintyOptions &o, UncertaintyResult &r)
{
    r.samples = m.samples();
    r.mean = m.mean();
    r.stdDev = m.stdDev();
    r.stdError = m.stdError();
    r.signAgreement = m.signAgreement();
    r.count = m.count();
    r.relativeStdError = m.relativeStdError();
    fillRatios(o, r);
}

// np.percentile's linear interpolation of the values each pixel has.
std::map<int, cv::Mat> percentileMaps(const std::vector<cv::Mat> &maps,
                                      const std::vector<cv::Mat> &valid)
{
    std::map<int, cv::Mat> out;
    const cv::Size size = maps.front().size();
    for (int q : kPercentiles)
        out[q] = cv::Mat(size, CV_32FC1, cv::Scalar(std::numeric_limits<float>::quiet_NaN()));
    std::vector<float> values;
    for (int y = 0; y < size.height; ++y)
        for (int x = 0; x < size.width; ++x) {
            values.clear();
            for (size_t i = 0; i < maps.size(); ++i)
                if (valid.empty() || valid[i].empty() || valid[i].at<uchar>(y, x))
                    values.push_back(maps[i].at<float>(y, x));
            if (values.empty())
                continue;
            std::sort(values.begin(), values.end());
            for (int q : kPercentiles) {
                const double pos = q / 100.0 * double(values.size() - 1);
                const size_t below = size_t(std::floor(pos));
                const size_t above = std::min(below + 1, values.size() - 1);
                const double frac = pos - double(below);
                out[q].at<float>(y, x) =
                    float(values[below] + frac * (values[above] - values[below]));
            }
        }
    return out;
}

// Mean pairwise Spearman correlation and top-k IoU (by |value|) of the maps.
void fillStability(const std::vector<cv::Mat> &maps, double topFraction, UncertaintyResult &r)
{
    const PairwiseStability s = pairwiseStability(maps, topFraction);
    r.rankStability = s.spearman;
    r.topIoU = s.topIoU;
}

// Sample maps in the original frame, streamed into moments and (up to a limit) kept.
class MapSamples
{
public:
    explicit MapSamples(const UncertaintyOptions &options)
        : m_options(options)
        , m_keep(options.percentiles ? options.maxSamples : options.keepMaps)
    {}

    void add(const cv::Mat &map, const cv::Mat &valid)
    {
        const cv::Mat m = normalised(map, m_options.normalise);
        m_moments.add(m, valid);
        if (int(m_kept.size()) < m_keep) {
            m_kept.push_back(m.clone());
            m_keptValid.push_back(valid);
        }
    }
    const MapMoments &moments() const { return m_moments; }

    void fill(UncertaintyResult &r, bool final) const
    {
        fillMoments(m_moments, m_options, r);
        r.sampleMaps = m_kept;
        if (!final)
            return;
        if (m_options.percentiles && !m_kept.empty())
            r.percentiles = percentileMaps(m_kept, m_keptValid);
        fillStability(m_kept, m_options.topFraction, r);
    }

private:
    UncertaintyOptions m_options;
    int m_keep;
    MapMoments m_moments;
    std::vector<cv::Mat> m_kept, m_keptValid;
};

double entropyOf(const torch::Tensor &p)
{
    return -(p * p.clamp_min(1e-12).log()).sum().item<double>();
}

// The samples' predictions, accumulated as probabilities.
class PredictionTracker
{
public:
    PredictionTracker(int deterministicClass, int target)
        : m_deterministic(deterministicClass)
        , m_target(target)
    {}

    void add(const torch::Tensor &logits) // [n, classes]
    {
        const auto probs = torch::softmax(logits.to(torch::kDouble), 1);
        m_sum = m_sum.defined() ? m_sum + probs.sum(0) : probs.sum(0);
        for (int64_t r = 0; r < probs.size(0); ++r) {
            m_entropySum += entropyOf(probs[r]);
            m_classes.push_back(int(probs[r].argmax().item<int64_t>()));
            m_targetProbabilities.push_back(probs[r][m_target].item<double>());
        }
    }

    void fill(PredictionSpread &p) const
    {
        p.deterministicClass = m_deterministic;
        p.sampleClasses = m_classes;
        p.targetProbabilities = m_targetProbabilities;
        const double n = double(m_classes.size());
        if (n == 0)
            return;
        const auto mean = (m_sum / n).contiguous();
        p.meanProbabilities.assign(mean.data_ptr<double>(), mean.data_ptr<double>() + mean.numel());
        p.entropy = entropyOf(mean);
        p.expectedEntropy = m_entropySum / n;
        p.mutualInformation = std::max(0.0, p.entropy - p.expectedEntropy);
        p.flipRate = double(std::count_if(m_classes.begin(), m_classes.end(),
                                          [this](int c) { return c != m_deterministic; })) /
                     n;
    }

private:
    int m_deterministic;
    int m_target;
    torch::Tensor m_sum;
    double m_entropySum = 0.0;
    std::vector<int> m_classes;
    std::vector<double> m_targetProbabilities;
};

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string percentText(double fraction)
{
    std::ostringstream out;
    out.precision(3);
    out << fraction * 100.0 << "%";
    return out.str();
}

// Why sampling stops after `done` samples (empty: go on).
std::string stopReason(const UncertaintyOptions &o, int limit, int done, double relativeError,
                       double elapsed)
{
    if (limit > 0 && done >= limit && limit <= o.maxSamples)
        return "all " + std::to_string(limit) + " samples of the source";
    if (done >= o.maxSamples)
        return "reached the maximum of " + std::to_string(o.maxSamples) + " samples";
    if (o.targetError > 0.0 && done >= o.minSamples && relativeError <= o.targetError)
        return "converged: the std map's estimated relative error " + percentText(relativeError) +
               " is below the target " + percentText(o.targetError);
    if (o.timeBudget > 0.0 && elapsed >= o.timeBudget) {
        std::ostringstream out;
        out << "time budget of " << o.timeBudget << " s used";
        return out.str();
    }
    return {};
}

void addWarnings(const std::vector<std::string> &from, std::vector<std::string> &to)
{
    for (const auto &w : from)
        if (std::find(to.begin(), to.end(), w) == to.end())
            to.push_back(w);
}

} // namespace

UncertaintyResult summariseMaps(const std::vector<cv::Mat> &maps, const std::vector<cv::Mat> &valid,
                                const UncertaintyOptions &options)
{
    if (maps.empty())
        throw std::invalid_argument("uncertainty: no maps to summarise");
    UncertaintyOptions o = options;
    o.maxSamples = std::max(o.maxSamples, int(maps.size()));
    MapSamples samples(o);
    for (size_t i = 0; i < maps.size(); ++i)
        samples.add(maps[i], valid.empty() ? cv::Mat() : valid[i]);
    UncertaintyResult r;
    r.normalise = o.normalise;
    r.complete = true;
    samples.fill(r, true);
    return r;
}

UncertaintyResult explainUncertainty(const UncertaintyRequest &request, const JobContext &ctx,
                                     const std::function<void(const UncertaintyResult &)> &onUpdate)
{
    const auto start = Clock::now();
    const UncertaintyOptions &o = request.options;
    o.validate();
    if (!request.model)
        throw std::invalid_argument("uncertainty: no model");
    const Method &method = MethodRegistry::instance().get(request.methodId);
    const StochasticSource &source = SourceRegistry::instance().get(request.sourceId);
    UncertaintyResult result;
    result.methodId = method.id();
    result.params = completeParams(method.params(), request.params, method.id());
    result.sourceId = source.id();
    result.sourceParams = completeParams(source.params(), request.sourceParams, source.id());
    result.normalise = o.normalise;
    const auto logits = request.model->predict(request.input);
    const int deterministic = int(logits.argmax(1).item<int64_t>());
    result.target = request.target >= 0 ? request.target : deterministic;
    if (result.target >= request.model->numClasses())
        throw std::invalid_argument("uncertainty: target class " + std::to_string(result.target) +
                                    " is out of range [0, " +
                                    std::to_string(request.model->numClasses() - 1) + "]");

    auto run = source.prepare({request.model, request.input, result.sourceParams, request.members});
    result.sourceDescription = run->description();
    addWarnings(run->warnings(), result.warnings);
    const int limit = run->sampleLimit();
    const int total = limit > 0 ? std::min(limit, o.maxSamples) : o.maxSamples;
    result.batched = o.batchRows > 1 && run->batchable() && method.explainsRows();

    MapSamples maps(o);
    PredictionTracker predictions(deterministic, result.target);
    ExplainRequest explain;
    explain.target = result.target;
    explain.params = result.params;
    explain.references = request.references;
    for (int done = 0; done < total;) {
        ctx.throwIfCancelled();
        const int n = result.batched ? std::min(o.batchRows, total - done) : 1;
        const auto sub =
            ctx.sub(double(done) / total, double(done + n) / total,
                    "sample " + std::to_string(done + 1) + "/" + std::to_string(total));
        const SampleInput in = result.batched ? run->rows(done, n) : run->sample(done);
        explain.model = in.model;
        explain.input = in.input;
        std::vector<Explanation> explanations;
        if (result.batched)
            explanations = method.explainRows(explain, sub);
        else
            explanations.push_back(method.explain(explain, sub));
        // One-pass methods report the logits of their own forward pass: no second pass.
        const bool ownLogits = std::all_of(explanations.begin(), explanations.end(),
                                           [](const Explanation &e) { return e.logits.defined(); });
        if (ownLogits)
            for (const auto &e : explanations)
                predictions.add(e.logits);
        else
            predictions.add(in.model->predict(in.input));
        for (int r = 0; r < n; ++r) {
            const Explanation &e = explanations[size_t(r)];
            cv::Mat valid;
            const cv::Mat map = run->restore(done + r, e.map, &valid);
            maps.add(map, valid);
            result.signedMap = e.signedMap;
            result.forwardPasses += e.forwardPasses;
            result.backwardPasses += e.backwardPasses;
            addWarnings(e.warnings, result.warnings);
        }
        done += n;
        result.seconds = secondsSince(start);
        result.stopReason =
            stopReason(o, limit, done, maps.moments().relativeStdError(), result.seconds);
        result.complete = !result.stopReason.empty() || done >= total;
        maps.fill(result, result.complete);
        predictions.fill(result.prediction);
        ctx.report(double(done) / total,
                   std::to_string(done) + "/" + std::to_string(total) + " samples");
        if (onUpdate)
            onUpdate(result);
        if (result.complete)
            break;
    }
    result.seconds = secondsSince(start);
    return result;
}

} // namespace heatlens
