#pragma once

#include "core/explain/Method.h"

#include <opencv2/core/mat.hpp>

#include <string>
#include <utility>
#include <vector>

namespace heatlens {

struct Prediction
{
    std::vector<float> logits;
    std::vector<float> probabilities;
    int predicted = -1;
    std::vector<int> topK(int k) const; // class indices, most probable first
};

// Logits and softmax probabilities of one preprocessed input [1, C, H, W]; throws naming the
// model when a logit is NaN or infinite.
Prediction predictInput(const Model &model, const torch::Tensor &input);

class Dataset;

// One explanation of one image, end to end: preprocess, predict, explain the target (the
// predicted class when target < 0), bring the map to the image's native frame.
struct ExplainJob
{
    ModelPtr model;
    cv::Mat image;
    std::string methodId;
    Params params; // may be partial: missing parameters take their defaults
    int target = -1;
    // Where methods that draw baselines from the data (GradientSHAP) take them; may be null.
    std::shared_ptr<const Dataset> references;
};

struct ExplainOutcome
{
    Prediction prediction;
    Explanation explanation; // map at model-input resolution
    cv::Mat nativeMap;       // the same map in the image's native frame
    InputGeometry geometry;
};
size_t bytesHeld(const Prediction &prediction);
size_t bytesHeld(const Explanation &explanation);
size_t bytesHeld(const ExplainOutcome &outcome);

ExplainOutcome runExplain(const ExplainJob &job, const JobContext &ctx);

// Reference inputs for baselines drawn from the data: up to `count` samples at evenly spaced
// indices (deterministic), preprocessed for `model`, [R, C, H, W]; unreadable samples are
// skipped. Undefined when none can be read.
torch::Tensor drawReferences(const Model &model, const Dataset &dataset, int count,
                             const JobContext &ctx);

// Predicted class of each listed sample, forward-only in batches; -1 where a sample cannot be
// decoded or preprocessed, or the model's logits for it are not finite.
std::vector<int> predictSamples(const Model &model, const Dataset &dataset,
                                const std::vector<size_t> &indices, int batch,
                                const JobContext &ctx);

} // namespace heatlens
