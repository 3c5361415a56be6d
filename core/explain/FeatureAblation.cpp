#include "core/explain/Baselines.h"
#include "core/explain/Perturbation.h"

namespace heatlens {

namespace {

// Captum's FeatureAblation over feature groups: the image is cut into a regular grid of cells
// (the groups; superpixel and token groupings come with core/groups), each cell in turn is
// replaced by the baseline (all channels), and every pixel of the cell receives the drop of the
// target logit. For an additive model the map is exact: each cell carries the sum of its pixels'
// contributions. Forward passes only, batched, in inference mode; the map streams in as cells
// complete.
class FeatureAblation : public Method
{
public:
    std::string id() const override { return "feature-ablation"; }
    std::string name() const override { return "Feature Ablation"; }
    std::string family() const override { return "perturbation"; }
    std::string description() const override
    {
        return "Drop of the target logit when each grid cell in turn is replaced by a baseline.";
    }
    std::vector<ParamSpec> params() const override
    {
        return {{"cells",
                 "Cells per side",
                 ParamType::Int,
                 7,
                 1,
                 256,
                 {},
                 "The image is cut into cells x cells groups (at most one pixel each; uneven "
                 "sizes are spread as evenly as possible)."},
                baselineParam(),
                batchParam("Ablated images"),
                seedParam("the uniform-noise baseline")};
    }

    Explanation explain(const ExplainRequest &request, const JobContext &ctx) const override
    {
        ExplanationBuilder builder(request, id());
        Explanation &out = builder.out();
        const auto &p = request.params;
        const auto &x = request.input;
        const int h = int(x.size(2)), w = int(x.size(3));
        const int cellRows = std::min(p.getInt("cells"), h),
                  cellCols = std::min(p.getInt("cells"), w);
        const auto baseline = makeBaseline(p.getString("baseline"), x, request.model->card(),
                                           uint64_t(p.getInt("seed")));
        const auto cells = gridCells(h, w, cellRows, cellCols);

        auto map = torch::zeros({h, w});
        regionDrops(request, baseline, cells, p.getInt("batch"), ctx, out,
                    [&](size_t begin, size_t end, const std::vector<float> &drops) {
                        for (size_t k = begin; k < end; ++k) {
                            const auto &g = cells[k];
                            map.slice(0, g.r0, g.r1).slice(1, g.c0, g.c1).fill_(drops[k]);
                        }
                        ctx.reportPartial(double(end) / double(cells.size()), tensorToMap(map),
                                          std::to_string(end) + "/" + std::to_string(cells.size()) +
                                              " cells");
                    });
        out.map = tensorToMap(map);
        out.signedMap = true;
        return builder.finish(ctx);
    }
};

} // namespace

std::unique_ptr<Method> makeFeatureAblation()
{
    return std::make_unique<FeatureAblation>();
}

} // namespace heatlens
