#include "core/data/IdxDataset.h"

#include <opencv2/core.hpp>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>
#include <tuple>

namespace fs = std::filesystem;

namespace heatlens {

namespace {

constexpr uint32_t kImagesMagic = 0x00000803; // uint8, 3 dimensions
constexpr uint32_t kLabelsMagic = 0x00000801; // uint8, 1 dimension
constexpr uint64_t kMaxImagePixels = 100'000'000;
constexpr const char *kImagesTag = "idx3-ubyte";

const std::vector<std::string> &fashionClassNames()
{
    static const std::vector<std::string> names = {
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return names;
}

struct GzClose
{
    void operator()(gzFile_s *f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzClose>;

// gzread reads raw files transparently, so one code path serves both kinds.
GzFile openGz(const std::string &path)
{
    GzFile f(gzopen(path.c_str(), "rb"));
    if (!f)
        throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
    gzbuffer(f.get(), 1 << 20);
    return f;
}

// Reads up to `n` bytes; returns how many could be read (fewer at end of data or on error).
size_t readUpTo(gzFile f, uint8_t *dst, size_t n)
{
    size_t done = 0;
    while (done < n) {
        const auto chunk = static_cast<unsigned>(std::min<size_t>(n - done, 1u << 30));
        const int got = gzread(f, dst + done, chunk);
        if (got <= 0)
            break;
        done += static_cast<size_t>(got);
    }
    return done;
}

std::string zlibProblem(gzFile f)
{
    int code = Z_OK;
    const char *message = gzerror(f, &code);
    return code == Z_OK ? std::string() : std::string(" (") + message + ")";
}

uint32_t bigEndian32(const uint8_t *p)
{
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

std::string hex32(uint32_t value)
{
    char text[16];
    std::snprintf(text, sizeof text, "0x%08X", value);
    return text;
}

// Reads the magic and `dims` big-endian sizes of an IDX header, checking the magic.
std::vector<uint32_t> readHeader(gzFile f, const std::string &path, uint32_t magic, int dims)
{
    std::array<uint8_t, 16> buf{};
    const size_t want = 4 * static_cast<size_t>(dims + 1);
    const size_t got = readUpTo(f, buf.data(), want);
    if (got >= 4 && bigEndian32(buf.data()) != magic)
        throw std::runtime_error(path + ": bad magic " + hex32(bigEndian32(buf.data())) +
                                 " (expected " + hex32(magic) + ", an IDX uint8 file)");
    if (got < want)
        throw std::runtime_error(path + ": truncated IDX header (" + std::to_string(got) +
                                 " bytes)" + zlibProblem(f));
    std::vector<uint32_t> sizes;
    for (int i = 1; i <= dims; ++i)
        sizes.push_back(bigEndian32(buf.data() + 4 * i));
    return sizes;
}

std::string lower(std::string text)
{
    for (char &c : text)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

std::string stripSeparators(std::string text)
{
    while (!text.empty() && std::string("-._").find(text.back()) != std::string::npos)
        text.pop_back();
    return text;
}

// "t10k-images-idx3-ubyte.gz" -> "t10k"; "images-idx3-ubyte" -> "images".
std::string splitNameOf(const std::string &fileName)
{
    std::string base = stripSeparators(fileName.substr(0, fileName.find(kImagesTag)));
    const size_t images = base.rfind("images");
    if (images != std::string::npos && images + 6 == base.size() && images > 0)
        base = stripSeparators(base.substr(0, images));
    return base.empty() ? "images" : base;
}

// The labels file beside an images file: same prefix, "labels" for "images", "idx1-ubyte".
std::string labelsFileFor(const fs::path &imagesPath)
{
    const std::string name = imagesPath.filename().string();
    const size_t tag = name.find(kImagesTag);
    if (tag == std::string::npos)
        return {};
    std::string base = name.substr(0, tag);
    const size_t images = base.rfind("images");
    if (images != std::string::npos)
        base.replace(images, 6, "labels");
    for (const char *ext : {"", ".gz"}) {
        const fs::path candidate = imagesPath.parent_path() / (base + "idx1-ubyte" + ext);
        if (fs::is_regular_file(candidate))
            return candidate.string();
    }
    return {};
}

// Fashion-MNIST is recognised by the name of the folder opened, or of the file and its folder.
bool namedLikeFashion(const std::string &source)
{
    fs::path path = fs::absolute(source).lexically_normal();
    if (path.filename().empty()) // "dir/"
        path = path.parent_path();
    std::string names = path.filename().string();
    if (!fs::is_directory(path))
        names += "/" + path.parent_path().filename().string();
    return lower(names).find("fashion") != std::string::npos;
}

// Train first, then the test split, then the others alphabetically.
std::tuple<int, std::string> splitOrder(const std::string &split)
{
    const std::string name = lower(split);
    const bool test = name.rfind("t10k", 0) == 0 || name.rfind("test", 0) == 0;
    return {name.rfind("train", 0) == 0 ? 0 : test ? 1 : 2, split};
}

// One images file per split; a raw file wins over its .gz twin (no decompression needed).
std::vector<std::string> idxImageFilesIn(const std::string &dir)
{
    std::map<std::tuple<int, std::string>, std::string> bySplit;
    for (const auto &entry : fs::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (!entry.is_regular_file() || name.find(kImagesTag) == std::string::npos)
            continue;
        auto &slot = bySplit[splitOrder(splitNameOf(name))];
        if (slot.empty() || entry.path().extension() != ".gz")
            slot = entry.path().string();
    }
    std::vector<std::string> files;
    for (const auto &[order, path] : bySplit)
        files.push_back(path);
    return files;
}

} // namespace

struct IdxDataset::Split
{
    std::string name; // "train", used in sample ids
    std::string imagesPath;
    std::string labelsPath; // empty when there is no labels file
    uint32_t count = 0;
    uint32_t rows = 0;
    uint32_t cols = 0;
    std::vector<uint8_t> labels; // empty when there is no labels file

    std::once_flag decodeOnce;
    std::vector<uint8_t> pixels;
    std::string decodeError;

    size_t imageBytes() const { return size_t(rows) * cols; }
    uint64_t payloadBytes() const { return uint64_t(count) * rows * cols; }
    void readImagesHeader();
    void readLabels();
    void decode();
    void checkLabels(size_t classCount) const;
    const uint8_t *pixelsOrThrow();
    std::string truncated(uint64_t available, const std::string &detail) const;
};

std::string IdxDataset::Split::truncated(uint64_t available, const std::string &detail) const
{
    return imagesPath + ": truncated: header says " + std::to_string(count) + " images of " +
           std::to_string(rows) + "x" + std::to_string(cols) + " (" +
           std::to_string(payloadBytes()) + " bytes) but only " + std::to_string(available) +
           " bytes of pixels are present" + detail;
}

void IdxDataset::Split::readImagesHeader()
{
    GzFile f = openGz(imagesPath);
    const auto dims = readHeader(f.get(), imagesPath, kImagesMagic, 3);
    count = dims[0];
    rows = dims[1];
    cols = dims[2];
    if (rows == 0 || cols == 0 || imageBytes() > kMaxImagePixels)
        throw std::runtime_error(imagesPath + ": implausible image size " + std::to_string(rows) +
                                 "x" + std::to_string(cols));
    if (gzdirect(f.get())) { // raw: the file size tells whether the payload is complete
        const uint64_t available = fs::file_size(imagesPath) - 16;
        if (available < payloadBytes())
            throw std::runtime_error(truncated(available, ""));
    }
}

void IdxDataset::Split::readLabels()
{
    GzFile f = openGz(labelsPath);
    const uint32_t n = readHeader(f.get(), labelsPath, kLabelsMagic, 1)[0];
    if (n != count)
        throw std::runtime_error(labelsPath + ": label count " + std::to_string(n) +
                                 " does not match image count " + std::to_string(count) + " of " +
                                 imagesPath);
    labels.resize(n);
    const size_t got = readUpTo(f.get(), labels.data(), n);
    if (got < n)
        throw std::runtime_error(labelsPath + ": truncated: header says " + std::to_string(n) +
                                 " labels but only " + std::to_string(got) + " are present" +
                                 zlibProblem(f.get()));
}

void IdxDataset::Split::checkLabels(size_t classCount) const
{
    for (size_t i = 0; i < labels.size(); ++i)
        if (size_t(labels[i]) >= classCount)
            throw std::runtime_error(labelsPath + ": label " + std::to_string(labels[i]) +
                                     " of sample " + std::to_string(i) + " is out of range for " +
                                     std::to_string(classCount) + " classes");
}

void IdxDataset::Split::decode()
{
    GzFile f = openGz(imagesPath);
    readHeader(f.get(), imagesPath, kImagesMagic, 3);
    // A compressed file's header is not checked against its size at open: grow the buffer with
    // the bytes that actually arrive, so a few bytes claiming billions of images cannot make us
    // allocate (and zero) what they claim.
    const uint64_t wanted = payloadBytes();
    constexpr uint64_t kChunk = uint64_t(64) << 20;
    size_t got = 0;
    while (got < wanted) {
        const size_t step = size_t(std::min<uint64_t>(kChunk, wanted - got));
        pixels.resize(got + step);
        const size_t read = readUpTo(f.get(), pixels.data() + got, step);
        got += read;
        if (read < step)
            break;
    }
    if (got < wanted) {
        std::vector<uint8_t>().swap(pixels);
        throw SampleError(truncated(got, zlibProblem(f.get())));
    }
}

const uint8_t *IdxDataset::Split::pixelsOrThrow()
{
    // Decoding runs once even when it fails: the error is kept and rethrown on every load().
    std::call_once(decodeOnce, [this] {
        try {
            decode();
        } catch (const std::exception &e) { // e.g. bad_alloc: make sure the file is named
            const std::string what = e.what();
            decodeError = what.find(imagesPath) == 0 ? what : imagesPath + ": " + what;
            std::vector<uint8_t>().swap(pixels);
        }
    });
    if (!decodeError.empty())
        throw SampleError(decodeError);
    return pixels.data();
}

IdxDataset::IdxDataset(const std::string &path)
{
    m_source = path;
    const bool folder = fs::is_directory(path);
    const auto files = folder ? idxImageFilesIn(path) : std::vector<std::string>{path};
    if (files.empty())
        throw std::runtime_error("no IDX images files (*-images-idx3-ubyte[.gz]) in " + path);
    for (const auto &file : files)
        addSplit(file);
    assignClassNames();
}

IdxDataset::~IdxDataset() = default;

void IdxDataset::addSplit(const std::string &imagesPath)
{
    auto split = std::make_unique<Split>();
    split->name = splitNameOf(fs::path(imagesPath).filename().string());
    split->imagesPath = imagesPath;
    split->readImagesHeader();
    split->labelsPath = labelsFileFor(imagesPath);
    if (split->labelsPath.empty())
        m_warnings.push_back("no labels file beside " + imagesPath + "; labels are unknown");
    else
        split->readLabels();
    m_ends.push_back(size() + split->count);
    m_splits.push_back(std::move(split));
}

// Fashion-MNIST has its published class names; otherwise classes are "0".."max label".
void IdxDataset::assignClassNames()
{
    int maxLabel = -1;
    for (const auto &split : m_splits)
        for (uint8_t value : split->labels)
            maxLabel = std::max<int>(maxLabel, value);
    if (namedLikeFashion(m_source))
        m_classNames = fashionClassNames();
    else
        for (int i = 0; i <= maxLabel; ++i)
            m_classNames.push_back(std::to_string(i));
    for (const auto &split : m_splits)
        split->checkLabels(m_classNames.size());
}

size_t IdxDataset::size() const
{
    return m_ends.empty() ? 0 : m_ends.back();
}

std::pair<IdxDataset::Split *, size_t> IdxDataset::locate(size_t index) const
{
    if (index >= size())
        throw std::out_of_range("sample index " + std::to_string(index) + " out of range (" +
                                std::to_string(size()) + " samples in " + m_source + ")");
    const size_t s = std::upper_bound(m_ends.begin(), m_ends.end(), index) - m_ends.begin();
    return {m_splits[s].get(), index - (s == 0 ? 0 : m_ends[s - 1])};
}

Sample IdxDataset::load(size_t index) const
{
    const auto [split, local] = locate(index);
    const uint8_t *pixels = split->pixelsOrThrow() + local * split->imageBytes();
    const cv::Mat view(int(split->rows), int(split->cols), CV_8UC1, const_cast<uint8_t *>(pixels));
    return Sample{view.clone(), label(index), sampleId(index), {}};
}

int IdxDataset::label(size_t index) const
{
    const auto [split, local] = locate(index);
    return split->labels.empty() ? -1 : split->labels[local];
}

std::string IdxDataset::sampleId(size_t index) const
{
    const auto [split, local] = locate(index);
    return split->name + "/" + std::to_string(local);
}

bool IdxDataset::folderHasIdxImages(const std::string &dir)
{
    std::error_code ec;
    for (const auto &entry : fs::directory_iterator(dir, ec))
        if (entry.path().filename().string().find(kImagesTag) != std::string::npos)
            return true;
    return false;
}

bool IdxDataset::looksLikeIdxImages(const std::string &path)
{
    if (fs::path(path).filename().string().find(kImagesTag) != std::string::npos)
        return true;
    GzFile f(gzopen(path.c_str(), "rb"));
    std::array<uint8_t, 4> magic{};
    return f && readUpTo(f.get(), magic.data(), 4) == 4 &&
           bigEndian32(magic.data()) == kImagesMagic;
}

} // namespace heatlens
