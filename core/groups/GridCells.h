#pragma once

#include <torch/script.h>

#include <vector>

namespace heatlens {

// The regular grid, the simplest grouping of an image's pixels: used by the perturbation methods
// (Occlusion's windows, Feature Ablation's and the surrogates' cells) and by the cell-wise
// faithfulness curves. The superpixel, patch-token and by-design groupings join it here.

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

} // namespace heatlens
