#include "core/explain/Perturbation.h"

namespace heatlens {

std::vector<Region> gridCells(int h, int w, int cellRows, int cellCols)
{
    auto edges = [](int size, int cells) {
        std::vector<int> e;
        for (int i = 0; i <= cells; ++i)
            e.push_back(int(int64_t(i) * size / cells));
        return e;
    };
    const auto rows = edges(h, cellRows), cols = edges(w, cellCols);
    std::vector<Region> cells;
    for (int i = 0; i < cellRows; ++i)
        for (int j = 0; j < cellCols; ++j)
            cells.push_back(
                {rows[size_t(i)], rows[size_t(i) + 1], cols[size_t(j)], cols[size_t(j) + 1]});
    return cells;
}

std::vector<float> regionDrops(
    const ExplainRequest &request, const torch::Tensor &baseline,
    const std::vector<Region> &regions, int batch, const JobContext &ctx, Explanation &out,
    const std::function<void(size_t begin, size_t end, const std::vector<float> &drops)> &onBatch)
{
    const auto &x = request.input;
    const float reference = request.model->predict(x)[0][request.target].item<float>();
    out.forwardPasses += 1;
    std::vector<float> drops(regions.size(), 0.0f);
    for (size_t begin = 0; begin < regions.size(); begin += size_t(batch)) {
        ctx.throwIfCancelled();
        const size_t end = std::min(regions.size(), begin + size_t(batch));
        auto images = x.repeat({int64_t(end - begin), 1, 1, 1});
        for (size_t k = begin; k < end; ++k) {
            const auto &g = regions[k];
            images[int64_t(k - begin)]
                .slice(1, g.r0, g.r1)
                .slice(2, g.c0, g.c1)
                .copy_(baseline[0].slice(1, g.r0, g.r1).slice(2, g.c0, g.c1));
        }
        const auto scores = request.model->predict(images).select(1, request.target).contiguous();
        out.forwardPasses += int(end - begin);
        const float *s = scores.data_ptr<float>();
        for (size_t k = begin; k < end; ++k)
            drops[k] = reference - s[k - begin];
        onBatch(begin, end, drops);
    }
    return drops;
}

torch::Tensor pixelRegionIndex(int h, int w, const std::vector<Region> &regions)
{
    auto index = torch::empty({h, w}, torch::kInt64);
    for (size_t k = 0; k < regions.size(); ++k)
        index.slice(0, regions[k].r0, regions[k].r1)
            .slice(1, regions[k].c0, regions[k].c1)
            .fill_(int64_t(k));
    return index.flatten();
}

double unitUniform(std::mt19937_64 &rng)
{
    return double(rng() >> 11) * 0x1.0p-53;
}

} // namespace heatlens
