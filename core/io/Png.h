#pragma once

#include <opencv2/core/mat.hpp>

#include <string>

namespace heatlens {

// An 8-bit RGB (or RGBA) image as a PNG file, written atomically; throws std::runtime_error
// naming the file when it cannot be encoded or written.
void writePng(const std::string &path, const cv::Mat &rgb);

} // namespace heatlens
