#include "core/io/Npy.h"

#include "core/io/AtomicFile.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <regex>
#include <stdexcept>

namespace heatlens {

namespace {

std::string npyHeader(const std::string &shape, const std::string &descr = "<f4")
{
    std::string dict =
        "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
    // magic (6) + version (2) + header length (2) + dict + padding + '\n' is a multiple of 64.
    size_t total = 10 + dict.size() + 1;
    dict.append((64 - total % 64) % 64, ' ');
    dict.push_back('\n');
    std::string header("\x93NUMPY\x01\x00", 8);
    header.push_back(static_cast<char>(dict.size() & 0xff));
    header.push_back(static_cast<char>((dict.size() >> 8) & 0xff));
    return header + dict;
}

[[noreturn]] void fail(const std::string &path, const std::string &what)
{
    throw std::runtime_error(path + ": " + what);
}

// The header dictionary of a version 1 .npy; leaves `in` at the data.
std::string readHeader(std::ifstream &in, const std::string &path)
{
    char magic[10];
    if (!in.read(magic, 10) || std::string(magic, 6) != "\x93NUMPY" || magic[6] != 1)
        fail(path, "not a version 1 .npy file");
    const auto headerLen = static_cast<uint8_t>(magic[8]) | (static_cast<uint8_t>(magic[9]) << 8);
    std::string header(headerLen, '\0');
    if (!in.read(header.data(), headerLen))
        fail(path, "truncated header");
    return header;
}

} // namespace

void writeNpy(const std::string &path, const cv::Mat &map)
{
    if (map.type() != CV_32FC1)
        fail(path, "writeNpy expects a single-channel float32 map");
    cv::Mat contiguous = map.isContinuous() ? map : map.clone();
    writeFileAtomically(path, [&](std::ostream &out) {
        out << npyHeader(std::to_string(contiguous.rows) + ", " + std::to_string(contiguous.cols));
        out.write(reinterpret_cast<const char *>(contiguous.data),
                  static_cast<std::streamsize>(contiguous.total() * sizeof(float)));
    });
}

void writeNpyInt32(const std::string &path, const cv::Mat &labels)
{
    if (labels.type() != CV_32SC1)
        fail(path, "writeNpyInt32 expects a single-channel int32 matrix");
    const cv::Mat contiguous = labels.isContinuous() ? labels : labels.clone();
    writeFileAtomically(path, [&](std::ostream &out) {
        out << npyHeader(std::to_string(contiguous.rows) + ", " + std::to_string(contiguous.cols),
                         "<i4");
        out.write(reinterpret_cast<const char *>(contiguous.data),
                  static_cast<std::streamsize>(contiguous.total() * sizeof(int32_t)));
    });
}

void writeNpyStack(const std::string &path, const std::vector<cv::Mat> &maps)
{
    if (maps.empty())
        fail(path, "writeNpyStack needs at least one map");
    for (const auto &m : maps)
        if (m.type() != CV_32FC1 || m.size() != maps.front().size())
            fail(path, "writeNpyStack expects float32 maps of one size");
    writeFileAtomically(path, [&](std::ostream &out) {
        out << npyHeader(std::to_string(maps.size()) + ", " + std::to_string(maps[0].rows) + ", " +
                         std::to_string(maps[0].cols));
        for (const auto &m : maps) {
            const cv::Mat contiguous = m.isContinuous() ? m : m.clone();
            out.write(reinterpret_cast<const char *>(contiguous.data),
                      static_cast<std::streamsize>(contiguous.total() * sizeof(float)));
        }
    });
}

cv::Mat readNpy(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        fail(path, "cannot be opened");
    const std::string header = readHeader(in, path);
    if (header.find("'descr': '<f4'") == std::string::npos ||
        header.find("'fortran_order': False") == std::string::npos)
        fail(path, "only little-endian float32 C-order arrays are supported");
    std::smatch m;
    static const std::regex shape2(R"('shape': \((\d+), (\d+)\))");
    static const std::regex shape1(R"('shape': \((\d+),\))");
    std::string rowsText = "1", colsText;
    if (std::regex_search(header, m, shape2)) {
        rowsText = m[1];
        colsText = m[2];
    } else if (std::regex_search(header, m, shape1)) {
        colsText = m[1];
    } else {
        fail(path, "unsupported shape in header");
    }
    // The shape must fit an image-sized matrix and the bytes that follow the header: a header
    // claiming more is refused before anything of that size is allocated.
    auto dimension = [&](const std::string &text) {
        const int value = text.size() > 9 ? 0 : std::stoi(text); // at most 999,999,999
        if (value == 0)
            fail(path, "shape (" + rowsText + ", " + colsText + ") is empty or too large");
        return value;
    };
    const int rows = dimension(rowsText);
    const int cols = dimension(colsText);
    const auto dataStart = static_cast<uint64_t>(in.tellg());
    std::error_code ec;
    const uint64_t fileSize = std::filesystem::file_size(path, ec);
    const uint64_t bytes = uint64_t(rows) * uint64_t(cols) * sizeof(float);
    if (ec || fileSize < dataStart || fileSize - dataStart < bytes)
        fail(path, "truncated data: shape (" + rowsText + ", " + colsText + ") needs " +
                       std::to_string(bytes) + " bytes after the header");
    cv::Mat map(rows, cols, CV_32FC1);
    if (!in.read(reinterpret_cast<char *>(map.data), static_cast<std::streamsize>(bytes)))
        fail(path, "truncated data");
    return map;
}

namespace {

std::string stackShape(size_t count, int height, int width)
{
    return std::to_string(count) + ", " + std::to_string(height) + ", " + std::to_string(width);
}

} // namespace

NpyStackFile::NpyStackFile(const std::string &path, size_t count, int height, int width)
    : m_path(path)
    , m_count(count)
    , m_height(height)
    , m_width(width)
{
    if (count == 0 || height <= 0 || width <= 0)
        fail(path, "an empty stack of maps");
    const std::string header = npyHeader(stackShape(count, height, width));
    m_dataStart = header.size();
    const uint64_t size = m_dataStart + uint64_t(count) * uint64_t(height) * uint64_t(width) * 4;
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
        std::ifstream in(path, std::ios::binary);
        std::string found(header.size(), '\0');
        if (!in.read(found.data(), std::streamsize(found.size())) || found != header ||
            std::filesystem::file_size(path, ec) != size)
            fail(path, "holds another stack than [" + stackShape(count, height, width) +
                           "] float32; choose another folder or --force");
        return;
    }
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        if (!(out << header))
            fail(path, "cannot be written");
    }
    std::filesystem::resize_file(path, size, ec); // the maps not written yet read as zeros
    if (ec)
        fail(path, "cannot be sized to " + std::to_string(size) + " bytes: " + ec.message());
}

