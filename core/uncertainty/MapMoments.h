#pragma once

#include <opencv2/core/mat.hpp>

namespace heatlens {

// Streamed per-pixel moments of a sequence of maps (Welford's mean and M2 with Pébay's third and
// fourth central moments, all in double precision, never E[a^2] - E[a]^2), with a count per
// pixel for maps that cover only part of the frame (test-time shifts), and the number of
// positive and negative values per pixel for sign agreement.
class MapMoments
{
public:
    // `map` CV_32FC1 of one size for every call; `valid` (optional, CV_8U, same size) marks the
    // pixels that have a value. Throws std::invalid_argument on a size change.
    void add(const cv::Mat &map, const cv::Mat &valid = cv::Mat());

    int samples() const { return m_samples; } // maps added
    bool empty() const { return m_samples == 0; }
    cv::Size size() const { return m_mean.size(); }

    cv::Mat count() const;    // CV_32F: maps that covered each pixel
    cv::Mat mean() const;     // CV_32F
    cv::Mat variance() const; // unbiased (n - 1); 0 where n < 2
    cv::Mat stdDev() const;
    cv::Mat stdError() const; // std / sqrt(n): of the mean map
    // Fraction of the maps whose sign is the mean's sign (1 where the mean is 0 and so are all).
    cv::Mat signAgreement() const;

    // The expected relative L2 error of the std map as an estimate of the true one:
    // sqrt(sum_p Var(s_p) / sum_p s_p^2), with Var(s) ~ s^2 (2 / (n - 1) + G2 / n) / 4 from the
    // pixel's sample excess kurtosis G2 (so not assuming normality; for a normal distribution
    // this is 1 / sqrt(2 (n - 1))). 0 when every pixel has zero spread; infinity before 4 maps.
    double relativeStdError() const;

private:
    int m_samples = 0;
    cv::Mat m_n, m_mean, m_m2, m_m3, m_m4; // CV_64F
    cv::Mat m_positive, m_negative;        // CV_32S
};

} // namespace heatlens
