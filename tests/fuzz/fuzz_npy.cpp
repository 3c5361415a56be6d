// .npy maps: what readNpy accepts is a float matrix of the declared shape.
#include "FuzzTarget.h"

#include "core/io/Npy.h"

#include <stdexcept>

using namespace heatlens;

HEATLENS_FUZZ_TARGET(npy)
{
    const std::string path = fuzz::writeScratch("map.npy", data, size);
    try {
        const cv::Mat map = readNpy(path);
        if (map.type() != CV_32FC1)
            fuzz::violated("readNpy returned a matrix that is not float32");
        if (map.total() * sizeof(float) > size)
            fuzz::violated("readNpy returned more values than the file holds");
    } catch (const std::runtime_error &e) {
        fuzz::requireNamed(e, path);
    }
}
