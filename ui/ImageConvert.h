#pragma once

#include <QImage>

#include <opencv2/core/mat.hpp>

namespace heatlens::ui {

// A deep copy of an 8-bit RGB cv::Mat as a QImage.
QImage toQImage(const cv::Mat &rgb8);

// A sample image of any supported depth/channels as an RGB QImage.
QImage sampleToQImage(const cv::Mat &image);

} // namespace heatlens::ui
