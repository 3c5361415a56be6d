#pragma once

#include <opencv2/core/mat.hpp>

namespace heatlens {

// Localisation and complexity metrics of one attribution map against an object mask.
// Maps are CV_32FC1 with finite values; masks are CV_8UC1 of the map's size, non-zero = inside
// the object. A bad type, an empty map or a size mismatch throws std::invalid_argument giving
// the sizes and types.

// The object pixels of an image: 255 where any channel is > threshold, else 0 (CV_8UC1).
// The image is 8-bit, 16-bit or floating point with 1 to 4 channels. For Fashion-MNIST, whose
// background is exactly 0, the default threshold gives the garment's silhouette.
cv::Mat objectMask(const cv::Mat &image, double threshold = 0.0);

// Relevance mass accuracy (Arras, Osman & Samek, "CLEVR-XAI", Information Fusion 2022; Quantus
// RelevanceMassAccuracy): the share of the total |map| that falls inside the mask. 0 when the
// map is all zero.
double relevanceMass(const cv::Mat &map, const cv::Mat &mask);

// Relevance rank accuracy (Arras et al., ibid.; Quantus RelevanceRankAccuracy): with K the number
// of mask pixels, the fraction of the K pixels with the largest |map| that lie inside the mask
// (ties broken by pixel order, row-major). 0 for an empty mask.
double relevanceRankAccuracy(const cv::Mat &map, const cv::Mat &mask);

// Pointing game (Zhang et al. 2018, "Top-down Neural Attention by Excitation Backprop"): is
// the maximum of the signed map (the first one in row-major order when several are equal)
// inside the mask dilated by `tolerance` pixels, i.e. within Euclidean distance <= tolerance of
// a mask pixel? TorchRay uses 15 px at 224x224 and accepts distances < tolerance (strictly), so
// the two differ only for mask pixels at exactly that distance. Throws std::invalid_argument
// for a negative tolerance.
bool pointingGame(const cv::Mat &map, const cv::Mat &mask, int tolerance = 0);

// Sparseness as in Quantus (Chalasani et al. 2020, "Concise Explanations of Neural Networks
// using Adversarial Training"): the Gini index of |map| with the values a_1 <= ... <= a_n
// sorted ascending, sum_i (2i - n - 1) a_i / (n sum_i a_i). 0 for a constant map (also an
// all-zero one), 1 - 1/n for a one-hot map. (Quantus adds 1e-7 to every value to avoid the
// division by zero, which changes the result by about 1e-7 / mean|a|.)
double gini(const cv::Mat &map);

// The fraction of pixels inside the mask: the relevance mass (and, in expectation, the
// relevance rank accuracy) of a map that is uniform or random. Throws for an empty or
// non-CV_8UC1 mask.
double maskFraction(const cv::Mat &mask);

} // namespace heatlens
