#include "core/groups/GridCells.h"

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

torch::Tensor pixelRegionIndex(int h, int w, const std::vector<Region> &regions)
{
    auto index = torch::empty({h, w}, torch::kInt64);
    for (size_t k = 0; k < regions.size(); ++k)
        index.slice(0, regions[k].r0, regions[k].r1)
            .slice(1, regions[k].c0, regions[k].c1)
            .fill_(int64_t(k));
    return index.flatten();
}

} // namespace heatlens
