#include "core/model/ArchiveCheck.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace heatlens {

namespace {

constexpr uint32_t kEndOfDirectory = 0x06054b50;
constexpr uint32_t kZip64EndOfDirectory = 0x06064b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr uint32_t kDirectoryEntry = 0x02014b50;
constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr size_t kTailBytes = 1 << 20; // holds the central directory of most models

uint64_t le(const std::string &b, size_t at, int bytes)
{
    if (at + size_t(bytes) > b.size())
        throw std::runtime_error("the zip structure runs past the end of the file");
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i)
        v = (v << 8) | uint8_t(b[at + size_t(i)]);
    return v;
}

std::string hex(uint32_t v)
{
    char text[16];
    std::snprintf(text, sizeof text, "0x%08x", v);
    return text;
}

// Applies a zip64 extra field to the entry's 0xFFFFFFFF placeholders.
void applyZip64Extra(const std::string &extra, ZipRecord &r, bool offsetPlaceholder)
{
    for (size_t at = 0; at + 4 <= extra.size();) {
        const auto id = le(extra, at, 2), length = le(extra, at + 2, 2);
        size_t field = at + 4;
        if (id == 1) {
            if (r.size == 0xFFFFFFFFu)
                r.size = le(extra, field, 8), field += 8;
            if (r.compressedSize == 0xFFFFFFFFu)
                r.compressedSize = le(extra, field, 8), field += 8;
            if (offsetPlaceholder)
                r.localHeaderOffset = le(extra, field, 8);
            return;
        }
        at += 4 + length;
    }
}

struct DirectoryLocation
{
    uint64_t offset = 0, size = 0, entries = 0;
};

DirectoryLocation locateDirectory(const std::string &tail, uint64_t fileSize)
{
    if (tail.size() < 22)
        throw std::runtime_error("too short to be a zip archive");
    size_t at = tail.size() - 22;
    while (le(tail, at, 4) != kEndOfDirectory) { // a comment may follow the record
        if (at == 0 || tail.size() - at > 22 + 0xFFFF)
            throw std::runtime_error("no end-of-central-directory record (truncated file?)");
        --at;
    }
    DirectoryLocation d{le(tail, at + 16, 4), le(tail, at + 12, 4), le(tail, at + 10, 2)};
    if (at >= 20 && le(tail, at - 20, 4) == kZip64Locator) {
        const uint64_t recordOffset = le(tail, at - 20 + 8, 8);
        const uint64_t tailStart = fileSize - tail.size();
        if (recordOffset < tailStart)
            throw std::runtime_error("the zip64 directory record lies outside the file's end");
        const size_t r = size_t(recordOffset - tailStart);
        if (le(tail, r, 4) != kZip64EndOfDirectory)
            throw std::runtime_error("the zip64 end-of-directory record is damaged");
        d = {le(tail, r + 48, 8), le(tail, r + 40, 8), le(tail, r + 32, 8)};
    }
    if (d.offset > fileSize || d.size > fileSize - d.offset)
        throw std::runtime_error("the central directory lies outside the file");
    return d;
}

} // namespace

uint64_t zipDirectoryOffset(const std::string &tail, uint64_t fileSize)
{
    if (tail.size() > fileSize)
        throw std::runtime_error("inconsistent sizes");
    return locateDirectory(tail, fileSize).offset;
}

std::string recordKind(const std::string &name)
{
    const auto slash = name.find('/');
    const std::string inner = slash == std::string::npos ? name : name.substr(slash + 1);
    if (inner.rfind("data/", 0) == 0)
        return "tensor data";
    if (inner.rfind("code/", 0) == 0)
        return "code";
    if (inner.rfind("constants", 0) == 0)
        return "constants";
    if (inner == "data.pkl")
        return "module structure";
    return "metadata";
}

std::vector<ZipRecord> readZipDirectory(const std::string &tail, uint64_t fileSize)
{
    if (tail.size() > fileSize)
        throw std::runtime_error("inconsistent sizes");
    const DirectoryLocation d = locateDirectory(tail, fileSize);
    const uint64_t tailStart = fileSize - tail.size();
    if (d.offset < tailStart)
        throw std::runtime_error("the central directory is larger than expected");
    size_t at = size_t(d.offset - tailStart);
    std::vector<ZipRecord> records;
    records.reserve(size_t(std::min<uint64_t>(d.entries, 1 << 20)));
    for (uint64_t i = 0; i < d.entries; ++i) {
        if (le(tail, at, 4) != kDirectoryEntry)
            throw std::runtime_error("central directory entry " + std::to_string(i) +
                                     " is damaged");
        ZipRecord r;
        r.method = uint16_t(le(tail, at + 10, 2));
        r.crc32 = uint32_t(le(tail, at + 16, 4));
        r.compressedSize = le(tail, at + 20, 4);
        r.size = le(tail, at + 24, 4);
        const size_t nameLength = size_t(le(tail, at + 28, 2));
        const size_t extraLength = size_t(le(tail, at + 30, 2));
        const size_t commentLength = size_t(le(tail, at + 32, 2));
        r.localHeaderOffset = le(tail, at + 42, 4);
        if (at + 46 + nameLength + extraLength > tail.size())
            throw std::runtime_error("central directory entry " + std::to_string(i) +
                                     " runs past the end of the file");
        r.name = tail.substr(at + 46, nameLength);
        applyZip64Extra(tail.substr(at + 46 + nameLength, extraLength), r,
                        r.localHeaderOffset == 0xFFFFFFFFu);
        if (r.localHeaderOffset > fileSize || r.compressedSize > fileSize)
            throw std::runtime_error("record " + r.name + " lies outside the file");
        records.push_back(std::move(r));
        at += 46 + nameLength + extraLength + commentLength;
    }
    return records;
}

