#include "core/metrics/Evaluation.h"

#include "core/explain/ExplainJob.h"
#include "core/explain/MethodRegistry.h"
#include "core/metrics/Localisation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace heatlens {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool wants(const EvaluationOptions &o, const std::string &metric)
{
    return std::find(o.metrics.begin(), o.metrics.end(), metric) != o.metrics.end();
}

std::string percentLabel(double fraction)
{
    return std::to_string(int(std::lround(fraction * 100.0)));
}

// Student t quantile for a two-sided 95% interval: exact table to 30 degrees of freedom, then
// the Cornish-Fisher expansion around the normal quantile (error < 1e-4).
double t975(int df)
{
    static const double table[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                   2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                                   2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                                   2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
    if (df < 1)
        return kNaN;
    if (df <= 30)
        return table[df - 1];
    const double z = 1.959964, d = double(df);
    return z + (z * z * z + z) / (4 * d) +
           (5 * std::pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * d * d);
}

Curve correctCurve(const std::vector<double> &fractions, const std::vector<int> &predicted,
                   int label)
{
    Curve c;
    c.fractions = fractions;
    for (int p : predicted)
        c.probabilities.push_back(label < 0 ? kNaN : double(p == label));
    c.logits = c.probabilities;
    c.aucProbability = trapezoid(c.fractions, c.probabilities);
    c.aucLogit = c.aucProbability;
    return c;
}

} // namespace

const std::vector<std::string> &evaluationMetrics()
{
    static const std::vector<std::string> names = {
        "deletion", "insertion", "road", "accuracy-drop", "localisation", "complexity", "sanity"};
    return names;
}

void validateEvaluation(const EvaluationOptions &options, const Model &model)
{
    if (options.methods.empty())
        throw std::invalid_argument("no methods to evaluate");
    for (const auto &m : options.metrics)
        if (std::find(evaluationMetrics().begin(), evaluationMetrics().end(), m) ==
            evaluationMetrics().end()) {
            std::string known;
            for (const auto &k : evaluationMetrics())
                known += (known.empty() ? "" : ", ") + k;
            throw std::invalid_argument("unknown metric \"" + m + "\" (known: " + known + ")");
        }
    for (const auto &id : options.methods) {
        const Method &method = MethodRegistry::instance().get(id);
        const std::string why = method.whyNotApplicable(model);
        if (!why.empty())
            throw std::invalid_argument(id + " cannot explain " + model.displayName() + ": " + why);
    }
    if (options.target != "predicted" && options.target != "label")
        throw std::invalid_argument("target must be predicted or label, got \"" + options.target +
                                    "\"");
}

std::vector<std::string> evaluationColumns(const EvaluationOptions &o)
{
    std::vector<std::string> columns;
    for (const auto &metric : evaluationMetrics()) {
        if (!wants(o, metric))
            continue;
        if (metric == "deletion" || metric == "insertion") {
            columns.push_back(metric + "_auc");
            columns.push_back(metric + "_auc_logit");
        } else if (metric == "road") {
            columns.insert(columns.end(), {"road_morf", "road_lerf", "road_combined"});
        } else if (metric == "accuracy-drop") {
            for (double f : o.dropFractions)
                columns.push_back("correct_at_" + percentLabel(f));
        } else if (metric == "localisation") {
            columns.insert(columns.end(),
                           {"relevance_mass", "rank_accuracy", "pointing_game", "mask_fraction"});
        } else if (metric == "complexity") {
            columns.push_back("gini");
        } else if (metric == "sanity") {
            columns.insert(columns.end(), {"sanity_spearman", "sanity_spearman_abs", "sanity_ssim",
                                           "sanity_hog", "sanity_pass"});
        }
    }
    return columns;
}

