#pragma once

#include "core/jobs/Progress.h"
#include "core/metrics/Faithfulness.h"
#include "core/model/Model.h"

#include <opencv2/core/mat.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace heatlens {

// Rank of every pixel of a CV_32FC1 map, [H * W] int64: 0 for the most relevant pixel when
// `mostRelevantFirst`, for the least relevant otherwise. Ties keep pixel order (deterministic).
torch::Tensor pixelRanking(const cv::Mat &map, bool mostRelevantFirst);

// ROAD, RemOve And Debias (Rong, Leemann et al. 2022): at each fraction the top (MoRF) or
// bottom (LeRF) pixels of the map are removed and filled by noisy linear imputation
// (Imputation.h), so that removal does not leave the sharp holes of a constant baseline that
// models read as a class cue; the target's probability and logit are recorded. Faithful maps
// give a low MoRF and a high LeRF curve; ROAD's combined score is (LeRF - MoRF) / 2 of the means.
struct RoadOptions
{
    std::string order = "morf"; // morf | lerf
    std::vector<double> fractions = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
    double noise = 0.01; // std of the noise added to imputed values
    uint64_t seed = 0;
    int batch = 32;
};

// fractions, probabilities and logits at each fraction; AUCs by trapezoid over the fractions.
Curve roadCurve(const Model &model, const torch::Tensor &input, int target, const cv::Mat &map,
                const RoadOptions &options, const JobContext &ctx);

// The input with the pixels of rank below round(fraction * H * W) imputed (what a ROAD point
// feeds the model), [1, C, H, W].
torch::Tensor roadImage(const torch::Tensor &input, const torch::Tensor &ranking, double fraction,
                        double noise, uint64_t seed);

// Accuracy drop (Ismail et al. 2021, saliency-guided training): the input with its top
// `fraction` most relevant pixels (all channels) replaced by values drawn uniformly in
// [min, max] of the input, for each fraction; returns the predicted class of each. Accuracy
// over a dataset at each fraction is then the mean of (prediction == label). The model is not
// retrained. A random map gives the control curve.
std::vector<int> maskedPredictions(const Model &model, const torch::Tensor &input,
                                   const cv::Mat &map, const std::vector<double> &fractions,
                                   uint64_t seed, int batch = 32);

// Mean of the values (0 for none).
double meanOf(const std::vector<double> &values);

} // namespace heatlens