namespace {

// CRC-32 of `size` bytes from `in`'s position, inflating first when `deflated`.
uint32_t crcOf(std::ifstream &in, uint64_t size, bool deflated, uint64_t expectedSize)
{
    std::vector<char> buffer(1 << 20), out(1 << 20);
    uLong crc = crc32(0L, Z_NULL, 0);
    z_stream z{};
    if (deflated && inflateInit2(&z, -MAX_WBITS) != Z_OK)
        throw std::runtime_error("cannot start zlib");
    uint64_t left = size, produced = 0;
    while (left > 0) {
        const size_t n = size_t(std::min<uint64_t>(left, buffer.size()));
        if (!in.read(buffer.data(), std::streamsize(n))) {
            if (deflated)
                inflateEnd(&z);
            throw std::runtime_error("the file ends inside its data");
        }
        left -= n;
        if (!deflated) {
            crc = crc32(crc, reinterpret_cast<const Bytef *>(buffer.data()), uInt(n));
            continue;
        }
        z.next_in = reinterpret_cast<Bytef *>(buffer.data());
        z.avail_in = uInt(n);
        while (z.avail_in > 0) {
            z.next_out = reinterpret_cast<Bytef *>(out.data());
            z.avail_out = uInt(out.size());
            const int rc = inflate(&z, Z_NO_FLUSH);
            const size_t got = out.size() - z.avail_out;
            crc = crc32(crc, reinterpret_cast<const Bytef *>(out.data()), uInt(got));
            produced += got;
            if (rc == Z_STREAM_END)
                break;
            if (rc != Z_OK) {
                inflateEnd(&z);
                throw std::runtime_error("its compressed data is damaged");
            }
        }
    }
    if (deflated) {
        inflateEnd(&z);
        if (produced != expectedSize)
            throw std::runtime_error("it inflates to " + std::to_string(produced) +
                                     " bytes instead of " + std::to_string(expectedSize));
    }
    return uint32_t(crc);
}

} // namespace

std::string damagedArchiveRecord(const std::string &path)
{
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in)
        return "cannot be read";
    const uint64_t fileSize = uint64_t(in.tellg());
    const uint64_t tailSize = std::min<uint64_t>(fileSize, kTailBytes);
    auto readTail = [&](uint64_t size) {
        std::string tail(size_t(size), '\0');
        in.seekg(std::streamoff(fileSize - size));
        in.read(tail.data(), std::streamsize(size));
        return tail;
    };
    std::vector<ZipRecord> records;
    try {
        std::string tail = readTail(tailSize);
        const uint64_t directory = zipDirectoryOffset(tail, fileSize);
        if (directory < fileSize - tail.size()) // a large directory: read all of it
            tail = readTail(fileSize - directory);
        records = readZipDirectory(tail, fileSize);
    } catch (const std::exception &e) {
        return std::string("its zip structure is damaged: ") + e.what();
    }
    for (const ZipRecord &r : records) {
        const std::string what = "record " + r.name + " (" + recordKind(r.name) + ", " +
                                 std::to_string(r.size) + " bytes)";
        try {
            if (r.method != 0 && r.method != 8)
                throw std::runtime_error("it uses zip compression method " +
                                         std::to_string(r.method));
            std::string header(30, '\0');
            in.clear();
            in.seekg(std::streamoff(r.localHeaderOffset));
            if (!in.read(header.data(), 30) || le(header, 0, 4) != kLocalHeader)
                throw std::runtime_error("its local header is damaged");
            const uint64_t skip = le(header, 26, 2) + le(header, 28, 2);
            in.seekg(std::streamoff(r.localHeaderOffset + 30 + skip));
            const uint64_t stored = r.method == 0 ? r.size : r.compressedSize;
            if (r.localHeaderOffset + 30 + skip + stored > fileSize)
                throw std::runtime_error("its data runs past the end of the file");
            const uint32_t crc = crcOf(in, stored, r.method == 8, r.size);
            if (crc != r.crc32)
                return what + " fails its CRC-32 check (stored " + hex(r.crc32) + ", computed " +
                       hex(crc) + ")";
        } catch (const std::exception &e) {
            return what + " is damaged: " + e.what();
        }
    }
    return {};
}

} // namespace heatlens