ImageEvaluation evaluateImage(const ModelPtr &model, const Sample &sample, size_t index,
                              size_t position, const EvaluationOptions &o,
                              const torch::Tensor &references, const JobContext &ctx)
{
    ImageEvaluation result;
    result.index = index;
    result.id = sample.id;
    result.label = sample.label;
    InputGeometry geometry;
    const auto input = model->preprocess(sample.image, &geometry);
    const Prediction prediction = predictInput(*model, input);
    result.predicted = prediction.predicted;
    result.target = o.target == "label" && sample.label >= 0 && sample.label < model->numClasses()
                        ? sample.label
                        : prediction.predicted;
    result.probability = prediction.probabilities[size_t(result.target)];
    const cv::Mat mask = wants(o, "localisation") ? objectMask(sample.image) : cv::Mat();
    const double share = 1.0 / double(o.methods.size());
    for (size_t m = 0; m < o.methods.size(); ++m) {
        const std::string &id = o.methods[m];
        const JobContext mctx = ctx.sub(double(m) * share, double(m + 1) * share, id);
        const auto start = std::chrono::steady_clock::now();
        MethodEvaluation me;
        me.method = id;
        for (const auto &column : evaluationColumns(o))
            me.values[column] = kNaN;
        const auto paramsIt = o.params.find(id);
        const Params params = paramsIt == o.params.end() ? Params{} : paramsIt->second;
        const Method &method = MethodRegistry::instance().get(id);
        const bool control = MethodRegistry::instance().isControl(id);
        ExplainRequest request;
        request.model = model;
        request.input = input;
        request.target = result.target;
        request.params = completeParams(method.params(), params, id);
        if (control) // a new ranking per image, reproducible from the run's seed
            request.params.set("seed", int(o.seed + index));
        request.references = references;
        const cv::Mat map = method.explain(request, mctx.sub(0.0, 0.5)).map;
        const cv::Mat nativeMap = mapToNative(map, geometry);
        // The rest of the method's progress range, shared equally by the metrics it runs.
        int metricCount = 0, metricDone = 0;
        for (const auto &metric : o.metrics)
            metricCount += metric == "road" ? 2 : 1;
        auto metricCtx = [&](const std::string &what) {
            const double step = 0.5 / std::max(1, metricCount);
            const double begin = 0.5 + step * metricDone++;
            return mctx.sub(begin, begin + step, what);
        };
        for (const char *mode : {"deletion", "insertion"}) {
            if (!wants(o, mode))
                continue;
            CurveOptions co = o.curve;
            co.mode = mode;
            co.seed = o.seed + index;
            const Curve c =
                perturbationCurve(*model, input, result.target, map, co, metricCtx(mode));
            me.values[std::string(mode) + "_auc"] = c.aucProbability;
            me.values[std::string(mode) + "_auc_logit"] = c.aucLogit;
            me.curves[mode] = c;
        }
        if (wants(o, "road")) {
            RoadOptions ro = o.road;
            ro.seed = o.seed + index;
            ro.order = "morf";
            const Curve morf =
                roadCurve(*model, input, result.target, map, ro, metricCtx("ROAD MoRF"));
            ro.order = "lerf";
            const Curve lerf =
                roadCurve(*model, input, result.target, map, ro, metricCtx("ROAD LeRF"));
            me.values["road_morf"] = meanOf(morf.probabilities);
            me.values["road_lerf"] = meanOf(lerf.probabilities);
            me.values["road_combined"] =
                (meanOf(lerf.probabilities) - meanOf(morf.probabilities)) / 2;
            me.curves["road-morf"] = morf;
            me.curves["road-lerf"] = lerf;
        }
        if (wants(o, "accuracy-drop")) {
            const auto predicted =
                maskedPredictions(*model, input, map, o.dropFractions, o.seed + index);
            const Curve c = correctCurve(o.dropFractions, predicted, sample.label);
            for (size_t i = 0; i < o.dropFractions.size(); ++i)
                me.values["correct_at_" + percentLabel(o.dropFractions[i])] = c.probabilities[i];
            me.curves["accuracy-drop"] = c;
        }
        if (wants(o, "localisation")) {
            me.values["relevance_mass"] = relevanceMass(nativeMap, mask);
            me.values["rank_accuracy"] = relevanceRankAccuracy(nativeMap, mask);
            me.values["pointing_game"] = pointingGame(nativeMap, mask) ? 1.0 : 0.0;
            me.values["mask_fraction"] = maskFraction(mask);
        }
        if (wants(o, "complexity"))
            me.values["gini"] = gini(map);
        if (wants(o, "sanity") && !control && // a control has no weights to randomise
            position < size_t(std::max(0, o.sanityImages))) {
            const SanityResult s = sanityCheck(model, input, result.target, id, params, o.sanity,
                                               metricCtx("sanity"), references);
            const SanityStep &last = s.steps.back();
            me.values["sanity_spearman"] = last.spearman;
            me.values["sanity_spearman_abs"] = last.spearmanAbs;
            me.values["sanity_ssim"] = last.ssim;
            me.values["sanity_hog"] = last.hogPearson;
            me.values["sanity_pass"] = s.passed ? 1.0 : 0.0;
            Curve c;
            for (size_t i = 0; i < s.steps.size(); ++i) {
                c.fractions.push_back(double(i + 1));
                c.probabilities.push_back(s.steps[i].spearmanAbs);
                c.logits.push_back(s.steps[i].ssim);
            }
            me.curves["sanity"] = c;
        }
        me.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        result.methods.push_back(std::move(me));
    }
    return result;
}

Summary summarise(const std::vector<double> &values)
{
    Summary s;
    double sum = 0.0;
    for (double v : values)
        if (std::isfinite(v)) {
            sum += v;
            ++s.n;
        }
    if (s.n == 0) {
        s.mean = kNaN;
        s.ci95 = kNaN;
        return s;
    }
    s.mean = sum / s.n;
    if (s.n < 2) {
        s.ci95 = kNaN;
        return s;
    }
    double ss = 0.0;
    for (double v : values)
        if (std::isfinite(v))
            ss += (v - s.mean) * (v - s.mean);
    s.ci95 = t975(s.n - 1) * std::sqrt(ss / (s.n - 1)) / std::sqrt(double(s.n));
    return s;
}

} // namespace heatlens
