#pragma once

#include "core/metrics/Faithfulness.h"
#include "core/metrics/Removal.h"
#include "core/uncertainty/Uncertainty.h"

#include <functional>
#include <string>
#include <vector>

namespace heatlens {

// Faithfulness curves of an explanation distribution, with bands: the modified
// insertion/deletion family of Mulye & Valdenegro-Toro 2024, made explicit.
struct UncertaintyCurveOptions
{
    std::string kind = "deletion"; // deletion | insertion | road
    CurveOptions curve;            // order, baseline, steps, cells, batch (mode from kind)
    RoadOptions road;              // for kind road (order from curve.order)
    std::string ranking = "mean";  // mean | p5 | snr: what ranks the pixels of the ranked map
    int modelSamples = 16;         // model samples replayed for the bands (at most those kept)
    double topFraction = 0.2;      // the confident-versus-uncertain test's top pixels by |mean|
    int testSteps = 10;            // deletion steps of each half in that test

    std::string canonical() const;
    void validate() const; // throws std::invalid_argument naming the option
};

// One curve per model sample, summarised point by point.
struct CurveBand
{
    std::vector<double> fractions;
    std::vector<double> mean, low, high; // mean and 5th / 95th percentiles over the curves
    std::vector<std::vector<double>> curves;
    std::vector<double> aucs; // of the probability, per curve
    double aucMean = 0.0, aucLow = 0.0, aucHigh = 0.0;
};

struct UncertaintyCurves
{
    std::string kind, ranking;
    int modelSamples = 0;
    // Explanation uncertainty: sample map t under model sample t.
    CurveBand samples;
    // Model uncertainty of one map: the ranking map (mean, 5th percentile or SNR) under each
    // model sample; for sources that perturb the input every model sample is the model itself.
    CurveBand rankedMap;
    Curve deterministic; // the ranking map under the model as given
    // Confident versus uncertain pixels: among the top fraction of pixels by |mean|, the half of
    // highest SNR (confident) and the half of lowest SNR (uncertain) are each deleted alone,
    // most relevant first, to the black input in testSteps steps; AUC of the target
    // probability over the fraction of the half deleted. delta = uncertain - confident > 0
    // when the confident pixels matter more; its interval is the 5th-95th percentile over the
    // model samples.
    double confidentAuc = 0.0, uncertainAuc = 0.0;
    double confidentMeanAbs = 0.0, uncertainMeanAbs = 0.0; // mean |mean| of each half
    double delta = 0.0, deltaLow = 0.0, deltaHigh = 0.0;
    double seconds = 0.0;
};
size_t bytesHeld(const UncertaintyCurves &curves);

// The curves of `result` (computed from `request`; model samples are replayed from the same
// source and seed). `onUpdate` gets the curves so far after every model sample. Throws
// std::invalid_argument for a bad option (ranking p5 without percentiles in the result, a result
// without kept sample maps), Cancelled when cancelled.
UncertaintyCurves
uncertaintyCurves(const UncertaintyRequest &request, const UncertaintyResult &result,
                  const UncertaintyCurveOptions &options, const JobContext &ctx,
                  const std::function<void(const UncertaintyCurves &)> &onUpdate = {});

// The ranking map of `result` named by `ranking` (mean, p5, snr).
cv::Mat rankingMap(const UncertaintyResult &result, const std::string &ranking);

// Summarises curves given point by point (same length) into a band.
CurveBand bandOf(const std::vector<double> &fractions,
                 const std::vector<std::vector<double>> &curves);

} // namespace heatlens
