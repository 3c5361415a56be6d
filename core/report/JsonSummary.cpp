#include "core/report/JsonSummary.h"

#include "core/model/Threads.h"

#include <nlohmann/json.hpp>

namespace heatlens {

namespace {

nlohmann::json paramsJson(const Params &params)
{
    nlohmann::json j = nlohmann::json::object();
    for (const auto &[name, value] : params.values())
        std::visit([&, n = name](const auto &v) { j[n] = v; }, value);
    return j;
}

nlohmann::json predictionJson(const Model &model, const Prediction &p)
{
    nlohmann::json top = nlohmann::json::array();
    for (int c : p.topK(5))
        top.push_back({{"class", c},
                       {"label", model.label(c)},
                       {"probability", p.probabilities[size_t(c)]},
                       {"logit", p.logits[size_t(c)]}});
    return {{"class", p.predicted}, {"label", model.label(p.predicted)}, {"top5", top}};
}

} // namespace

std::string explanationSummaryJson(const Model &model, const std::string &imageId,
                                   const ExplainOutcome &outcome,
                                   const std::map<std::string, double> &timings)
{
    const Explanation &e = outcome.explanation;
    nlohmann::json j;
    j["model"] = {{"path", model.path()}, {"name", model.displayName()}};
    j["image"] = {{"id", imageId},
                  {"width", outcome.geometry.native.width},
                  {"height", outcome.geometry.native.height}};
    j["prediction"] = predictionJson(model, outcome.prediction);
    j["method"] = e.methodId;
    j["params"] = paramsJson(e.params);
    j["target"] = {{"class", e.target}, {"label", model.label(e.target)}};
    if (!e.layer.empty())
        j["layer"] = e.layer;
    j["map"] = {{"height", e.map.rows}, {"width", e.map.cols}, {"signed", e.signedMap}};
    j["stats"] = e.stats;
    j["warnings"] = e.warnings;
    j["passes"] = {{"forward", e.forwardPasses}, {"backward", e.backwardPasses}};
    j["timings_seconds"] = timings;
    const ThreadSettings threads = currentThreadSettings();
    j["threads"] = {{"intra_op", threads.intraOp},
                    {"blas", threads.blas},
                    {"openmp_idle", threads.passiveWait ? "sleep" : "spin"}};
    return j.dump(2) + "\n";
}

} // namespace heatlens
