#pragma once

#include "core/data/Sample.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace heatlens {

// A sample could not be decoded (corrupt or unreadable file). The message names the file.
class SampleError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

// A lazily-decoded, indexable collection of labelled images. Opening reads only what is needed
// to list the samples; load() decodes one. Implementations are safe to call load() from
// several threads at once.
class Dataset
{
public:
    virtual ~Dataset() = default;

    virtual size_t size() const = 0;
    virtual Sample load(size_t index) const = 0; // throws SampleError
    virtual int label(size_t index) const = 0;   // without decoding; -1 if unknown
    virtual std::string sampleId(size_t index) const = 0;

    // Class names by label index (may be empty when the source has none).
    const std::vector<std::string> &classNames() const { return m_classNames; }
    // Files skipped or problems found while opening, one line each.
    const std::vector<std::string> &warnings() const { return m_warnings; }
    const std::string &source() const { return m_source; }

protected:
    std::vector<std::string> m_classNames;
    std::vector<std::string> m_warnings;
    std::string m_source;
};

// Opens `path`: an IDX images file (raw or .gz, labels found beside it), a folder holding IDX
// files (all "*-images-idx3-ubyte*" splits, e.g. Fashion-MNIST train + t10k), an image folder
// (class subfolders, ImageFolder convention, or a flat folder), or a text file listing image
// paths (one per line, optionally "path<TAB>label"). Throws std::runtime_error naming the path.
std::unique_ptr<Dataset> openDataset(const std::string &path);

// A dataset over explicit image files (PNG, JPEG, BMP, TIFF); unreadable entries are skipped
// with a warning.
std::unique_ptr<Dataset> openImageFiles(const std::vector<std::string> &files);

} // namespace heatlens