void NpyStackFile::write(size_t position, const cv::Mat &map)
{
    if (position >= m_count)
        fail(m_path,
             "map " + std::to_string(position) + " of a stack of " + std::to_string(m_count));
    if (map.type() != CV_32FC1 || map.rows != m_height || map.cols != m_width)
        fail(m_path, "a " + std::to_string(map.cols) + " x " + std::to_string(map.rows) +
                         " map for a stack of " + std::to_string(m_width) + " x " +
                         std::to_string(m_height) + " float32 maps");
    const cv::Mat contiguous = map.isContinuous() ? map : map.clone();
    std::fstream out(m_path, std::ios::binary | std::ios::in | std::ios::out);
    const uint64_t bytes = uint64_t(m_height) * uint64_t(m_width) * 4;
    out.seekp(std::streamoff(m_dataStart + position * bytes));
    out.write(reinterpret_cast<const char *>(contiguous.data), std::streamsize(bytes));
    out.flush();
    if (!out)
        fail(m_path, "map " + std::to_string(position) + " could not be written");
}

cv::Mat readNpyStackMap(const std::string &path, size_t position, size_t *count)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        fail(path, "cannot be opened");
    const std::string header = readHeader(in, path);
    std::smatch m;
    static const std::regex shape3(R"('shape': \((\d+), (\d+), (\d+)\))");
    if (header.find("'descr': '<f4'") == std::string::npos || !std::regex_search(header, m, shape3))
        fail(path, "not an [N, H, W] float32 stack");
    const auto n = size_t(std::stoull(m[1])), h = size_t(std::stoull(m[2])),
               w = size_t(std::stoull(m[3]));
    if (count)
        *count = n;
    if (position >= n || h == 0 || w == 0 || h > 100000 || w > 100000)
        fail(path, "map " + std::to_string(position) + " of a stack of " + std::to_string(n));
    cv::Mat map(int(h), int(w), CV_32FC1);
    in.seekg(std::streamoff(position * h * w * 4), std::ios::cur);
    if (!in.read(reinterpret_cast<char *>(map.data), std::streamsize(h * w * 4)))
        fail(path, "truncated data");
    return map;
}

} // namespace heatlens
