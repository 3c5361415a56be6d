#include "core/metrics/Agreement.h"

#include "core/maps/MapMath.h"
#include "core/metrics/Similarity.h"

#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>

namespace heatlens {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string sizeOf(const cv::Mat &m)
{
    return std::to_string(m.cols) + "x" + std::to_string(m.rows);
}

Agreement undefinedAgreement()
{
    return {kNaN, kNaN, kNaN, kNaN, kNaN};
}

} // namespace

const std::vector<std::string> &agreementMetrics()
{
    static const std::vector<std::string> names = {"spearman", "pearson", "cosine", "ssim",
                                                   "top_k_iou"};
    return names;
}

namespace {

// The position of `metric` in agreementMetrics(); throws std::invalid_argument naming it.
size_t metricIndex(const std::string &metric)
{
    const auto &names = agreementMetrics();
    const auto it = std::find(names.begin(), names.end(), metric);
    if (it == names.end())
        throw std::invalid_argument("unknown agreement metric \"" + metric +
                                    "\" (spearman, pearson, cosine, ssim, top_k_iou)");
    return size_t(it - names.begin());
}

} // namespace

std::string agreementMetricLabel(const std::string &metric, double topFraction)
{
    const size_t i = metricIndex(metric);
    if (metric == "top_k_iou")
        return "top-" + std::to_string(int(std::lround(topFraction * 100.0))) + "% IoU";
    static const char *const labels[] = {"Spearman", "Pearson", "cosine", "SSIM"};
    return labels[i];
}

double Agreement::value(const std::string &metric) const
{
    const double values[] = {spearman, pearson, cosine, ssim, topIou}; // agreementMetrics order
    return values[metricIndex(metric)];
}

void validateAgreement(const AgreementOptions &options)
{
    if (!(options.topFraction > 0.0 && options.topFraction <= 1.0))
        throw std::invalid_argument("the top-k fraction must be in (0, 1], got " +
                                    std::to_string(options.topFraction));
    if (!(options.clipPercentile > 0.0 && options.clipPercentile <= 100.0))
        throw std::invalid_argument("the clip percentile must be in (0, 100], got " +
                                    std::to_string(options.clipPercentile));
}

cv::Mat normaliseForAgreement(const cv::Mat &map, const AgreementOptions &options)
{
    if (map.empty() || map.type() != CV_32FC1)
        throw std::invalid_argument("normaliseForAgreement needs a CV_32FC1 map, got " +
                                    (map.empty() ? std::string("an empty one") : sizeOf(map)));
    Normalization norm;
    norm.signedMap = !options.absolute;
    norm.clipPercentile = options.clipPercentile;
    cv::Mat out;
    normalizeMap(options.absolute ? cv::Mat(cv::abs(map)) : map, norm, out);
    return out;
}

Agreement agreement(const cv::Mat &a, const cv::Mat &b, const AgreementOptions &options)
{
    validateAgreement(options);
    if (a.empty() || b.empty() || a.size() != b.size() || a.type() != CV_32FC1 ||
        b.type() != CV_32FC1)
        throw std::invalid_argument("agreement needs two CV_32FC1 maps in one frame, got " +
                                    sizeOf(a) + " and " + sizeOf(b));
    const cv::Mat x = options.absolute ? cv::Mat(cv::abs(a)) : a;
    const cv::Mat y = options.absolute ? cv::Mat(cv::abs(b)) : b;
    Agreement result;
    result.spearman = spearman(x, y);
    result.pearson = pearson(x, y);
    result.cosine = cosineSimilarity(x, y);
    result.topIou = topKIntersectionOverUnion(x, y, options.topFraction);
    if (a.rows >= 7 && a.cols >= 7) {
        const cv::Mat na = normaliseForAgreement(a, options);
        const cv::Mat nb = normaliseForAgreement(b, options);
        double lowest = 0.0, other = 0.0;
        cv::minMaxLoc(na, &lowest);
        cv::minMaxLoc(nb, &other);
        const double range = std::min(lowest, other) < 0.0 ? 2.0 : 1.0;
        result.ssim = ssim(na, nb, range);
    } else {
        result.ssim = kNaN;
    }
    return result;
}

Consensus consensusMaps(const std::vector<cv::Mat> &maps, const AgreementOptions &options)
{
    if (maps.empty())
        throw std::invalid_argument("a consensus needs at least one map");
    Consensus c;
    cv::Mat sum = cv::Mat::zeros(maps.front().size(), CV_64F);
    cv::Mat squares = sum.clone();
    for (const cv::Mat &map : maps) {
        if (map.size() != maps.front().size())
            throw std::invalid_argument("a consensus needs maps in one frame, got " +
                                        sizeOf(maps.front()) + " and " + sizeOf(map));
        cv::Mat n;
        normaliseForAgreement(map, options).convertTo(n, CV_64F);
        sum += n;
        squares += n.mul(n);
    }
    const double count = double(maps.size());
    cv::Mat mean = sum / count;
    cv::Mat variance = squares / count - mean.mul(mean);
    variance = cv::max(variance, 0.0); // rounding can make it slightly negative
    cv::Mat spread;
    cv::sqrt(variance, spread);
    mean.convertTo(c.mean, CV_32F);
    spread.convertTo(c.spread, CV_32F);
    c.maps = int(maps.size());
    return c;
}

size_t pairIndex(size_t i, size_t j, size_t count)
{
    if (i == j || i >= count || j >= count)
        throw std::invalid_argument("pairIndex: (" + std::to_string(i) + ", " + std::to_string(j) +
                                    ") is not a pair of " + std::to_string(count) + " maps");
    if (i > j)
        std::swap(i, j);
    // Pairs before row i: (count - 1) + (count - 2) + ... + (count - i).
    return i * (2 * count - i - 1) / 2 + (j - i - 1);
}

std::vector<Agreement> pairwiseAgreement(const std::vector<cv::Mat> &maps,
                                         const AgreementOptions &options)
{
    std::vector<Agreement> out;
    const size_t n = maps.size();
    out.reserve(n * (n - (n > 0 ? 1 : 0)) / 2);
    for (size_t i = 0; i < n; ++i)
        for (size_t j = i + 1; j < n; ++j)
            out.push_back(maps[i].empty() || maps[j].empty()
                              ? undefinedAgreement()
                              : agreement(maps[i], maps[j], options));
    return out;
}

std::string AgreementOptions::canonical() const
{
    char text[96];
    std::snprintf(text, sizeof text, "abs=%d;top=%.12g;clip=%.12g", absolute ? 1 : 0, topFraction,
                  clipPercentile);
    return text;
}

} // namespace heatlens
