#pragma once

#include "core/explain/Method.h"
#include "core/jobs/Progress.h"

#include <opencv2/core/mat.hpp>

#include <functional>
#include <string>
#include <vector>

namespace heatlens {

// Model parameter randomisation test (Adebayo et al. 2018, "Sanity checks for saliency maps";
// Quantus MPRT). The model's parameter layers are redrawn on private copies (randomisedCopy):
//   cascading    from the logits down, one more layer (or block) at each step
//   independent  one layer (or block) at a time, the others as trained
// and the explanation of the same input and target is computed again. Similarity between the
// original and each randomised map: Spearman rank correlation of the maps and of their absolute
// values, SSIM and Pearson correlation of HOG features of the absolute maps scaled to [0, 1].
// A method passes when its maps stop resembling the original once the model is random: the
// Spearman correlation of absolute maps after the full cascade is below `threshold`.
struct SanityOptions
{
    std::string mode = "cascading"; // cascading | independent
    // Models with more parameter layers than this are randomised block by block: layers are
    // grouped by the shortest path prefix that gives at most `maxSteps` groups.
    int maxSteps = 24;
    double threshold = 0.5;
    uint64_t seed = 0;

    std::string canonical() const; // "mode=cascading;steps=24;threshold=0.5;seed=0"
};

struct SanityStep
{
    std::string label;               // the layer or block randomised at this step
    std::vector<std::string> layers; // every layer randomised in this step's copy
    cv::Mat map;                     // explanation of the randomised copy, input resolution
    double spearman = 0.0;
    double spearmanAbs = 0.0;
    double ssim = 0.0; // NaN for maps smaller than its 7 x 7 window
    double hogPearson = 0.0;
};

struct SanityResult
{
    std::string methodId;
    std::string mode;
    cv::Mat original;
    std::vector<SanityStep> steps; // cascading: logits side first
    double threshold = 0.5;
    // Cascading: final spearmanAbs < threshold. Independent: the mean spearmanAbs over steps
    // < threshold (most single layers matter).
    bool passed = false;
    std::string verdict; // one line for people: "passes: ..." / "fails: ..."
};
size_t bytesHeld(const SanityResult &result);

// The randomisation steps for `model` (label, layers), in the order the check runs them.
std::vector<std::pair<std::string, std::vector<std::string>>>
sanitySteps(const Model &model, const SanityOptions &options);

// Runs `methodId` with `params` (missing ones take their defaults) on the model and on every
// randomised copy. `references` as in ExplainRequest (may be undefined). `onStep` gets the
// result so far after each step. Throws std::invalid_argument for a bad mode or method.
SanityResult sanityCheck(const ModelPtr &model, const torch::Tensor &input, int target,
                         const std::string &methodId, const Params &params,
                         const SanityOptions &options, const JobContext &ctx,
                         const torch::Tensor &references = {},
                         const std::function<void(const SanityResult &)> &onStep = {});

} // namespace heatlens
