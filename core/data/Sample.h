#pragma once

#include <opencv2/core/mat.hpp>

#include <string>
#include <vector>

namespace heatlens {

// One image of a dataset in its native resolution and depth: CV_8U or CV_16U with 1 (gray),
// 3 (RGB, not OpenCV's BGR) or 4 (RGBA) channels.
struct Sample
{
    cv::Mat image;
    int label = -1; // -1 when unknown
    std::string id; // stable, human-readable: "train/123" or a file path
    // Problems that did not stop decoding (a truncated JPEG's grey rows), naming the file.
    std::vector<std::string> warnings;
};

} // namespace heatlens
