#include "core/explain/Perturbation.h"

#include <cmath>
#include <random>

namespace heatlens {

namespace {

// RISE (Petsiuk, Das & Saenko 2018): the target's softmax probability is measured on many
// randomly masked copies of the input, and each pixel receives the probability-weighted mean
// of its mask values, sum_i score_i M_i / (N p). Since E[M] = p, a model that ignores the input
// gets the constant map of its probability. The masks are the paper's smooth shifted ones: a
// random binary cells x cells grid (each cell kept with probability p), upsampled bilinearly to
// (cells + 1) cell sizes and cropped at a random shift within one cell, so mask edges fall
// anywhere rather than on a fixed grid. A masked pixel is blended toward the baseline,
// x M + b (1 - M). The map streams in as masks complete.
class Rise : public PerturbationMethod
{
public:
    std::string id() const override { return "rise"; }
    std::string name() const override { return "RISE"; }
    std::string description() const override
    {
        return "Mean of random smooth masks weighted by the target probability they leave.";
    }

protected:
    std::vector<ParamSpec> ownParams() const override
    {
        return {ParamSpec::integer("masks", "Masks", 2000)
                    .range(1, 100000)
                    .describe("Random masks (one forward pass each); the map's noise falls as "
                              "1/sqrt(masks)."),
                ParamSpec::integer("cells", "Cells per side", 7)
                    .range(1, 256)
                    .describe("Each mask is a random cells x cells grid, smoothly upsampled: "
                              "fewer cells, coarser blobs."),
                ParamSpec::real("keep", "Keep probability", 0.5)
                    .range(0.01, 1.0)
                    .describe("Probability that a grid cell of a mask keeps the image.")};
    }
    std::string batchHolds() const override { return "Masked images"; }
    std::string seedDraws() const override { return "the masks and of the uniform-noise baseline"; }

    void attribute(const PerturbationInput &in, const JobContext &ctx,
                   Explanation &out) const override
    {
        const int h = in.height, w = in.width;
        const int masks = in.request.params.getInt("masks"),
                  cells = in.request.params.getInt("cells");
        const double keep = in.request.params.getDouble("keep");
        // The paper's geometry: cell size ceil(H / s), upsampled size (s + 1) cells, so that
        // every shift in [0, cell) still covers the image.
        const int cellH = (h + cells - 1) / cells, cellW = (w + cells - 1) / cells;
        const int64_t upH = int64_t(cells + 1) * cellH, upW = int64_t(cells + 1) * cellW;

        // One generator drawn mask after mask: mask i depends on the seed and i only, so the
        // batch size does not change the masks.
        std::mt19937_64 rng(in.seed);
        auto sum = torch::zeros({h, w}, torch::kFloat64);
        torch::Tensor m; // the masks of the batch in flight, [n, 1, H, W]
        stream(
            in, masks, "masks", ctx, out,
            [&](int64_t begin, int64_t end) {
                const int64_t n = end - begin;
                auto grids = torch::empty({n, 1, cells, cells});
                float *g = grids.data_ptr<float>();
                std::vector<std::pair<int64_t, int64_t>> shifts;
                for (int64_t i = 0; i < n; ++i) {
                    for (int k = 0; k < cells * cells; ++k)
                        g[i * cells * cells + k] = unitUniform(rng) < keep ? 1.0f : 0.0f;
                    const auto dy = int64_t(unitUniform(rng) * cellH),
                               dx = int64_t(unitUniform(rng) * cellW);
                    shifts.emplace_back(dy, dx);
                }
                const auto up = torch::upsample_bilinear2d(grids, {upH, upW}, false);
                m = torch::empty({n, 1, h, w});
                for (int64_t i = 0; i < n; ++i) {
                    const auto [dy, dx] = shifts[size_t(i)];
                    m[i].copy_(up[i].slice(1, dy, dy + h).slice(2, dx, dx + w));
                }
                return in.request.input * m + in.baseline * (1.0f - m);
            },
            [&](int64_t, int64_t end, const torch::Tensor &logits) {
                const auto scores =
                    torch::softmax(logits, 1).select(1, in.request.target).to(torch::kFloat64);
                sum += (scores.view({-1, 1, 1}) * m.select(1, 0).to(torch::kFloat64)).sum(0);
                return sum / (double(end) * keep);
            });
        out.map = tensorToMap(sum / (masks * keep));
        out.signedMap = false;
    }
};

} // namespace

std::unique_ptr<Method> makeRise()
{
    return std::make_unique<Rise>();
}

} // namespace heatlens
