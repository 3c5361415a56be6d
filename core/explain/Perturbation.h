#pragma once

#include "core/explain/MethodSupport.h"
#include "core/groups/CoalitionGame.h"
#include "core/groups/GridCells.h"

#include <functional>
#include <random>
#include <string>
#include <vector>

namespace heatlens {

// Uniform in [0, 1) from the top 53 bits: the same numbers with every standard library (the
// std:: distributions are implementation-defined), so a seed means the same samples everywhere.
double unitUniform(std::mt19937_64 &rng);

// What every perturbation method starts from: the request (input [1, C, H, W], parameters), the
// input's size, the batch size, the seed, and the baseline made from the "baseline" and "seed"
// parameters.
struct PerturbationInput
{
    const ExplainRequest &request;
    int height = 0, width = 0;
    int batch = 1;
    uint64_t seed = 0;
    torch::Tensor baseline; // like input
};

// The feature groups of Feature Ablation, LIME and KernelSHAP: a regular grid of cells x cells
// (Captum's feature mask as a grid) or about cells x cells superpixels of the input as a person
// sees it (any grouping of core/groups: slic, slico, seeds, lsc, felzenszwalb, and a
// transformer's tokens or a feature-group model's own groups when its card has them). They are
// the players of a CoalitionGame, the engine of the Groups tab.
struct FeatureGroups
{
    Grouping grouping;        // the label map in the input's frame
    int count = 0;            // groups
    torch::Tensor pixelGroup; // [H * W] int64: every pixel's group
    std::string description;  // "grid: 7 x 7", "slico: 47 groups (49 asked) ..."
};
FeatureGroups featureGroups(const PerturbationInput &in, const std::string &kind, int cells);
// The "groups" parameter of those methods (default grid), the count given by "cells".
ParamSpec groupsSpec();
// Their "fill" parameter: what a removed group becomes (default: the baseline).
ParamSpec fillSpec();

// Base of the perturbation family (Occlusion, Feature Ablation, RISE, LIME, KernelSHAP): methods
// that only run the model forward on perturbed copies of the input. Owns what they share: the
// request checks and timing (ExplanationBuilder), the parameters every one of them takes
// (baseline, batch, seed, after the method's own), the baseline, and the batched streaming of
// perturbed images through the model in inference mode, with a cancellation check before each
// batch, counted passes and progress (with the partial map when the method has one). A method
// declares its own parameters and implements attribute().
class PerturbationMethod : public Method
{
public:
    std::string family() const final { return "perturbation"; }
    std::vector<ParamSpec> params() const final;
    Explanation explain(const ExplainRequest &request, const JobContext &ctx) const final;

protected:
    virtual std::vector<ParamSpec> ownParams() const = 0;
    // For the help of the shared parameters: what one batch holds ("Occluded images") and what
    // the seed draws ("the masks and of the uniform-noise baseline").
    virtual std::string batchHolds() const = 0;
    virtual std::string seedDraws() const { return "the uniform-noise baseline"; }
    // Fills out.map, out.signedMap and any stats; perturbed images go through stream().
    virtual void attribute(const PerturbationInput &in, const JobContext &ctx,
                           Explanation &out) const = 0;

    // Builds images [end - begin, C, H, W] for items [begin, end) of a run.
    using MakeBatch = std::function<torch::Tensor(int64_t begin, int64_t end)>;
    // Receives the logits [end - begin, classes] of one batch; returns the map so far ([H, W],
    // streamed as a partial result) or an undefined tensor when the method has none yet.
    using TakeBatch =
        std::function<torch::Tensor(int64_t begin, int64_t end, const torch::Tensor &logits)>;
    // Runs `total` items in batches of in.batch; progress says "<done>/<total> <unit>".
    static void stream(const PerturbationInput &in, int64_t total, const std::string &unit,
                       const JobContext &ctx, Explanation &out, const MakeBatch &make,
                       const TakeBatch &take);
    // The logits of `images` in one inference-mode pass, counted in `out`.
    static torch::Tensor logits(const PerturbationInput &in, const torch::Tensor &images,
                                Explanation &out);

    // The coalition game of the feature groups: absent groups become what the "fill" parameter
    // says (the baseline, each group's own mean colour, or inpainting from the present groups),
    // coalitions run in batches of in.batch, the logits of every class cached per coalition.
    static CoalitionGame groupGame(const PerturbationInput &in, const FeatureGroups &groups);
    // Plays `total` coalitions on `game` in chunks of in.batch: make(begin, end) gives the
    // coalitions of items [begin, end), in order (so the batch size does not change them), and
    // take(begin, end, coalitions) receives them evaluated and returns the map so far ([H, W],
    // streamed as a partial result) or an undefined tensor. A coalition asked for twice, or
    // cached already, costs no further call; calls are counted in `out`; progress says
    // "<done>/<total> <unit>". Cancelling keeps what was evaluated in the game.
    using MakeCoalitions = std::function<std::vector<PlayerSet>(int64_t begin, int64_t end)>;
    using TakeCoalitions = std::function<torch::Tensor(int64_t begin, int64_t end,
                                                       const std::vector<PlayerSet> &coalitions)>;
    static void play(const PerturbationInput &in, CoalitionGame &game, int64_t total,
                     const std::string &unit, const JobContext &ctx, Explanation &out,
                     const MakeCoalitions &make, const TakeCoalitions &take);

    // The region-removal pipeline (Occlusion's sliding windows): for every region, the drop of
    // the target logit f(x) - f(x with the region replaced by the baseline). After each batch,
    // `partial(end, drops)` (drops of regions [0, end) filled) returns the map so far.
    static std::vector<float>
    regionDrops(const PerturbationInput &in, const std::vector<Region> &regions,
                const std::string &unit, const JobContext &ctx, Explanation &out,
                const std::function<torch::Tensor(size_t begin, size_t end,
                                                  const std::vector<float> &drops)> &partial);
};

} // namespace heatlens
