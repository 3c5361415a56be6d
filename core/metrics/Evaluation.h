#pragma once

#include "core/data/Sample.h"
#include "core/explain/Params.h"
#include "core/metrics/Faithfulness.h"
#include "core/metrics/Removal.h"
#include "core/metrics/Sanity.h"

#include <map>
#include <string>
#include <vector>

namespace heatlens {

// What `heatlens-cli evaluate` (and any batch evaluation) measures for every image and method.
// Methods are registry ids, controls included (MethodRegistry::controls(): "random", a seeded
// uniform-noise map that every metric is read against; a control draws a new map per image
// from the run's seed and skips the sanity check). Metrics:
//   deletion, insertion  perturbation curves (Faithfulness.h), AUC of probability and logit
//   road                 ROAD MoRF and LeRF means and their combined score (Removal.h)
//   accuracy-drop        correct or not after removing the top 0, 10, ..., 90% (Removal.h)
//   localisation         relevance mass, relevance rank accuracy, pointing game inside the
//                        object mask (non-zero pixels of the image; Localisation.h)
//   complexity           Gini sparseness of |map|
//   sanity               cascading randomisation on the first `sanityImages` images
struct EvaluationOptions
{
    std::vector<std::string> methods;
    std::map<std::string, Params> params; // per method id; missing ones take defaults
    std::vector<std::string> metrics = {"deletion", "insertion"};
    std::string target = "predicted"; // predicted | label
    CurveOptions curve;               // mode is set per curve
    RoadOptions road;                 // order is set per curve
    SanityOptions sanity;
    int sanityImages = 10;
    std::vector<double> dropFractions = {0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
    uint64_t seed = 0;
};

const std::vector<std::string> &evaluationMetrics(); // every metric name, in column order

// Throws std::invalid_argument naming an unknown metric or method, or a method that cannot
// explain `model` (and why).
void validateEvaluation(const EvaluationOptions &options, const Model &model);

// The value columns a run writes per (image, method), in order: "deletion_auc", ...
std::vector<std::string> evaluationColumns(const EvaluationOptions &options);

struct MethodEvaluation
{
    std::string method;
    std::map<std::string, double> values; // column -> value; NaN when not measured
    // Curves by kind ("deletion", "insertion", "road-morf", "road-lerf", "accuracy-drop"
    // (1 = correct), "sanity" (Spearman of absolute maps per cascade step)).
    std::map<std::string, Curve> curves;
    double seconds = 0.0;
};

struct ImageEvaluation
{
    size_t index = 0;
    std::string id;
    int label = -1;
    int predicted = -1;
    int target = -1;
    double probability = 0.0; // of the target, unperturbed
    std::vector<MethodEvaluation> methods;
};

// Every method and metric on one sample; `position` is the sample's place in the run (sanity
// checks run for position < sanityImages). `references` as in ExplainRequest.
ImageEvaluation evaluateImage(const ModelPtr &model, const Sample &sample, size_t index,
                              size_t position, const EvaluationOptions &options,
                              const torch::Tensor &references, const JobContext &ctx);

// Mean and half-width of the 95% confidence interval of the mean (Student t), over the finite
// values; n = how many.
struct Summary
{
    double mean = 0.0;
    double ci95 = 0.0;
    int n = 0;
};
Summary summarise(const std::vector<double> &values);

} // namespace heatlens
