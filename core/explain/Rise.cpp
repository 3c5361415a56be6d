#include "core/explain/Baselines.h"
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
// x M + b (1 - M). Forward passes only, batched, in inference mode; the map streams in.
class Rise : public Method
{
public:
    std::string id() const override { return "rise"; }
    std::string name() const override { return "RISE"; }
    std::string family() const override { return "perturbation"; }
    std::string description() const override
    {
        return "Mean of random smooth masks weighted by the target probability they leave.";
    }
    std::vector<ParamSpec> params() const override
    {
        return {{"masks",
                 "Masks",
                 ParamType::Int,
                 2000,
                 1,
                 100000,
                 {},
                 "Random masks (one forward pass each); the map's noise falls as 1/sqrt(masks)."},
                {"cells",
                 "Cells per side",
                 ParamType::Int,
                 7,
                 1,
                 256,
                 {},
                 "Each mask is a random cells x cells grid, smoothly upsampled: fewer cells, "
                 "coarser blobs."},
                {"keep",
                 "Keep probability",
                 ParamType::Double,
                 0.5,
                 0.01,
                 1.0,
                 {},
                 "Probability that a grid cell of a mask keeps the image."},
                baselineParam(),
                batchParam("Masked images"),
                seedParam("the masks and of the uniform-noise baseline")};
    }

    Explanation explain(const ExplainRequest &request, const JobContext &ctx) const override
    {
        ExplanationBuilder builder(request, id());
        Explanation &out = builder.out();
        const auto &p = request.params;
        const auto &x = request.input;
        const int h = int(x.size(2)), w = int(x.size(3));
        const int masks = p.getInt("masks"), cells = p.getInt("cells"), batch = p.getInt("batch");
        const double keep = p.getDouble("keep");
        const auto baseline = makeBaseline(p.getString("baseline"), x, request.model->card(),
                                           uint64_t(p.getInt("seed")));
        // The paper's geometry: cell size ceil(H / s), upsampled size (s + 1) cells, so that
        // every shift in [0, cell) still covers the image.
        const int cellH = (h + cells - 1) / cells, cellW = (w + cells - 1) / cells;
        const int64_t upH = int64_t(cells + 1) * cellH, upW = int64_t(cells + 1) * cellW;

        // One generator drawn mask after mask: mask i depends on the seed and i only, so the
        // batch size does not change the masks.
        std::mt19937_64 rng(uint64_t(p.getInt("seed")));
        auto sum = torch::zeros({h, w}, torch::kFloat64);
        for (int begin = 0; begin < masks; begin += batch) {
            ctx.throwIfCancelled();
            const int end = std::min(masks, begin + batch), n = end - begin;
            auto grids = torch::empty({n, 1, cells, cells});
            float *g = grids.data_ptr<float>();
            std::vector<std::pair<int64_t, int64_t>> shifts;
            for (int i = 0; i < n; ++i) {
                for (int k = 0; k < cells * cells; ++k)
                    g[int64_t(i) * cells * cells + k] = unitUniform(rng) < keep ? 1.0f : 0.0f;
                const auto dy = int64_t(unitUniform(rng) * cellH),
                           dx = int64_t(unitUniform(rng) * cellW);
                shifts.emplace_back(dy, dx);
            }
            const auto up = torch::upsample_bilinear2d(grids, {upH, upW}, false);
            auto m = torch::empty({n, 1, h, w});
            for (int i = 0; i < n; ++i)
                m[i].copy_(up[i]
                               .slice(1, shifts[size_t(i)].first, shifts[size_t(i)].first + h)
                               .slice(2, shifts[size_t(i)].second, shifts[size_t(i)].second + w));
            const auto images = x * m + baseline * (1.0f - m);
            const auto scores = torch::softmax(request.model->predict(images), 1)
                                    .select(1, request.target)
                                    .to(torch::kFloat64);
            out.forwardPasses += n;
            sum += (scores.view({n, 1, 1}) * m.select(1, 0).to(torch::kFloat64)).sum(0);
            ctx.reportPartial(double(end) / double(masks), tensorToMap(sum / (end * keep)),
                              std::to_string(end) + "/" + std::to_string(masks) + " masks");
        }
        out.map = tensorToMap(sum / (masks * keep));
        out.signedMap = false;
        return builder.finish(ctx);
    }
};

} // namespace

std::unique_ptr<Method> makeRise()
{
    return std::make_unique<Rise>();
}

} // namespace heatlens
