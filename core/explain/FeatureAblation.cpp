#include "core/explain/Perturbation.h"

namespace heatlens {

namespace {

// Captum's FeatureAblation over feature groups: the image is cut into a regular grid of cells
// (the groups), each cell in turn is replaced by the baseline (all channels), and every pixel of
// the cell receives the drop of the target logit. For an additive model the map is exact: each
// cell carries the sum of its pixels' contributions. The map streams in as cells complete.
class FeatureAblation : public PerturbationMethod
{
public:
    std::string id() const override { return "feature-ablation"; }
    std::string name() const override { return "Feature Ablation"; }
    std::string description() const override
    {
        return "Drop of the target logit when each grid cell in turn is replaced by a baseline.";
    }

protected:
    std::vector<ParamSpec> ownParams() const override
    {
        return {ParamSpec::integer("cells", "Cells per side", 7)
                    .range(1, 256)
                    .describe("The image is cut into cells x cells groups (at most one pixel "
                              "each; uneven sizes are spread as evenly as possible).")};
    }
    std::string batchHolds() const override { return "Ablated images"; }

    void attribute(const PerturbationInput &in, const JobContext &ctx,
                   Explanation &out) const override
    {
        const int h = in.height, w = in.width;
        const int cells = in.request.params.getInt("cells");
        const auto regions = gridCells(h, w, std::min(cells, h), std::min(cells, w));
        auto map = torch::zeros({h, w});
        regionDrops(in, regions, "cells", ctx, out,
                    [&](size_t begin, size_t end, const std::vector<float> &drops) {
                        for (size_t k = begin; k < end; ++k) {
                            const auto &g = regions[k];
                            map.slice(0, g.r0, g.r1).slice(1, g.c0, g.c1).fill_(drops[k]);
                        }
                        return map;
                    });
        out.map = tensorToMap(map);
        out.signedMap = true;
    }
};

} // namespace

std::unique_ptr<Method> makeFeatureAblation()
{
    return std::make_unique<FeatureAblation>();
}

} // namespace heatlens
