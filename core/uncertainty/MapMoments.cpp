#include "core/uncertainty/MapMoments.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace heatlens {

void MapMoments::add(const cv::Mat &map, const cv::Mat &valid)
{
    if (map.type() != CV_32FC1)
        throw std::invalid_argument("MapMoments: expected a CV_32FC1 map");
    if (m_samples == 0) {
        for (cv::Mat *m : {&m_n, &m_mean, &m_m2, &m_m3, &m_m4})
            *m = cv::Mat::zeros(map.size(), CV_64FC1);
        m_positive = cv::Mat::zeros(map.size(), CV_32SC1);
        m_negative = cv::Mat::zeros(map.size(), CV_32SC1);
    } else if (map.size() != m_mean.size()) {
        throw std::invalid_argument(
            "MapMoments: a map of " + std::to_string(map.cols) + "x" + std::to_string(map.rows) +
            " after maps of " + std::to_string(m_mean.cols) + "x" + std::to_string(m_mean.rows));
    }
    if (!valid.empty() && (valid.size() != map.size() || valid.type() != CV_8UC1))
        throw std::invalid_argument("MapMoments: the validity mask does not match the map");
    ++m_samples;
    for (int y = 0; y < map.rows; ++y) {
        const float *x = map.ptr<float>(y);
        const uchar *ok = valid.empty() ? nullptr : valid.ptr<uchar>(y);
        double *n = m_n.ptr<double>(y), *mean = m_mean.ptr<double>(y);
        double *m2 = m_m2.ptr<double>(y), *m3 = m_m3.ptr<double>(y), *m4 = m_m4.ptr<double>(y);
        int *pos = m_positive.ptr<int>(y), *neg = m_negative.ptr<int>(y);
        for (int i = 0; i < map.cols; ++i) {
            if (ok && !ok[i])
                continue;
            const double v = double(x[i]);
            pos[i] += v > 0.0;
            neg[i] += v < 0.0;
            // Pébay (2008): one-pass update of the central moments.
            const double n1 = n[i];
            const double nn = n1 + 1.0;
            const double delta = v - mean[i];
            const double dn = delta / nn;
            const double dn2 = dn * dn;
            const double term = delta * dn * n1;
            mean[i] += dn;
            m4[i] += term * dn2 * (nn * nn - 3.0 * nn + 3.0) + 6.0 * dn2 * m2[i] - 4.0 * dn * m3[i];
            m3[i] += term * dn * (nn - 2.0) - 3.0 * dn * m2[i];
            m2[i] += term;
            n[i] = nn;
        }
    }
}

namespace {

cv::Mat toFloat(const cv::Mat &m)
{
    cv::Mat out;
    m.convertTo(out, CV_32F);
    return out;
}

} // namespace

cv::Mat MapMoments::count() const
{
    return toFloat(m_n);
}

cv::Mat MapMoments::mean() const
{
    return toFloat(m_mean);
}

cv::Mat MapMoments::variance() const
{
    cv::Mat v(m_mean.size(), CV_32FC1);
    for (int y = 0; y < v.rows; ++y)
        for (int i = 0; i < v.cols; ++i) {
            const double n = m_n.at<double>(y, i);
            v.at<float>(y, i) = n >= 2.0 ? float(m_m2.at<double>(y, i) / (n - 1.0)) : 0.0f;
        }
    return v;
}

cv::Mat MapMoments::stdDev() const
{
    cv::Mat s;
    cv::sqrt(variance(), s);
    return s;
}

cv::Mat MapMoments::stdError() const
{
    cv::Mat se = stdDev();
    for (int y = 0; y < se.rows; ++y)
        for (int i = 0; i < se.cols; ++i) {
            const double n = m_n.at<double>(y, i);
            se.at<float>(y, i) = n > 0.0 ? float(se.at<float>(y, i) / std::sqrt(n)) : 0.0f;
        }
    return se;
}

cv::Mat MapMoments::signAgreement() const
{
    cv::Mat a(m_mean.size(), CV_32FC1);
    for (int y = 0; y < a.rows; ++y)
        for (int i = 0; i < a.cols; ++i) {
            const double n = m_n.at<double>(y, i), mu = m_mean.at<double>(y, i);
            const int agree = mu > 0.0 ? m_positive.at<int>(y, i)
                              : mu < 0.0
                                  ? m_negative.at<int>(y, i)
                                  : int(n) - m_positive.at<int>(y, i) - m_negative.at<int>(y, i);
            a.at<float>(y, i) = n > 0.0 ? float(agree / n) : 1.0f;
        }
    return a;
}

double MapMoments::relativeStdError() const
{
    if (m_samples < 4)
        return std::numeric_limits<double>::infinity();
    // Per pixel, Var(s^2) / s^4 = 2 / (n - 1) + G2 / n with G2 the sample excess kurtosis
    // adjusted for small samples (unbiased under normality), and Var(s) ~ s^2 Var(s^2) / (4 s^4).
    double varianceOfStd = 0.0, sumVariance = 0.0;
    for (int y = 0; y < m_mean.rows; ++y)
        for (int i = 0; i < m_mean.cols; ++i) {
            const double n = m_n.at<double>(y, i);
            const double m2 = m_m2.at<double>(y, i);
            if (n < 4.0 || m2 <= 0.0)
                continue;
            const double s2 = m2 / (n - 1.0);
            const double g2 = n * m_m4.at<double>(y, i) / (m2 * m2) - 3.0;
            const double G2 = ((n + 1.0) * g2 + 6.0) * (n - 1.0) / ((n - 2.0) * (n - 3.0));
            const double relVarS2 = std::max(0.0, 2.0 / (n - 1.0) + G2 / n);
            varianceOfStd += s2 * relVarS2 / 4.0;
            sumVariance += s2;
        }
    return sumVariance > 0.0 ? std::sqrt(varianceOfStd / sumVariance) : 0.0;
}

} // namespace heatlens
