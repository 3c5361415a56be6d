#pragma once

#include "core/data/Dataset.h"

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace heatlens {

// Image files (PNG, JPEG, BMP, TIFF; 8- or 16-bit; gray, RGB or RGBA) listed at open without
// decoding; each file's signature is checked and unusable files are skipped with a warning.
class ImageFolderDataset : public Dataset
{
public:
    // Largest image load() accepts (checked from the file header before decoding when possible).
    static constexpr int kMaxSide = 16384;
    static constexpr double kMaxPixels = 100e6;

    // Class subfolders sorted by name give the label index (ImageFolder convention, files found
    // recursively inside each); a folder without subfolders is flat and its labels are -1.
    static std::unique_ptr<ImageFolderDataset> openFolder(const std::string &dir);
    // One path per line, relative to the list's folder, optionally followed by "<TAB>label".
    // Empty lines and lines starting with '#' are ignored. Throws if the list cannot be read.
    static std::unique_ptr<ImageFolderDataset> openList(const std::string &listFile);
    static std::unique_ptr<ImageFolderDataset> openFiles(const std::vector<std::string> &files);

    // Case-insensitive .png .jpg .jpeg .bmp .tif .tiff
    static bool hasImageExtension(const std::string &path);

    size_t size() const override { return m_entries.size(); }
    Sample load(size_t index) const override; // RGB(A) order, depth kept (CV_8U or CV_16U)
    int label(size_t index) const override { return entry(index).label; }
    std::string sampleId(size_t index) const override { return entry(index).id; }

private:
    struct Entry
    {
        std::string path;
        int label = -1;
        std::string id;
    };

    ImageFolderDataset() = default;
    void addCandidate(const std::string &path, int label, const std::string &id);
    void addFlatFolder(const std::string &dir);
    void addClassFolders(const std::string &dir, const std::vector<std::string> &classes);
    void addListLine(const std::string &line, const std::string &listDir, size_t lineNumber);
    const Entry &entry(size_t index) const;

    std::vector<Entry> m_entries;
};

} // namespace heatlens
