#pragma once

#include "core/data/Dataset.h"

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace heatlens {

// IDX (MNIST-style) uint8 images, raw or gzip-compressed. Opening reads only the headers and the
// labels; a split's pixel payload is decompressed once, on its first load(), and kept in memory.
class IdxDataset : public Dataset
{
public:
    // `path`: one "*-images-idx3-ubyte[.gz]" file (labels beside it if present) or a folder with
    // such files (every split: train first, then t10k/test, then the others alphabetically).
    // Throws std::runtime_error naming the offending file.
    explicit IdxDataset(const std::string &path);
    ~IdxDataset() override;

    size_t size() const override;
    Sample load(size_t index) const override;
    int label(size_t index) const override;
    std::string sampleId(size_t index) const override;

    // True when `dir` directly holds at least one "*idx3-ubyte*" file.
    static bool folderHasIdxImages(const std::string &dir);
    // True when `path` is named "*idx3-ubyte*" or starts with the IDX uint8-images magic.
    static bool looksLikeIdxImages(const std::string &path);

private:
    struct Split;

    void addSplit(const std::string &imagesPath);
    void assignClassNames();
    std::pair<Split *, size_t> locate(size_t index) const;

    std::vector<std::unique_ptr<Split>> m_splits;
    std::vector<size_t> m_ends; // cumulative sample counts, one per split
};

} // namespace heatlens
