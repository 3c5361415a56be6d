#pragma once

#include <opencv2/core/mat.hpp>

#include <string>
#include <vector>

namespace heatlens {

// NumPy .npy (format 1.0) for single-channel float32 matrices: loadable by numpy.load.
void writeNpy(const std::string &path, const cv::Mat &map);

// A stack of float32 maps of one size as one [N, H, W] array (sample maps, percentiles).
void writeNpyStack(const std::string &path, const std::vector<cv::Mat> &maps);

// A CV_32SC1 matrix (a label map) as an int32 array.
void writeNpyInt32(const std::string &path, const cv::Mat &labels);

// Reads what writeNpy writes ('<f4', C order, 1-D or 2-D); throws naming the file otherwise.
cv::Mat readNpy(const std::string &path);

} // namespace heatlens
