// Zip archives (TorchScript files): the central-directory parser and the CRC-32 check of every
// record. Malformed structure is reported, never read out of bounds.
#include "FuzzTarget.h"

#include "core/model/ArchiveCheck.h"

#include <stdexcept>

using namespace heatlens;

HEATLENS_FUZZ_TARGET(zip_directory)
{
    const std::string bytes(reinterpret_cast<const char *>(data), size);
    try {
        for (const ZipRecord &record : readZipDirectory(bytes, size)) {
            if (record.localHeaderOffset >= size)
                fuzz::violated("a record starts beyond the end of the archive");
            recordKind(record.name);
        }
    } catch (const std::runtime_error &e) {
        if (std::string(e.what()).empty())
            fuzz::violated("a zip error without a message");
    }
    const std::string path = fuzz::writeScratch("model.pt", data, size);
    const std::string problem = damagedArchiveRecord(path);
    (void)problem; // "" or a message: both are answers; the run must simply be memory-safe
}
