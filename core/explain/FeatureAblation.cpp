#include "core/explain/Perturbation.h"

namespace heatlens {

namespace {

// Captum's FeatureAblation over feature groups: the image is cut into groups (a regular grid of
// cells, or superpixels: see FeatureGroups), each group in turn is replaced by the baseline (all
// channels), and every pixel of the group receives the drop of the target logit. For an additive
// model the map is exact: each group carries the sum of its pixels' contributions. The map
// streams in as groups complete.
class FeatureAblation : public PerturbationMethod
{
public:
    std::string id() const override { return "feature-ablation"; }
    std::string name() const override { return "Feature Ablation"; }
    std::string description() const override
    {
        return "Drop of the target logit when each grid cell or superpixel in turn is replaced "
               "by a baseline.";
    }

protected:
    std::vector<ParamSpec> ownParams() const override
    {
        return {ParamSpec::integer("cells", "Cells per side", 7)
                    .range(1, 256)
                    .describe("The image is cut into cells x cells groups (at most one pixel "
                              "each; uneven sizes are spread as evenly as possible), or about "
                              "that many superpixels."),
                groupsSpec()};
    }
    std::string batchHolds() const override { return "Ablated images"; }

    void attribute(const PerturbationInput &in, const JobContext &ctx,
                   Explanation &out) const override
    {
        const int h = in.height, w = in.width;
        const auto &p = in.request.params;
        const FeatureGroups groups = featureGroups(in, p.getString("groups"), p.getInt("cells"));
        auto map = torch::zeros({h, w});
        if (!groups.cells.empty()) {
            regionDrops(in, groups.cells, "cells", ctx, out,
                        [&](size_t begin, size_t end, const std::vector<float> &drops) {
                            for (size_t k = begin; k < end; ++k) {
                                const auto &g = groups.cells[k];
                                map.slice(0, g.r0, g.r1).slice(1, g.c0, g.c1).fill_(drops[k]);
                            }
                            return map;
                        });
        } else {
            map = groupDrops(in, groups, ctx, out);
        }
        out.map = tensorToMap(map);
        out.signedMap = true;
        out.stats["groups"] = groups.count;
    }

private:
    // Each group in turn blended to the baseline; the drops painted on their pixels.
    static torch::Tensor groupDrops(const PerturbationInput &in, const FeatureGroups &groups,
                                    const JobContext &ctx, Explanation &out)
    {
        const auto &x = in.request.input;
        const int target = in.request.target;
        const float reference = logits(in, x, out)[0][target].item<float>();
        auto drops = torch::zeros({groups.count});
        stream(
            in, groups.count, "groups", ctx, out,
            [&](int64_t begin, int64_t end) {
                const auto ids = torch::arange(begin, end).unsqueeze(1);
                const auto absent = (groups.pixelGroup.unsqueeze(0) == ids)
                                        .to(x.scalar_type())
                                        .view({end - begin, 1, in.height, in.width});
                return x * (1.0 - absent) + in.baseline * absent;
            },
            [&](int64_t begin, int64_t end, const torch::Tensor &scores) {
                drops.slice(0, begin, end).copy_(reference - scores.select(1, target));
                return drops.index_select(0, groups.pixelGroup).view({in.height, in.width});
            });
        return drops.index_select(0, groups.pixelGroup).view({in.height, in.width});
    }
};

} // namespace

std::unique_ptr<Method> makeFeatureAblation()
{
    return std::make_unique<FeatureAblation>();
}

} // namespace heatlens
