#include "core/uncertainty/UncertaintySanity.h"

#include "core/metrics/Similarity.h"
#include "core/model/Randomise.h"

#include <opencv2/core.hpp>

#include <sstream>

namespace heatlens {

size_t bytesHeld(const UncertaintySanityResult &r)
{
    size_t bytes = sizeof(UncertaintySanityResult) + bytesHeld(r.original);
    for (const auto &s : r.steps)
        bytes += (s.mean.total() + s.stdDev.total()) * sizeof(float) + sizeof(s);
    return bytes;
}

namespace {

std::string fixed(double v)
{
    std::ostringstream s;
    s.precision(2);
    s << std::fixed << v;
    return s.str();
}

// The members of an ensemble request with `layers` redrawn in each, or {} for other sources.
std::vector<ModelPtr> randomisedMembers(const UncertaintyRequest &request,
                                        const std::vector<std::string> &layers, uint64_t seed)
{
    if (request.sourceId != "ensemble")
        return {};
    const auto &members = request.members.empty() ? request.model->members() : request.members;
    std::vector<ModelPtr> out;
    for (size_t i = 0; i < members.size(); ++i)
        out.push_back(randomisedCopy(members[i], layers, seed + i));
    return out;
}

double spearmanAbs(const cv::Mat &a, const cv::Mat &b)
{
    return spearman(cv::abs(a), cv::abs(b));
}

} // namespace

std::string uncertaintySanityVerdict(const UncertaintySanityResult &r)
{
    if (r.steps.empty())
        return "no randomisation step ran";
    const auto &last = r.steps.back();
    double lo = 0.0, hi = 0.0;
    cv::minMaxLoc(r.original.stdDev, &lo, &hi);
    const std::string mean =
        r.meanPasses
            ? "the mean map changes with the weights (Spearman " + fixed(last.meanSpearman) + ")"
            : "the mean map stays similar when the weights are "
              "randomised (Spearman " +
                  fixed(last.meanSpearman) + ", threshold " + fixed(r.threshold) + ")";
    if (hi <= 0.0) // every sample gave the same map: nothing to react
        return std::string(r.meanPasses ? "passes" : "fails") + ": " + mean +
               "; the samples have no spread (std 0 everywhere), so there is no uncertainty to "
               "check";
    std::string spread =
        r.stdPasses
            ? "the uncertainty reacts to the weights (std Spearman " + fixed(last.stdSpearman) + ")"
            : "the uncertainty is insensitive to the weights (std "
              "Spearman " +
                  fixed(last.stdSpearman) + "): a low CV here is low for the wrong reason";
    return std::string(r.meanPasses && r.stdPasses ? "passes: " : "fails: ") + mean + "; " + spread;
}

UncertaintySanityResult
uncertaintySanity(const UncertaintyRequest &request, const SanityOptions &options,
                  const JobContext &ctx,
                  const std::function<void(const UncertaintySanityResult &)> &onStep)
{
    const auto steps = sanitySteps(request.sourceId == "ensemble" && request.members.empty() &&
                                           request.model->isEnsemble()
                                       ? *request.model->members().front()
                                       : *request.model,
                                   options);
    UncertaintySanityResult r;
    r.methodId = request.methodId;
    r.sourceId = request.sourceId;
    r.mode = options.mode;
    r.threshold = options.threshold;
    const double parts = double(steps.size() + 1);
    r.original = explainUncertainty(request, ctx.sub(0, 1 / parts, "original"));
    r.samples = r.original.samples;
    std::vector<std::string> cascade;
    for (size_t i = 0; i < steps.size(); ++i) {
        ctx.throwIfCancelled();
        const auto &[label, layers] = steps[i];
        std::vector<std::string> randomised = layers;
        if (options.mode == "cascading") {
            cascade.insert(cascade.end(), layers.begin(), layers.end());
            randomised = cascade;
        }
        UncertaintyRequest step = request;
        step.target = r.original.target; // the original's class, as in the plain test
        step.members = randomisedMembers(request, randomised, options.seed);
        if (step.members.empty())
            step.model = randomisedCopy(request.model, randomised, options.seed);
        const auto sub = ctx.sub((i + 1) / parts, (i + 2) / parts, label);
        const auto result = explainUncertainty(step, sub);
        UncertaintySanityStep s;
        s.label = label;
        s.mean = result.mean;
        s.stdDev = result.stdDev;
        s.meanSpearman = spearmanAbs(result.mean, r.original.mean);
        s.stdSpearman = spearmanAbs(result.stdDev, r.original.stdDev);
        s.meanCv = result.meanCv;
        r.steps.push_back(std::move(s));
        if (onStep)
            onStep(r);
    }
    if (!r.steps.empty()) {
        auto score = [&](double UncertaintySanityStep::*field) {
            if (options.mode == "cascading")
                return r.steps.back().*field;
            double sum = 0.0;
            for (const auto &s : r.steps)
                sum += s.*field;
            return sum / double(r.steps.size());
        };
        // Constant maps (nothing to rank) have a Spearman of 0: they pass nothing.
        auto varies = [](const cv::Mat &m) {
            double lo = 0.0, hi = 0.0;
            cv::minMaxLoc(m, &lo, &hi);
            return hi > lo;
        };
        r.meanPasses = varies(r.original.mean) &&
                       score(&UncertaintySanityStep::meanSpearman) < options.threshold;
        r.stdPasses = varies(r.original.stdDev) &&
                      score(&UncertaintySanityStep::stdSpearman) < options.threshold;
    }
    r.verdict = uncertaintySanityVerdict(r);
    return r;
}

} // namespace heatlens
