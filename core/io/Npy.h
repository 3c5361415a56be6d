#pragma once

#include <opencv2/core/mat.hpp>

#include <string>

namespace heatlens {

// NumPy .npy (format 1.0) for single-channel float32 matrices: loadable by numpy.load.
void writeNpy(const std::string &path, const cv::Mat &map);

// Reads what writeNpy writes ('<f4', C order, 1-D or 2-D); throws naming the file otherwise.
cv::Mat readNpy(const std::string &path);

} // namespace heatlens
