#pragma once

#include <opencv2/core/mat.hpp>

#include <string>
#include <vector>

namespace heatlens {

// How far two explanations agree, and what several agree on. Maps must share one frame (see
// mapToFrame in core/model/Preprocess.h): comparing maps of different models means bringing
// each to the image's frame first.

struct AgreementOptions
{
    // Compare magnitudes |map| (default: methods disagree on sign conventions, e.g. Grad-CAM is
    // never negative while Integrated Gradients is signed) or the signed values.
    bool absolute = true;
    double topFraction = 0.1;     // k of the top-k intersection over union, in (0, 1]
    double clipPercentile = 99.0; // per-map scale for SSIM and consensus: this percentile of |map|

    std::string canonical() const; // "abs=1;top=0.1;clip=99"
};

// The agreement of two maps. Spearman, Pearson, cosine and top-k IoU use the values as they are
// (|values| when absolute); SSIM compares the maps normalised by normaliseForAgreement, with
// data range 1 (2 when a signed comparison has negative values). NaN when a metric is not
// defined for the maps: SSIM of maps smaller than 7 x 7.
struct Agreement
{
    double spearman = 0.0;
    double pearson = 0.0;
    double cosine = 0.0;
    double ssim = 0.0;
    double topIou = 0.0;

    double value(const std::string &metric) const; // by agreementMetrics() name; throws if unknown
};

// Metric names in column order: spearman, pearson, cosine, ssim, top_k_iou.
const std::vector<std::string> &agreementMetrics();
// "Spearman", "Pearson", "cosine", "SSIM", "top-10% IoU" for plots and tables.
std::string agreementMetricLabel(const std::string &metric, double topFraction);

// Throws std::invalid_argument naming the option when topFraction is not in (0, 1] or the clip
// percentile not in (0, 100].
void validateAgreement(const AgreementOptions &options);

// Throws std::invalid_argument (giving both sizes) unless the maps are CV_32FC1 of one size.
Agreement agreement(const cv::Mat &a, const cv::Mat &b, const AgreementOptions &options);

// The map as the agreement and the consensus see it: |map| when absolute, divided by the
// clip-percentile of |map| and clipped to [0, 1] (signed: [-1, 1]). An all-zero map stays zero.
cv::Mat normaliseForAgreement(const cv::Mat &map, const AgreementOptions &options);

// What several maps agree on: the mean of their normalised maps, and where they disagree: the
// (population) standard deviation of the normalised maps, pixel by pixel.
struct Consensus
{
    cv::Mat mean;
    cv::Mat spread;
    int maps = 0;
};
// Throws std::invalid_argument when `maps` is empty or the sizes differ.
Consensus consensusMaps(const std::vector<cv::Mat> &maps, const AgreementOptions &options);

// Agreement of every pair (i < j) of `maps`, row-major upper triangle: (0,1), (0,2), ...,
// (1,2), ...; empty maps (cells without a result) give NaN everywhere.
std::vector<Agreement> pairwiseAgreement(const std::vector<cv::Mat> &maps,
                                         const AgreementOptions &options);
// Index of pair (i, j), i != j, in pairwiseAgreement's result for `count` maps.
size_t pairIndex(size_t i, size_t j, size_t count);

} // namespace heatlens
