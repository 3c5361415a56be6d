#pragma once

#include "core/explain/MethodSupport.h"

#include <functional>
#include <vector>

namespace heatlens {

// A rectangle of the input, all channels: rows [r0, r1), columns [c0, c1).
struct Region
{
    int r0, r1, c0, c1;
};

// A grid of cellRows x cellCols cells that partitions an h x w image, row by row; cell edges
// fall at floor(i * size / cells), so uneven sizes differ by at most one pixel. Callers keep the
// counts within the size (a cell of zero pixels would carry no attribution).
std::vector<Region> gridCells(int h, int w, int cellRows, int cellCols);

// The pipeline of the region-removal perturbation methods (Occlusion, Feature Ablation): for
// every region, the drop of the target logit f(x) - f(x with the region replaced by `baseline`),
// computed in batches of `batch` inference-mode forward passes (counted in `out`), checking for
// cancellation before each batch. After each batch, `onBatch(begin, end, drops)` receives the
// drops of regions [begin, end) so a method can accumulate and stream its partial map.
std::vector<float> regionDrops(
    const ExplainRequest &request, const torch::Tensor &baseline,
    const std::vector<Region> &regions, int batch, const JobContext &ctx, Explanation &out,
    const std::function<void(size_t begin, size_t end, const std::vector<float> &drops)> &onBatch);

} // namespace heatlens
