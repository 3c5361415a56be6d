#include "core/data/ImageFolderDataset.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string_view>

namespace fs = std::filesystem;
using namespace std::string_view_literals;

namespace heatlens {

namespace {

enum class ImageKind { Unknown, Png, Jpeg, Bmp, Tiff };

struct Dims
{
    uint64_t width = 0;
    uint64_t height = 0;
};

constexpr size_t kJpegScanBytes = 256 * 1024;

std::string lower(std::string text)
{
    for (char &c : text)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

bool isHidden(const fs::path &path)
{
    return path.filename().string().rfind('.', 0) == 0;
}

// Up to `n` bytes at `offset` (fewer at end of file).
std::string readAt(std::ifstream &in, uint64_t offset, size_t n)
{
    std::string bytes(n, '\0');
    in.clear();
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(bytes.data(), static_cast<std::streamsize>(n));
    bytes.resize(in ? n : static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
    return bytes;
}

// Unsigned integers read from a byte string in either byte order.
struct Bytes
{
    const std::string &data;
    bool little = false;

    uint32_t at(size_t i) const { return static_cast<uint8_t>(data[i]); }
    uint32_t u16(size_t i) const
    {
        return little ? at(i + 1) << 8 | at(i) : at(i) << 8 | at(i + 1);
    }
    uint32_t u32(size_t i) const
    {
        return little ? u16(i + 2) << 16 | u16(i) : u16(i) << 16 | u16(i + 2);
    }
};

ImageKind sniff(const std::string &head)
{
    auto startsWith = [&](std::string_view sig) { return head.compare(0, sig.size(), sig) == 0; };
    if (startsWith("\x89PNG\r\n\x1a\n"sv))
        return ImageKind::Png;
    if (startsWith("\xFF\xD8\xFF"sv))
        return ImageKind::Jpeg;
    if (startsWith("BM"sv))
        return ImageKind::Bmp;
    if (startsWith("II*\0"sv) || startsWith("MM\0*"sv))
        return ImageKind::Tiff;
    return ImageKind::Unknown;
}

std::optional<Dims> pngDims(const std::string &head)
{
    if (head.size() < 24 || head.compare(12, 4, "IHDR") != 0)
        return std::nullopt;
    return Dims{Bytes{head}.u32(16), Bytes{head}.u32(20)};
}

std::optional<Dims> bmpDims(const std::string &head)
{
    const Bytes bytes{head, true};
    if (head.size() < 26)
        return std::nullopt;
    if (bytes.u32(14) == 12) // BITMAPCOREHEADER: 16-bit sizes
        return Dims{bytes.u16(18), bytes.u16(20)};
    const auto width = static_cast<int32_t>(bytes.u32(18));
    const auto height = static_cast<int32_t>(bytes.u32(22)); // negative: top-down rows
    if (width <= 0)
        return std::nullopt;
    return Dims{uint64_t(width), uint64_t(std::abs(int64_t(height)))};
}

bool isJpegFrameMarker(uint32_t marker)
{
    return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

// Walks the JPEG segments up to the first start-of-frame, which holds the size.
std::optional<Dims> jpegDims(const std::string &head)
{
    const Bytes bytes{head};
    size_t i = 2;
    while (i + 9 < head.size() && bytes.at(i) == 0xFF) {
        const uint32_t marker = bytes.at(i + 1);
        if (isJpegFrameMarker(marker))
            return Dims{bytes.u16(i + 7), bytes.u16(i + 5)};
        if (marker == 0xFF || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8))
            i += marker == 0xFF ? 1 : 2; // fill byte or a marker without a length
        else
            i += 2 + bytes.u16(i + 2);
    }
    return std::nullopt;
}

// ImageWidth (256) and ImageLength (257) among 12-byte TIFF IFD entries (SHORT or LONG values).
std::optional<Dims> tiffSizeTags(const Bytes &entries)
{
    Dims dims;
    for (size_t e = 0; e + 12 <= entries.data.size(); e += 12) {
        const uint32_t value = entries.u16(e + 2) == 3 ? entries.u16(e + 8) : entries.u32(e + 8);
        if (entries.u16(e) == 256)
            dims.width = value;
        else if (entries.u16(e) == 257)
            dims.height = value;
    }
    return dims.width && dims.height ? std::optional<Dims>(dims) : std::nullopt;
}

// The first IFD of a classic TIFF, which may lie anywhere in the file.
std::optional<Dims> tiffDims(std::ifstream &in, const std::string &head)
{
    if (head.size() < 8)
        return std::nullopt;
    const bool little = head[0] == 'I';
    const uint32_t ifd = Bytes{head, little}.u32(4);
    const std::string count = readAt(in, ifd, 2);
    if (count.size() < 2)
        return std::nullopt;
    const size_t entryBytes = size_t(Bytes{count, little}.u16(0)) * 12;
    const std::string entries = readAt(in, uint64_t(ifd) + 2, entryBytes);
    return tiffSizeTags(Bytes{entries, little});
}

// The image size from the file header, or nothing when the header cannot be parsed.
std::optional<Dims> headerDims(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    std::string head = readAt(in, 0, 32);
    const ImageKind kind = sniff(head);
    if (kind == ImageKind::Jpeg) // the size is in a frame header after the metadata segments
        head = readAt(in, 0, kJpegScanBytes);
    switch (kind) {
    case ImageKind::Png:
        return pngDims(head);
    case ImageKind::Jpeg:
        return jpegDims(head);
    case ImageKind::Bmp:
        return bmpDims(head);
    case ImageKind::Tiff:
        return tiffDims(in, head);
    default:
        return std::nullopt;
    }
}

void checkNotTooLarge(const std::string &path, Dims dims)
{
    const bool tooLarge = dims.width > uint64_t(ImageFolderDataset::kMaxSide) ||
                          dims.height > uint64_t(ImageFolderDataset::kMaxSide) ||
                          double(dims.width) * double(dims.height) > ImageFolderDataset::kMaxPixels;
    if (tooLarge)
        throw SampleError(path + ": image too large: " + std::to_string(dims.width) + "x" +
                          std::to_string(dims.height) + " (limit " +
                          std::to_string(ImageFolderDataset::kMaxSide) + " per side, " +
                          std::to_string(int(ImageFolderDataset::kMaxPixels / 1e6)) +
                          " megapixels)");
}

// The whole file; empty when it cannot be read.
std::string readWhole(const std::string &path)
{
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in)
        return {};
    return readAt(in, 0, size_t(in.tellg()));
}

cv::Mat decode(const std::string &path, const std::string &bytes)
{
    try {
        const cv::Mat buffer(1, int(bytes.size()), CV_8UC1, const_cast<char *>(bytes.data()));
        return cv::imdecode(buffer, cv::IMREAD_UNCHANGED); // depth and alpha, no EXIF rotation
    } catch (const cv::Exception &e) {
        throw SampleError(path + ": cannot decode image: " + e.what());
    }
}

// libjpeg decodes a truncated file with an anonymous warning on stderr and fills the missing
// rows with grey. After the first start-of-scan, 0xFF 0xD9 occurs only as the end-of-image
// marker (entropy-coded 0xFF bytes are followed by 0x00 or a restart marker), so its absence
// means the data stops early.
std::string jpegProblem(const std::string &bytes)
{
    const Bytes b{bytes};
    size_t i = 2, scan = std::string::npos;
    while (i + 4 <= bytes.size() && b.at(i) == 0xFF) {
        const uint32_t marker = b.at(i + 1);
        if (marker == 0xDA) {
            scan = i;
            break;
        }
        if (marker == 0xFF || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8))
            i += marker == 0xFF ? 1 : 2;
        else
            i += 2 + b.u16(i + 2);
    }
    if (scan == std::string::npos)
        return "the JPEG file has no image data (truncated?)";
    if (bytes.find("\xFF\xD9"sv, scan) == std::string::npos)
        return "the JPEG data ends before its end-of-image marker (truncated file): the decoder "
               "made up the missing part (grey or smeared rows), and explanations see it too";
    return {};
}

// Checks depth and channels and converts OpenCV's BGR(A) order to RGB(A).
cv::Mat toSampleImage(const cv::Mat &decoded, const std::string &path)
{
    if (decoded.depth() != CV_8U && decoded.depth() != CV_16U)
        throw SampleError(path + ": unsupported pixel depth " + cv::depthToString(decoded.depth()) +
                          " (only 8- and 16-bit images are supported)");
    cv::Mat image;
    switch (decoded.channels()) {
    case 1:
        return decoded;
    case 3:
        cv::cvtColor(decoded, image, cv::COLOR_BGR2RGB);
        return image;
    case 4:
        cv::cvtColor(decoded, image, cv::COLOR_BGRA2RGBA);
        return image;
    default:
        throw SampleError(path + ": unsupported channel count " +
                          std::to_string(decoded.channels()));
    }
}

// Why `path` cannot be part of the dataset, or an empty string when it looks like an image.
std::string candidateProblem(const std::string &path)
{
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (!fs::exists(status))
        return "does not exist";
    if (!fs::is_regular_file(status))
        return "not a regular file";
    if (!ImageFolderDataset::hasImageExtension(path))
        return "unsupported file type (expected .png, .jpg, .jpeg, .bmp, .tif or .tiff)";
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return "cannot be read";
    const std::string head = readAt(in, 0, 8);
    if (head.empty())
        return "empty file";
    if (sniff(head) == ImageKind::Unknown)
        return "not a PNG, JPEG, BMP or TIFF image (unrecognised signature)";
    return {};
}

std::vector<fs::path> sortedChildren(const fs::path &dir, bool wantDirectories)
{
    std::vector<fs::path> children;
    for (const auto &entry : fs::directory_iterator(dir))
        if (!isHidden(entry.path()) && entry.is_directory() == wantDirectories)
            children.push_back(entry.path());
    std::sort(children.begin(), children.end());
    return children;
}

std::vector<fs::path> sortedFilesBelow(const fs::path &dir)
{
    std::vector<fs::path> files;
    const auto options = fs::directory_options::skip_permission_denied;
    for (auto it = fs::recursive_directory_iterator(dir, options); it != fs::end(it); ++it) {
        if (isHidden(it->path()) && it->is_directory())
            it.disable_recursion_pending();
        else if (!isHidden(it->path()) && !it->is_directory())
            files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

std::string trim(const std::string &text)
{
    const size_t begin = text.find_first_not_of(" \t\r\n");
    const size_t end = text.find_last_not_of(" \t\r\n");
    return begin == std::string::npos ? std::string() : text.substr(begin, end - begin + 1);
}

std::optional<int> parseLabel(const std::string &text)
{
    int value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value < -1)
        return std::nullopt;
    return value;
}

} // namespace

bool ImageFolderDataset::hasImageExtension(const std::string &path)
{
    static const std::vector<std::string> extensions = {".png", ".jpg", ".jpeg",
                                                        ".bmp", ".tif", ".tiff"};
    const std::string ext = lower(fs::path(path).extension().string());
    return std::find(extensions.begin(), extensions.end(), ext) != extensions.end();
}

std::unique_ptr<ImageFolderDataset> ImageFolderDataset::openFolder(const std::string &dir)
{
    std::unique_ptr<ImageFolderDataset> dataset(new ImageFolderDataset);
    dataset->m_source = dir;
    std::vector<std::string> classes;
    for (const auto &child : sortedChildren(dir, true))
        classes.push_back(child.filename().string());
    if (classes.empty())
        dataset->addFlatFolder(dir);
    else
        dataset->addClassFolders(dir, classes);
    return dataset;
}

std::unique_ptr<ImageFolderDataset> ImageFolderDataset::openList(const std::string &listFile)
{
    std::ifstream in(listFile);
    if (!in)
        throw std::runtime_error("cannot read image list " + listFile);
    std::unique_ptr<ImageFolderDataset> dataset(new ImageFolderDataset);
    dataset->m_source = listFile;
    const std::string listDir = fs::path(listFile).parent_path().string();
    std::string line;
    for (size_t number = 1; std::getline(in, line); ++number)
        dataset->addListLine(line, listDir, number);
    return dataset;
}

std::unique_ptr<ImageFolderDataset>
ImageFolderDataset::openFiles(const std::vector<std::string> &files)
{
    std::unique_ptr<ImageFolderDataset> dataset(new ImageFolderDataset);
    dataset->m_source = files.size() == 1 ? files.front() : std::to_string(files.size()) + " files";
    for (const auto &file : files)
        dataset->addCandidate(file, -1, file);
    return dataset;
}

void ImageFolderDataset::addCandidate(const std::string &path, int label, const std::string &id)
{
    const std::string problem = candidateProblem(path);
    if (problem.empty())
        m_entries.push_back(Entry{path, label, id});
    else
        m_warnings.push_back("skipped " + path + ": " + problem);
}

void ImageFolderDataset::addFlatFolder(const std::string &dir)
{
    for (const auto &file : sortedChildren(dir, false))
        addCandidate(file.string(), -1, file.filename().string());
}

void ImageFolderDataset::addClassFolders(const std::string &dir,
                                         const std::vector<std::string> &classes)
{
    for (const auto &file : sortedChildren(dir, false))
        m_warnings.push_back("skipped " + file.string() + ": not inside a class folder");
    for (size_t label = 0; label < classes.size(); ++label) {
        m_classNames.push_back(classes[label]);
        const size_t before = m_entries.size();
        for (const auto &file : sortedFilesBelow(fs::path(dir) / classes[label]))
            addCandidate(file.string(), int(label), file.lexically_relative(dir).generic_string());
        if (m_entries.size() == before)
            m_warnings.push_back("class folder " + (fs::path(dir) / classes[label]).string() +
                                 " has no images");
    }
}

void ImageFolderDataset::addListLine(const std::string &line, const std::string &listDir,
                                     size_t lineNumber)
{
    const std::string text = trim(line);
    if (text.empty() || text[0] == '#')
        return;
    const size_t tab = text.find('\t');
    const std::string path = trim(text.substr(0, tab));
    const auto label =
        tab == std::string::npos ? std::optional<int>(-1) : parseLabel(trim(text.substr(tab + 1)));
    if (!label) {
        m_warnings.push_back("skipped line " + std::to_string(lineNumber) + " of " + m_source +
                             ": label is not an integer >= -1");
        return;
    }
    const fs::path resolved =
        fs::path(path).is_absolute() ? fs::path(path) : listDir / fs::path(path);
    addCandidate(resolved.string(), *label, path);
}

const ImageFolderDataset::Entry &ImageFolderDataset::entry(size_t index) const
{
    if (index >= m_entries.size())
        throw std::out_of_range("sample index " + std::to_string(index) + " out of range (" +
                                std::to_string(m_entries.size()) + " samples in " + m_source + ")");
    return m_entries[index];
}

Sample ImageFolderDataset::load(size_t index) const
{
    const Entry &e = entry(index);
    if (const auto dims = headerDims(e.path))
        checkNotTooLarge(e.path, *dims);
    const std::string bytes = readWhole(e.path);
    const cv::Mat decoded = bytes.empty() ? cv::Mat() : decode(e.path, bytes);
    if (decoded.empty())
        throw SampleError(e.path + ": cannot decode image (corrupt, truncated or unreadable)");
    checkNotTooLarge(e.path, Dims{uint64_t(decoded.cols), uint64_t(decoded.rows)});
    Sample sample{toSampleImage(decoded, e.path), e.label, e.id, {}};
    if (sniff(bytes) == ImageKind::Jpeg)
        if (std::string problem = jpegProblem(bytes); !problem.empty())
            sample.warnings.push_back(e.path + ": " + problem);
    return sample;
}

} // namespace heatlens
