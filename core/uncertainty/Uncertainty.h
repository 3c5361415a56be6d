#pragma once

#include "core/explain/Method.h"
#include "core/jobs/Progress.h"
#include "core/uncertainty/StochasticSource.h"

#include <opencv2/core/mat.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace heatlens {

// Explanation uncertainty (Mulye & Valdenegro-Toro 2024; Bykov et al. 2020): any registered
// method under any stochastic source. Each model sample gives one explanation; together they form
// an explanation distribution, summarised per pixel.
struct UncertaintyOptions
{
    int maxSamples = 32;
    int minSamples = 5;        // before the automatic stop may end a run
    double timeBudget = 0.0;   // seconds; 0 = none
    double targetError = 0.10; // stop once the std map's estimated relative error is below; 0 = off
    // Samples per batch for methods that explain rows in one pass (Method::explainsRows) under
    // sources that give rows (SourceRun::batchable); 1 runs one sample at a time.
    int batchRows = 32;
    bool percentiles = false;      // 5/25/50/75/95 per pixel (keeps every sample map)
    std::string normalise = "raw"; // raw | max: each sample map divided by its max |value| first
    double cvThreshold = 0.01;     // CV is undefined where |mean| < this x max |mean|
    double topFraction = 0.10;     // the top-k% of IoU stability
    int keepMaps = 64;             // sample maps kept (strip, animation, rank stability)

    std::string canonical() const;
    // Throws std::invalid_argument naming the option and the value received.
    void validate() const;
};

// What the samples predicted (Gal 2016's decomposition): entropy of the mean prediction =
// expected entropy (aleatoric) + mutual information (epistemic), in nats.
struct PredictionSpread
{
    int deterministicClass = -1; // of the model as given (no sampling), on the original input
    std::vector<double> meanProbabilities;
    std::vector<int> sampleClasses;          // each sample's top class
    std::vector<double> targetProbabilities; // each sample's probability of the target
    double entropy = 0.0;
    double expectedEntropy = 0.0;
    double mutualInformation = 0.0;
    double flipRate = 0.0; // fraction of samples whose top class is not deterministicClass
};

struct UncertaintyResult
{
    std::string methodId;
    Params params;
    std::string sourceId;
    Params sourceParams;
    std::string sourceDescription;
    int target = -1;
    bool signedMap = false;
    std::string normalise;

    int samples = 0; // T reached
    bool complete = false;
    std::string stopReason; // why sampling stopped, for people
    bool batched = false;   // samples ran as rows of batches

    // Per pixel, CV_32F at the model's input resolution. cv = std / |mean| where |mean| is at
    // least cvThreshold x max |mean|, NaN elsewhere; snr = |mean| / std, NaN where std is 0.
    cv::Mat mean, stdDev, stdError, cv, snr, signAgreement, count;
    std::map<int, cv::Mat> percentiles; // 5, 25, 50, 75, 95 when asked
    std::vector<cv::Mat> sampleMaps;    // the first keepMaps samples, in the original frame

    double relativeStdError = 0.0;    // estimated relative L2 error of the std map
    double undefinedCvFraction = 0.0; // pixels whose CV is undefined
    double meanCv = 0.0;              // over the pixels where it is defined
    double medianCv = 0.0;
    double rankStability = 0.0; // mean pairwise Spearman of the kept sample maps (final only)
    double topIoU = 0.0;        // mean pairwise IoU of their top-k% pixels by |value|
    PredictionSpread prediction;

    double seconds = 0.0;
    int forwardPasses = 0;
    int backwardPasses = 0;
    std::vector<std::string> warnings;
};
size_t bytesHeld(const UncertaintyResult &result);

struct UncertaintyRequest
{
    ModelPtr model;
    torch::Tensor input; // [1, C, H, W]
    int target = -1;     // -1: the model's own (deterministic) prediction
    std::string methodId;
    Params params; // missing ones take their defaults
    torch::Tensor references;
    std::string sourceId;
    Params sourceParams;
    std::vector<ModelPtr> members; // the ensemble source's members, when not the model's own
    UncertaintyOptions options;
};

// Samples the explanation distribution: sample t explains with source sample t (its randomness
// frozen over all of the method's passes); one-pass methods under sources with rows run up to
// batchRows samples as the rows of one batch. Stops at maxSamples (or the source's limit), the
// time budget, or when the std map's relative error reaches targetError. `onUpdate` gets the
// result so far after every sample or batch (statistics streamed; rank stability and
// percentiles only in the final result). Throws std::invalid_argument for a bad request,
// Cancelled when cancelled (after the last update).
UncertaintyResult
explainUncertainty(const UncertaintyRequest &request, const JobContext &ctx,
                   const std::function<void(const UncertaintyResult &)> &onUpdate = {});

// The statistics of a set of maps (already in one frame), as explainUncertainty computes them:
// for tests and for maps from elsewhere. `valid` may be empty or hold one mask per map.
UncertaintyResult summariseMaps(const std::vector<cv::Mat> &maps, const std::vector<cv::Mat> &valid,
                                const UncertaintyOptions &options);

} // namespace heatlens
