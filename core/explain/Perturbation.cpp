#include "core/explain/Perturbation.h"

#include "core/explain/Baselines.h"
#include "core/groups/Grouping.h"
#include "core/model/InputImage.h"

#include <algorithm>

namespace heatlens {

double unitUniform(std::mt19937_64 &rng)
{
    return double(rng() >> 11) * 0x1.0p-53;
}

std::vector<ParamSpec> PerturbationMethod::params() const
{
    auto specs = ownParams();
    specs.push_back(baselineParam());
    specs.push_back(batchParam(batchHolds()));
    specs.push_back(seedParam(seedDraws()));
    return specs;
}

Explanation PerturbationMethod::explain(const ExplainRequest &request, const JobContext &ctx) const
{
    ExplanationBuilder builder(request, id());
    const Params &p = request.params;
    const auto &x = request.input;
    PerturbationInput in{
        request, int(x.size(2)), int(x.size(3)), p.getInt("batch"), uint64_t(p.getInt("seed")), {}};
    in.baseline = makeBaseline(p.getString("baseline"), x, request.model->card(), in.seed);
    attribute(in, ctx, builder.out());
    return builder.finish(ctx);
}

torch::Tensor PerturbationMethod::logits(const PerturbationInput &in, const torch::Tensor &images,
                                         Explanation &out)
{
    out.forwardPasses += int(images.size(0));
    return in.request.model->predict(images);
}

void PerturbationMethod::stream(const PerturbationInput &in, int64_t total, const std::string &unit,
                                const JobContext &ctx, Explanation &out, const MakeBatch &make,
                                const TakeBatch &take)
{
    for (int64_t begin = 0; begin < total; begin += in.batch) {
        ctx.throwIfCancelled();
        const int64_t end = std::min(total, begin + int64_t(in.batch));
        const torch::Tensor map = take(begin, end, logits(in, make(begin, end), out));
        const double fraction = double(end) / double(total);
        const std::string text = std::to_string(end) + "/" + std::to_string(total) + " " + unit;
        if (map.defined())
            ctx.reportPartial(fraction, tensorToMap(map), text);
        else
            ctx.report(fraction, text);
    }
}

ParamSpec groupsSpec()
{
    return ParamSpec::choice("groups", "Groups", "grid",
                             {"grid", "slic", "slico", "seeds", "lsc", "felzenszwalb",
                              "scansegment", "tokens", "model"})
        .describe("The features: a grid of cells x cells, or about cells x cells superpixels of "
                  "the image (OpenCV ximgproc; deterministic), a transformer's patch tokens or a "
                  "feature-group model's own groups.");
}

ParamSpec fillSpec()
{
    return ParamSpec::choice("fill", "Removed groups", "baseline",
                             {"baseline", "group-mean", "inpaint"})
        .describe("What a removed group becomes: the baseline, each group's own mean colour "
                  "(lime_image's default), or OpenCV's inpainting from the kept groups (one "
                  "image at a time: slow).");
}

FeatureGroups featureGroups(const PerturbationInput &in, const std::string &kind, int cells)
{
    FeatureGroups g;
    const int h = in.height, w = in.width;
    if (kind == "grid") {
        g.grouping = gridGrouping(cv::Size(w, h), std::min(cells, h), std::min(cells, w));
    } else {
        GroupingOptions options;
        options.method = kind;
        options.groups = cells * cells;
        const auto &card = in.request.model->card();
        g.grouping = makeGrouping(inputToRgb8(in.request.input, card), options, &card);
    }
    const cv::Mat labels =
        g.grouping.labels.isContinuous() ? g.grouping.labels : g.grouping.labels.clone();
    g.count = g.grouping.count;
    g.pixelGroup = torch::from_blob(const_cast<int *>(labels.ptr<int>()), {int64_t(labels.total())},
                                    torch::kInt32)
                       .to(torch::kInt64);
    g.description = g.grouping.description;
    return g;
}

CoalitionGame PerturbationMethod::groupGame(const PerturbationInput &in,
                                            const FeatureGroups &groups)
{
    MaskerOptions masker;
    masker.fill = in.request.params.getString("fill");
    masker.canvas = in.baseline;
    return CoalitionGame(in.request.model, in.request.input, groups.grouping, masker, in.batch);
}

void PerturbationMethod::play(const PerturbationInput &in, CoalitionGame &game, int64_t total,
                              const std::string &unit, const JobContext &ctx, Explanation &out,
                              const MakeCoalitions &make, const TakeCoalitions &take)
{
    const JobContext quiet({}, ctx.cancelToken()); // progress is counted here, in items
    for (int64_t begin = 0; begin < total; begin += in.batch) {
        ctx.throwIfCancelled();
        const int64_t end = std::min(total, begin + int64_t(in.batch));
        const std::vector<PlayerSet> coalitions = make(begin, end);
        const int before = game.calls();
        game.evaluate(coalitions, quiet);
        out.forwardPasses += game.calls() - before;
        const torch::Tensor map = take(begin, end, coalitions);
        const double fraction = double(end) / double(total);
        const std::string text = std::to_string(end) + "/" + std::to_string(total) + " " + unit;
        if (map.defined())
            ctx.reportPartial(fraction, tensorToMap(map), text);
        else
            ctx.report(fraction, text);
    }
}

std::vector<float> PerturbationMethod::regionDrops(
    const PerturbationInput &in, const std::vector<Region> &regions, const std::string &unit,
    const JobContext &ctx, Explanation &out,
    const std::function<torch::Tensor(size_t begin, size_t end, const std::vector<float> &drops)>
        &partial)
{
    const auto &x = in.request.input;
    const int target = in.request.target;
    const float reference = logits(in, x, out)[0][target].item<float>();
    std::vector<float> drops(regions.size(), 0.0f);
    stream(
        in, int64_t(regions.size()), unit, ctx, out,
        [&](int64_t begin, int64_t end) {
            auto images = x.repeat({end - begin, 1, 1, 1});
            for (int64_t k = begin; k < end; ++k) {
                const auto &g = regions[size_t(k)];
                images[k - begin]
                    .slice(1, g.r0, g.r1)
                    .slice(2, g.c0, g.c1)
                    .copy_(in.baseline[0].slice(1, g.r0, g.r1).slice(2, g.c0, g.c1));
            }
            return images;
        },
        [&](int64_t begin, int64_t end, const torch::Tensor &scores) {
            const auto s = scores.select(1, target).contiguous();
            const float *v = s.data_ptr<float>();
            for (int64_t k = begin; k < end; ++k)
                drops[size_t(k)] = reference - v[k - begin];
            return partial(size_t(begin), size_t(end), drops);
        });
    return drops;
}

} // namespace heatlens
