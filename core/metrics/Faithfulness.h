#pragma once

#include "core/jobs/BytesHeld.h"
#include "core/jobs/Progress.h"
#include "core/model/Model.h"

#include <opencv2/core/mat.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace heatlens {

// Deletion and insertion curves (Petsiuk et al. 2018, RISE; Xplique's CausalFidelity): the
// features of an input are ranked by an attribution map and perturbed in `steps` equal steps,
// and the target's probability and logit are recorded after each step.
//   deletion   from the input, the ranked features replaced by `baseline` (black, zero, mean,
//              blur, uniform: see Baselines.h)
//   insertion  from a blurred canvas, the ranked features restored from the input
// Features are pixels (all channels together) or, with `cells` > 0, the cells of a cells x cells
// grid ranked by their summed attribution (the region-wise curves used for uncertainty studies).
// Order "morf" ranks the most relevant first, "lerf" the least relevant first.
struct CurveOptions
{
    std::string mode = "deletion"; // deletion | insertion
    std::string order = "morf";    // morf | lerf
    std::string baseline = "black";
    int steps = 100;
    int cells = 0;     // 0: pixel-wise
    int batch = 32;    // perturbed images per forward pass
    uint64_t seed = 0; // of the uniform baseline

    // "mode=deletion;order=morf;baseline=black;seed=0;steps=100;cells=0": what changes the
    // curve (not the batch size; insertion starts from a blurred canvas whatever the baseline).
    std::string canonical() const;
};

struct Curve
{
    std::vector<double> fractions;     // of features perturbed, 0 .. 1, steps + 1 points
    std::vector<double> probabilities; // target softmax probability at each point
    std::vector<double> logits;        // target logit at each point
    double aucProbability = 0.0;       // trapezoid over the fraction axis
    double aucLogit = 0.0;
    int forwardPasses = 0;
};
size_t bytesHeld(const Curve &curve);

// Throws std::invalid_argument naming the option when one is bad (unknown mode, steps < 1, a
// map of another size than the input). Checks `ctx` before every batch; after each batch
// `onBatch` gets the curve so far (points [0, done)).
Curve perturbationCurve(const Model &model, const torch::Tensor &input, int target,
                        const cv::Mat &map, const CurveOptions &options, const JobContext &ctx,
                        const std::function<void(const Curve &)> &onBatch = {});

// The image at `fraction` of the way along the curve (what the curve's point shows), [1, C, H, W].
torch::Tensor curveImage(const Model &model, const torch::Tensor &input, const cv::Mat &map,
                         const CurveOptions &options, double fraction);

// The images along one curve with the map ranked once: image(fraction) is exactly
// curveImage(model, input, map, options, fraction), without re-ranking the map and rebuilding the
// baseline on every call (for a cursor moving along a plot). The constructor checks like
// perturbationCurve (throws std::invalid_argument naming the bad option or map size); the object
// keeps its own copies of what it needs, is cheap to copy (shared) and may be used from any
// thread.
class CurveImages
{
public:
    CurveImages(const Model &model, const torch::Tensor &input, const cv::Mat &map,
                const CurveOptions &options);

    // The perturbed input at the curve point nearest to `fraction` (clamped to [0, 1]),
    // [1, C, H, W].
    torch::Tensor image(double fraction) const;
    // The fraction of the curve point image(fraction) shows: a multiple of 1 / steps.
    double pointFraction(double fraction) const;
    const CurveOptions &options() const;
    int64_t features() const; // pixels, or grid cells when options.cells > 0
    size_t bytesHeld() const; // the input, its perturbation canvas and the ranking

private:
    struct Impl;
    std::shared_ptr<const Impl> m_impl;
};

// Rank of every feature by its score, [N] int64: 0 for the highest score when
// `mostRelevantFirst`, for the lowest otherwise. Ties keep feature order (deterministic).
torch::Tensor featureRanking(const torch::Tensor &scores, bool mostRelevantFirst);

// Trapezoid rule over (x, y) points.
double trapezoid(const std::vector<double> &x, const std::vector<double> &y);

} // namespace heatlens
