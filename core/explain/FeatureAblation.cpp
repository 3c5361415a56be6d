#include "core/explain/Perturbation.h"

namespace heatlens {

namespace {

// Captum's FeatureAblation over feature groups: the image is cut into groups (a regular grid of
// cells, or superpixels: see FeatureGroups), each group in turn is removed (replaced by the
// baseline in all channels, or by the fill chosen), and every pixel of the group receives the
// drop of the target logit, v(all) - v(all without the group) of the coalition game the Groups
// tab plays. For an additive model and the baseline fill the map is exact: each group carries
// the sum of its pixels' contributions. The map streams in as groups complete.
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
                groupsSpec(), fillSpec()};
    }
    std::string batchHolds() const override { return "Ablated images"; }

    void attribute(const PerturbationInput &in, const JobContext &ctx,
                   Explanation &out) const override
    {
        const auto &p = in.request.params;
        const FeatureGroups groups = featureGroups(in, p.getString("groups"), p.getInt("cells"));
        CoalitionGame game = groupGame(in, groups);
        const int target = in.request.target, n = groups.count;
        // Item 0 is the input itself, item k the input without group k - 1.
        const PlayerSet all = PlayerSet::all(n);
        std::vector<float> drops(size_t(n), 0.0f);
        auto mapOf = [&] {
            return torch::from_blob(drops.data(), {n}, torch::kFloat32)
                .index_select(0, groups.pixelGroup)
                .view({in.height, in.width});
        };
        play(
            in, game, int64_t(n) + 1, "images", ctx, out,
            [&](int64_t begin, int64_t end) {
                std::vector<PlayerSet> coalitions;
                for (int64_t k = begin; k < end; ++k)
                    coalitions.push_back(k == 0 ? all : PlayerSet(all).remove(int(k - 1)));
                return coalitions;
            },
            [&](int64_t begin, int64_t end, const std::vector<PlayerSet> &coalitions) {
                const double reference = game.value(all, target);
                for (int64_t k = std::max<int64_t>(begin, 1); k < end; ++k)
                    drops[size_t(k - 1)] =
                        float(reference - game.value(coalitions[size_t(k - begin)], target));
                return mapOf();
            });
        out.map = tensorToMap(mapOf());
        out.signedMap = true;
        out.stats["groups"] = n;
    }
};

} // namespace

std::unique_ptr<Method> makeFeatureAblation()
{
    return std::make_unique<FeatureAblation>();
}

} // namespace heatlens
