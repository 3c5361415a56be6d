// Image files (PNG, JPEG, BMP, TIFF by byte 0): a decoded sample is 8- or 16-bit with 1, 3 or 4
// channels within the size limit, or the error names the file. Covers the JPEG structure check.
#include "FuzzTarget.h"

#include "core/data/Dataset.h"

#include <stdexcept>

using namespace heatlens;

HEATLENS_FUZZ_TARGET(image_decode)
{
    if (size < 1)
        return;
    static const char *const kNames[] = {"image.png", "image.jpg", "image.bmp", "image.tif"};
    const std::string path = fuzz::writeScratch(kNames[data[0] % 4], data + 1, size - 1);
    try {
        const auto dataset = openImageFiles({path});
        if (dataset->size() == 0)
            return; // skipped with a warning
        try {
            const Sample sample = dataset->load(0);
            const int depth = sample.image.depth();
            const int channels = sample.image.channels();
            if (sample.image.empty() || (depth != CV_8U && depth != CV_16U) ||
                (channels != 1 && channels != 3 && channels != 4))
                fuzz::violated("a decoded sample has an unexpected depth or channel count");
            for (const auto &warning : sample.warnings)
                if (warning.find(path) == std::string::npos)
                    fuzz::violated("a decoding warning does not name the file: " + warning);
        } catch (const SampleError &e) {
            fuzz::requireNamed(e, path);
        }
    } catch (const std::runtime_error &e) {
        fuzz::requireNamed(e, path);
    }
}
