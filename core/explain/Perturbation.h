#pragma once

#include "core/explain/MethodSupport.h"

#include <functional>
#include <random>
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

// For every pixel of an h x w image (row-major), the index of the region holding it: [h * w]
// int64. The regions must partition the image (as gridCells' do).
torch::Tensor pixelRegionIndex(int h, int w, const std::vector<Region> &regions);

// Uniform in [0, 1) from the top 53 bits: the same numbers with every standard library (the
// std:: distributions are implementation-defined), so a seed means the same samples everywhere.
double unitUniform(std::mt19937_64 &rng);

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
