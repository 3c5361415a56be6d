// Image lists ("path<TAB>label" per line): open, then load what was listed. Entries the list
// names are resolved beside it; loading never hangs on special files and errors name the file.
#include "FuzzTarget.h"

#include "core/data/ImageFolderDataset.h"

#include <filesystem>
#include <stdexcept>

using namespace heatlens;

HEATLENS_FUZZ_TARGET(image_list)
{
    const std::string path = fuzz::writeScratch("images.txt", data, size);
    try {
        const auto dataset = ImageFolderDataset::openList(path);
        for (size_t i = 0; i < dataset->size() && i < 4; ++i) {
            const std::string id = dataset->sampleId(i);
            if (dataset->label(i) < -1)
                fuzz::violated("a label below -1 was accepted");
            try {
                dataset->load(i);
            } catch (const SampleError &e) {
                if (std::string(e.what()).empty())
                    fuzz::violated("a sample error without a message");
            }
        }
        for (const auto &warning : dataset->warnings())
            if (warning.empty())
                fuzz::violated("an empty warning");
    } catch (const std::runtime_error &e) {
        fuzz::requireNamed(e, path);
    }
}
