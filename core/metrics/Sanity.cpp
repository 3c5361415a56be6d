#include "core/metrics/Sanity.h"

#include "core/explain/MethodRegistry.h"
#include "core/jobs/BytesHeld.h"
#include "core/metrics/Similarity.h"
#include "core/model/Randomise.h"

#include <opencv2/core.hpp>

#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace heatlens {

namespace {

// The first `depth` components of a dotted path.
std::string prefix(const std::string &path, int depth)
{
    size_t pos = 0;
    for (int d = 0; d < depth; ++d) {
        pos = path.find('.', pos);
        if (pos == std::string::npos)
            return path;
        if (d + 1 < depth)
            ++pos;
    }
    return path.substr(0, pos);
}

cv::Mat scaledAbsolute(const cv::Mat &map)
{
    cv::Mat a = cv::abs(map);
    double lo = 0.0, hi = 0.0;
    cv::minMaxLoc(a, &lo, &hi);
    if (hi - lo <= 0.0)
        return cv::Mat::zeros(a.size(), CV_32FC1);
    cv::Mat out;
    a.convertTo(out, CV_32FC1, 1.0 / (hi - lo), -lo / (hi - lo));
    return out;
}

Explanation explainWith(const Method &method, const ModelPtr &model, const torch::Tensor &input,
                        int target, const Params &params, const torch::Tensor &references,
                        const JobContext &ctx)
{
    ExplainRequest request;
    request.model = model;
    request.input = input;
    request.target = target;
    request.params = params;
    request.references = references;
    return method.explain(request, ctx);
}

std::string fixed(double v)
{
    std::ostringstream s;
    s.precision(2);
    s << std::fixed << v;
    return s.str();
}

} // namespace

std::vector<std::pair<std::string, std::vector<std::string>>>
sanitySteps(const Model &model, const SanityOptions &options)
{
    if (options.mode != "cascading" && options.mode != "independent")
        throw std::invalid_argument("sanity-check mode must be cascading or independent, got \"" +
                                    options.mode + "\"");
    const auto layers = parameterLayers(model);
    // Groups in declaration order: single layers, or blocks sharing a path prefix.
    std::vector<std::pair<std::string, std::vector<std::string>>> groups;
    auto groupAt = [&](int depth) {
        std::vector<std::pair<std::string, std::vector<std::string>>> g;
        for (const auto &layer : layers) {
            std::string key = depth == 0 ? layer.path : prefix(layer.path, depth);
            if (key.empty())
                key = "<root>";
            if (g.empty() || g.back().first != key)
                g.push_back({key, {}});
            g.back().second.push_back(layer.path);
        }
        return g;
    };
    // The deepest grouping that gives at most maxSteps steps (top-level blocks at worst).
    groups = groupAt(0);
    for (int depth = 8; int(groups.size()) > std::max(1, options.maxSteps) && depth >= 1; --depth)
        groups = groupAt(depth);
    // Logits side first.
    std::reverse(groups.begin(), groups.end());
    if (options.mode == "independent")
        return groups;
    std::vector<std::pair<std::string, std::vector<std::string>>> cascade;
    std::vector<std::string> sofar;
    for (const auto &g : groups) {
        sofar.insert(sofar.end(), g.second.begin(), g.second.end());
        cascade.push_back({g.first, sofar});
    }
    return cascade;
}

SanityResult sanityCheck(const ModelPtr &model, const torch::Tensor &input, int target,
                         const std::string &methodId, const Params &params,
                         const SanityOptions &options, const JobContext &ctx,
                         const torch::Tensor &references,
                         const std::function<void(const SanityResult &)> &onStep)
{
    const Method &method = MethodRegistry::instance().get(methodId);
    const Params complete = completeParams(method.params(), params, method.id());
    const auto steps = sanitySteps(*model, options);
    if (steps.empty())
        throw std::invalid_argument(model->displayName() + " has no parameters to randomise");
    SanityResult result;
    result.methodId = method.id();
    result.mode = options.mode;
    result.threshold = options.threshold;
    const double total = double(steps.size() + 1);
    result.original =
        explainWith(method, model, input, target, complete, references, ctx.sub(0.0, 1.0 / total))
            .map;
    const cv::Mat originalScaled = scaledAbsolute(result.original);
    const cv::Mat originalAbs = cv::abs(result.original);
    for (size_t i = 0; i < steps.size(); ++i) {
        ctx.throwIfCancelled();
        const auto copy = randomisedCopy(model, steps[i].second, options.seed);
        SanityStep step;
        step.label = steps[i].first;
        step.layers = steps[i].second;
        step.map = explainWith(method, copy, input, target, complete, references,
                               ctx.sub(double(i + 1) / total, double(i + 2) / total,
                                       "randomised " + step.label))
                       .map;
        step.spearman = spearman(result.original, step.map);
        step.spearmanAbs = spearman(originalAbs, cv::abs(step.map));
        const cv::Mat scaled = scaledAbsolute(step.map);
        // SSIM's window is 7 x 7: smaller maps have no SSIM.
        step.ssim = std::min(scaled.rows, scaled.cols) >= 7
                        ? ssim(originalScaled, scaled, 1.0)
                        : std::numeric_limits<double>::quiet_NaN();
        step.hogPearson = hogPearson(originalScaled, scaled);
        result.steps.push_back(std::move(step));
        if (onStep)
            onStep(result);
    }
    double measure = result.steps.back().spearmanAbs;
    if (options.mode == "independent") {
        measure = 0.0;
        for (const auto &s : result.steps)
            measure += s.spearmanAbs;
        measure /= double(result.steps.size());
    }
    result.passed = measure < options.threshold;
    const std::string what = options.mode == "cascading"
                                 ? "after randomising every layer"
                                 : "on average over single-layer randomisations";
    result.verdict = std::string(result.passed ? "passes" : "fails") +
                     ": rank correlation of absolute maps " + what + " is " + fixed(measure) +
                     (result.passed ? " < " : " >= ") + fixed(options.threshold);
    ctx.report(1.0, result.verdict);
    return result;
}

std::string SanityOptions::canonical() const
{
    char threshold_[32];
    std::snprintf(threshold_, sizeof threshold_, "%.12g", threshold);
    return "mode=" + mode + ";steps=" + std::to_string(maxSteps) + ";threshold=" + threshold_ +
           ";seed=" + std::to_string(seed);
}

size_t bytesHeld(const SanityResult &result)
{
    size_t n = bytesHeld(result.original) + bytesHeld(result.verdict);
    for (const SanityStep &step : result.steps)
        n += sizeof(SanityStep) + bytesHeld(step.map) + bytesHeld(step.label) +
             bytesHeld(step.layers);
    return n;
}

} // namespace heatlens
