#include "core/metrics/Localisation.h"

#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace heatlens {

namespace {

std::string describe(const cv::Mat &m)
{
    if (m.empty())
        return "an empty matrix";
    return std::to_string(m.cols) + "x" + std::to_string(m.rows) + " " + cv::typeToString(m.type());
}

void checkMap(const cv::Mat &map, const char *function)
{
    if (map.empty() || map.type() != CV_32FC1 || map.dims != 2)
        throw std::invalid_argument(std::string(function) +
                                    " needs a non-empty CV_32FC1 map, got " + describe(map));
    if (!cv::checkRange(map))
        throw std::invalid_argument(std::string(function) +
                                    ": the map holds NaN or infinite values");
}

void checkMapAndMask(const cv::Mat &map, const cv::Mat &mask, const char *function)
{
    checkMap(map, function);
    if (mask.type() != CV_8UC1 || mask.size() != map.size())
        throw std::invalid_argument(std::string(function) + " needs a CV_8UC1 mask of the map's " +
                                    "size; the map is " + describe(map) + ", the mask " +
                                    describe(mask));
}

// |map| as doubles in row-major order.
std::vector<double> absoluteValues(const cv::Mat &map)
{
    std::vector<double> v;
    v.reserve(map.total());
    for (int r = 0; r < map.rows; ++r) {
        const float *p = map.ptr<float>(r);
        for (int c = 0; c < map.cols; ++c)
            v.push_back(std::abs(double(p[c])));
    }
    return v;
}

std::vector<unsigned char> insideOf(const cv::Mat &mask)
{
    std::vector<unsigned char> v;
    v.reserve(mask.total());
    for (int r = 0; r < mask.rows; ++r) {
        const uchar *p = mask.ptr<uchar>(r);
        for (int c = 0; c < mask.cols; ++c)
            v.push_back(p[c] != 0);
    }
    return v;
}

} // namespace

cv::Mat objectMask(const cv::Mat &image, double threshold)
{
    const int depth = image.depth();
    if (image.empty() || image.dims != 2 || image.channels() > 4 ||
        (depth != CV_8U && depth != CV_16U && depth != CV_32F && depth != CV_64F))
        throw std::invalid_argument("objectMask needs an 8-bit, 16-bit or floating-point image "
                                    "with 1 to 4 channels, got " +
                                    describe(image));
    cv::Mat values;
    image.convertTo(values, CV_64F); // exact for every accepted depth
    const int cn = image.channels();
    cv::Mat mask(image.size(), CV_8UC1);
    for (int r = 0; r < image.rows; ++r) {
        const double *v = values.ptr<double>(r);
        uchar *m = mask.ptr<uchar>(r);
        for (int c = 0; c < image.cols; ++c) {
            bool inside = false;
            for (int k = 0; k < cn; ++k)
                inside = inside || v[c * cn + k] > threshold;
            m[c] = inside ? 255 : 0;
        }
    }
    return mask;
}

double relevanceMass(const cv::Mat &map, const cv::Mat &mask)
{
    checkMapAndMask(map, mask, "relevanceMass");
    const auto a = absoluteValues(map);
    const auto in = insideOf(mask);
    double inside = 0.0, total = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
        total += a[i];
        if (in[i])
            inside += a[i];
    }
    return total > 0.0 ? inside / total : 0.0;
}

double relevanceRankAccuracy(const cv::Mat &map, const cv::Mat &mask)
{
    checkMapAndMask(map, mask, "relevanceRankAccuracy");
    const auto a = absoluteValues(map);
    const auto in = insideOf(mask);
    const size_t k = size_t(std::count(in.begin(), in.end(), 1));
    if (k == 0)
        return 0.0;
    std::vector<size_t> order(a.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return a[x] > a[y]; });
    size_t hits = 0;
    for (size_t i = 0; i < k; ++i)
        hits += in[order[i]];
    return double(hits) / double(k);
}

bool pointingGame(const cv::Mat &map, const cv::Mat &mask, int tolerance)
{
    checkMapAndMask(map, mask, "pointingGame");
    if (tolerance < 0)
        throw std::invalid_argument("the pointing game's tolerance must be >= 0 pixels, got " +
                                    std::to_string(tolerance));
    int bestRow = 0, bestCol = 0;
    float best = map.at<float>(0, 0);
    for (int r = 0; r < map.rows; ++r) {
        const float *p = map.ptr<float>(r);
        for (int c = 0; c < map.cols; ++c)
            if (p[c] > best) {
                best = p[c];
                bestRow = r;
                bestCol = c;
            }
    }
    const long long t2 = (long long)tolerance * tolerance;
    for (int r = std::max(0, bestRow - tolerance); r <= std::min(map.rows - 1, bestRow + tolerance);
         ++r) {
        const uchar *m = mask.ptr<uchar>(r);
        const long long dr = r - bestRow;
        for (int c = std::max(0, bestCol - tolerance);
             c <= std::min(map.cols - 1, bestCol + tolerance); ++c) {
            const long long dc = c - bestCol;
            if (m[c] != 0 && dr * dr + dc * dc <= t2)
                return true;
        }
    }
    return false;
}

double gini(const cv::Mat &map)
{
    checkMap(map, "gini");
    auto a = absoluteValues(map);
    std::sort(a.begin(), a.end());
    const double n = double(a.size());
    double weighted = 0.0, total = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
        weighted += (2.0 * double(i + 1) - n - 1.0) * a[i];
        total += a[i];
    }
    if (total <= 0.0)
        return 0.0;
    return weighted / (n * total);
}

double maskFraction(const cv::Mat &mask)
{
    if (mask.empty() || mask.type() != CV_8UC1 || mask.dims != 2)
        throw std::invalid_argument("maskFraction needs a non-empty CV_8UC1 mask, got " +
                                    describe(mask));
    return double(cv::countNonZero(mask)) / double(mask.total());
}

} // namespace heatlens
