#include "core/data/Dataset.h"
#include "core/data/IdxDataset.h"
#include "core/data/ImageFolderDataset.h"

#include <cctype>
#include <filesystem>
#include <stdexcept>

namespace fs = std::filesystem;

namespace heatlens {

namespace {

std::string lowerExtension(const std::string &path)
{
    std::string ext = fs::path(path).extension().string();
    for (char &c : ext)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return ext;
}

// An empty dataset is an error; the first warning usually says why.
std::unique_ptr<Dataset> nonEmpty(std::unique_ptr<Dataset> dataset, const std::string &path)
{
    if (dataset->size() > 0)
        return dataset;
    std::string message = "no images found in " + path;
    if (!dataset->warnings().empty())
        message += " (" + dataset->warnings().front() + ")";
    throw std::runtime_error(message);
}

std::unique_ptr<Dataset> openFolder(const std::string &path)
{
    if (IdxDataset::folderHasIdxImages(path))
        return std::make_unique<IdxDataset>(path);
    return nonEmpty(ImageFolderDataset::openFolder(path), path);
}

std::unique_ptr<Dataset> openFile(const std::string &path)
{
    const std::string ext = lowerExtension(path);
    if (ext == ".txt" || ext == ".lst")
        return nonEmpty(ImageFolderDataset::openList(path), path);
    if (ImageFolderDataset::hasImageExtension(path))
        return nonEmpty(ImageFolderDataset::openFiles({path}), path);
    if (IdxDataset::looksLikeIdxImages(path))
        return std::make_unique<IdxDataset>(path);
    throw std::runtime_error("unknown dataset file kind: " + path +
                             " (expected an IDX images file, an image, a folder or a .txt/.lst "
                             "list of images)");
}

} // namespace

std::unique_ptr<Dataset> openDataset(const std::string &path)
{
    std::error_code ec;
    if (path.empty() || !fs::exists(path, ec))
        throw std::runtime_error("dataset path does not exist: " + path);
    try {
        return fs::is_directory(path, ec) ? openFolder(path) : openFile(path);
    } catch (const fs::filesystem_error &e) {
        throw std::runtime_error("cannot read dataset " + path + ": " + e.what());
    }
}

std::unique_ptr<Dataset> openImageFiles(const std::vector<std::string> &files)
{
    return ImageFolderDataset::openFiles(files);
}

} // namespace heatlens
