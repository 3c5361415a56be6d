#include "core/io/Png.h"

#include "core/io/AtomicFile.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <stdexcept>
#include <vector>

namespace heatlens {

void writePng(const std::string &path, const cv::Mat &rgb)
{
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, rgb.channels() == 4 ? cv::COLOR_RGBA2BGRA : cv::COLOR_RGB2BGR);
    std::vector<uchar> bytes;
    if (!cv::imencode(".png", bgr, bytes))
        throw std::runtime_error(path + ": PNG encoding failed");
    writeFileAtomically(path, [&](std::ostream &out) {
        out.write(reinterpret_cast<const char *>(bytes.data()), std::streamsize(bytes.size()));
    });
}

} // namespace heatlens
