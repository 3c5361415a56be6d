// IDX images (+ labels): byte 0 chooses a .gz name and whether a labels file follows; bytes 1-4
// say where the images file ends and the labels file begins.
#include "FuzzTarget.h"

#include "core/data/IdxDataset.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

using namespace heatlens;

HEATLENS_FUZZ_TARGET(idx)
{
    if (size < 5)
        return;
    const uint8_t flags = data[0];
    uint32_t cut = 0;
    std::memcpy(&cut, data + 1, 4);
    data += 5;
    size -= 5;
    const size_t imagesSize = (flags & 2) ? std::min<size_t>(cut % (size + 1), size) : size;
    std::filesystem::remove_all(fuzz::scratchDir());
    std::filesystem::create_directories(fuzz::scratchDir());
    const std::string images = fuzz::writeScratch(
        (flags & 1) ? "fuzz-images-idx3-ubyte.gz" : "fuzz-images-idx3-ubyte", data, imagesSize);
    std::string labels;
    if (flags & 2)
        labels =
            fuzz::writeScratch((flags & 1) ? "fuzz-labels-idx1-ubyte.gz" : "fuzz-labels-idx1-ubyte",
                               data + imagesSize, size - imagesSize);
    try {
        IdxDataset dataset((flags & 4) ? fuzz::scratchDir() : images);
        const size_t n = dataset.size();
        for (size_t index : {size_t(0), size_t(1), n / 2, n - 1}) {
            if (index >= n)
                continue;
            try {
                const Sample sample = dataset.load(index);
                if (sample.image.empty() || sample.image.type() != CV_8UC1)
                    fuzz::violated("an IDX sample decoded to an empty or non-8-bit image");
                if (sample.label < -1 || sample.label >= int(dataset.classNames().size()))
                    fuzz::violated("an IDX label outside the class names was accepted");
            } catch (const SampleError &e) {
                fuzz::requireNamed(e, images);
            }
        }
    } catch (const SampleError &) {
        fuzz::violated("opening an IDX file threw SampleError (load() only)");
    } catch (const std::runtime_error &e) {
        if (std::string(e.what()).find(labels.empty() ? images : labels) == std::string::npos)
            fuzz::requireNamed(e, images);
    }
}
