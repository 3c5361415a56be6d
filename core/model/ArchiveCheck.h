#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace heatlens {

// One record of a zip archive (a TorchScript file is one), from its central directory.
struct ZipRecord
{
    std::string name;
    uint32_t crc32 = 0;
    uint64_t compressedSize = 0;
    uint64_t size = 0;
    uint64_t localHeaderOffset = 0;
    uint16_t method = 0; // 0 stored, 8 deflate
};

// The central directory of a zip archive held in `bytes` (the end of the file suffices when
// `fileSize` gives the whole file's size and `bytes` is its last bytes.size() bytes). Throws
// std::runtime_error saying what is malformed. Handles zip64 sizes and offsets.
std::vector<ZipRecord> readZipDirectory(const std::string &tail, uint64_t fileSize);
// Where the central directory starts, from the end records in `tail` (same contract).
uint64_t zipDirectoryOffset(const std::string &tail, uint64_t fileSize);

// Checks every record of the zip archive at `path` against its CRC-32 (LibTorch's reader does
// not). Returns "" when all match, else a message naming the first damaged record, e.g.
// "record archive/data/3 (tensor data, 147456 bytes) fails its CRC-32 check (stored
// 0x0711ad86, computed 0x1c2b...)"; a structure it cannot read is reported the same way.
std::string damagedArchiveRecord(const std::string &path);

// What a TorchScript record holds, for messages: "tensor data", "code", "constants", ...
std::string recordKind(const std::string &name);

} // namespace heatlens
