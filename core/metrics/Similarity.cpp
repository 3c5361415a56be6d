#include "core/metrics/Similarity.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

namespace heatlens {

namespace {

std::string describe(const cv::Mat &m)
{
    return std::to_string(m.cols) + "x" + std::to_string(m.rows) + " " + cv::typeToString(m.type());
}

void checkMap(const cv::Mat &m, const char *what)
{
    if (m.empty() || m.type() != CV_32FC1 || m.dims != 2)
        throw std::invalid_argument(std::string(what) + " must be a non-empty CV_32FC1 map, got " +
                                    (m.empty() ? std::string("an empty one") : describe(m)));
    if (!cv::checkRange(m))
        throw std::invalid_argument(std::string(what) + " holds NaN or infinite values");
}

void checkPair(const cv::Mat &a, const cv::Mat &b, const char *function)
{
    if (a.empty() || b.empty() || a.type() != CV_32FC1 || b.type() != CV_32FC1 || a.dims != 2 ||
        b.dims != 2 || a.size() != b.size())
        throw std::invalid_argument(
            std::string(function) + " needs two CV_32FC1 maps of the same non-zero size, got " +
            (a.empty() ? std::string("an empty map") : describe(a)) + " and " +
            (b.empty() ? std::string("an empty map") : describe(b)));
    checkMap(a, "the first map");
    checkMap(b, "the second map");
}

std::vector<double> valuesOf(const cv::Mat &m)
{
    std::vector<double> v;
    v.reserve(m.total());
    for (int r = 0; r < m.rows; ++r) {
        const float *p = m.ptr<float>(r);
        v.insert(v.end(), p, p + m.cols);
    }
    return v;
}

bool constant(const std::vector<double> &v)
{
    return std::all_of(v.begin(), v.end(), [&](double x) { return x == v.front(); });
}

// Pearson correlation of equally long vectors, two-pass in double; 0 when either is constant.
double pearsonOf(const std::vector<double> &a, const std::vector<double> &b)
{
    if (a.empty() || constant(a) || constant(b))
        return 0.0;
    const double n = double(a.size());
    const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n;
    const double mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
    double ab = 0.0, aa = 0.0, bb = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
        const double da = a[i] - ma, db = b[i] - mb;
        ab += da * db;
        aa += da * da;
        bb += db * db;
    }
    if (aa <= 0.0 || bb <= 0.0)
        return 0.0;
    return std::clamp(ab / std::sqrt(aa * bb), -1.0, 1.0);
}

// Ranks 1..n, ties getting the average of their ranks (scipy.stats.rankdata, method 'average').
std::vector<double> ranksOf(const std::vector<double> &v)
{
    std::vector<size_t> order(v.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return v[x] < v[y]; });
    std::vector<double> rank(v.size());
    for (size_t i = 0; i < order.size();) {
        size_t j = i + 1;
        while (j < order.size() && v[order[j]] == v[order[i]])
            ++j;
        const double average = double(i + j + 1) / 2.0; // mean of the ranks i + 1 .. j
        for (size_t k = i; k < j; ++k)
            rank[order[k]] = average;
        i = j;
    }
    return rank;
}

// Sum over every 7x7 window lying inside the image, as a (rows - 6) x (cols - 6) CV_64F matrix.
cv::Mat windowSums(const cv::Mat &m)
{
    cv::Mat sum;
    cv::integral(m, sum, CV_64F);
    const int w = 7, rows = m.rows - w + 1, cols = m.cols - w + 1;
    cv::Mat out(rows, cols, CV_64F);
    for (int r = 0; r < rows; ++r) {
        const double *top = sum.ptr<double>(r), *bottom = sum.ptr<double>(r + w);
        double *o = out.ptr<double>(r);
        for (int c = 0; c < cols; ++c)
            o[c] = bottom[c + w] - bottom[c] - top[c + w] + top[c];
    }
    return out;
}

} // namespace

double spearman(const cv::Mat &a, const cv::Mat &b)
{
    checkPair(a, b, "spearman");
    const auto va = valuesOf(a), vb = valuesOf(b);
    if (constant(va) || constant(vb))
        return 0.0;
    return pearsonOf(ranksOf(va), ranksOf(vb));
}

double pearson(const cv::Mat &a, const cv::Mat &b)
{
    checkPair(a, b, "pearson");
    return pearsonOf(valuesOf(a), valuesOf(b));
}

double cosineSimilarity(const cv::Mat &a, const cv::Mat &b)
{
    checkPair(a, b, "cosineSimilarity");
    const auto va = valuesOf(a), vb = valuesOf(b);
    double ab = 0.0, aa = 0.0, bb = 0.0;
    for (size_t i = 0; i < va.size(); ++i) {
        ab += va[i] * vb[i];
        aa += va[i] * va[i];
        bb += vb[i] * vb[i];
    }
    if (aa == 0.0 || bb == 0.0)
        return 0.0;
    return std::clamp(ab / std::sqrt(aa * bb), -1.0, 1.0);
}

double ssim(const cv::Mat &a, const cv::Mat &b, double dataRange)
{
    checkPair(a, b, "ssim");
    if (a.rows < 7 || a.cols < 7)
        throw std::invalid_argument("ssim needs maps of at least 7x7 (its window), got " +
                                    describe(a));
    if (!(dataRange > 0.0) || !std::isfinite(dataRange))
        throw std::invalid_argument("ssim's data range must be a finite number > 0, got " +
                                    std::to_string(dataRange));
    cv::Mat x, y;
    a.convertTo(x, CV_64F);
    b.convertTo(y, CV_64F);
    const double np = 49.0, covNorm = np / (np - 1.0);
    const double c1 = (0.01 * dataRange) * (0.01 * dataRange);
    const double c2 = (0.03 * dataRange) * (0.03 * dataRange);
    const cv::Mat sx = windowSums(x), sy = windowSums(y), sxx = windowSums(x.mul(x)),
                  syy = windowSums(y.mul(y)), sxy = windowSums(x.mul(y));
    double total = 0.0;
    for (int r = 0; r < sx.rows; ++r)
        for (int c = 0; c < sx.cols; ++c) {
            const double ux = sx.at<double>(r, c) / np, uy = sy.at<double>(r, c) / np;
            const double vx = covNorm * (sxx.at<double>(r, c) / np - ux * ux);
            const double vy = covNorm * (syy.at<double>(r, c) / np - uy * uy);
            const double vxy = covNorm * (sxy.at<double>(r, c) / np - ux * uy);
            total += ((2.0 * ux * uy + c1) * (2.0 * vxy + c2)) /
                     ((ux * ux + uy * uy + c1) * (vx + vy + c2));
        }
    return total / double(sx.total());
}

std::vector<float> hogFeatures(const cv::Mat &map, int cellSize)
{
    checkMap(map, "the HOG map");
    if (cellSize < 1)
        throw std::invalid_argument("the HOG cell size must be at least 1, got " +
                                    std::to_string(cellSize));
    const int cellRows = map.rows / cellSize, cellCols = map.cols / cellSize;
    if (cellRows < 2 || cellCols < 2)
        throw std::invalid_argument("HOG with " + std::to_string(cellSize) +
                                    " px cells and 2x2-cell blocks needs a map of at least " +
                                    std::to_string(2 * cellSize) + "x" +
                                    std::to_string(2 * cellSize) + ", got " + describe(map));
    constexpr int bins = 9;
    constexpr double binWidth = 180.0 / bins;
    // Cell histograms: the summed magnitudes per orientation bin, accumulated in single
    // precision like skimage's cell_hog, then averaged over the cell's pixels.
    std::vector<float> sums(size_t(cellRows) * size_t(cellCols) * bins, 0.0f);
    for (int r = 0; r < cellRows * cellSize; ++r)
        for (int c = 0; c < cellCols * cellSize; ++c) {
            const bool innerRow = r > 0 && r<map.rows - 1, innerCol = c> 0 && c < map.cols - 1;
            const double gr =
                innerRow ? double(map.at<float>(r + 1, c) - map.at<float>(r - 1, c)) : 0.0;
            const double gc =
                innerCol ? double(map.at<float>(r, c + 1) - map.at<float>(r, c - 1)) : 0.0;
            const double magnitude = std::hypot(gc, gr);
            if (magnitude == 0.0)
                continue;
            // numpy: rad2deg(arctan2(g_row, g_col)) % 180, in [0, 180]; a value of exactly 180
            // (a tiny negative angle rounded up) falls in no bin, as in skimage.
            double angle = std::fmod(std::atan2(gr, gc) * (180.0 / CV_PI), 180.0);
            if (angle < 0.0)
                angle += 180.0;
            int bin = int(angle / binWidth);
            if (bin > 0 && angle < binWidth * bin)
                --bin;
            else if (bin < bins && angle >= binWidth * (bin + 1))
                ++bin;
            if (bin < 0 || bin >= bins)
                continue;
            float &s =
                sums[(size_t(r / cellSize) * size_t(cellCols) + size_t(c / cellSize)) * bins +
                     size_t(bin)];
            s = float(double(s) + magnitude);
        }
    const float area = float(cellSize * cellSize);
    const int blockRows = cellRows - 1, blockCols = cellCols - 1;
    std::vector<float> out;
    out.reserve(size_t(blockRows) * size_t(blockCols) * 4 * bins);
    constexpr double eps = 1e-5;
    std::vector<double> block(4 * bins);
    for (int br = 0; br < blockRows; ++br)
        for (int bc = 0; bc < blockCols; ++bc) {
            size_t k = 0;
            for (int dr = 0; dr < 2; ++dr)
                for (int dc = 0; dc < 2; ++dc)
                    for (int o = 0; o < bins; ++o)
                        block[k++] = double(
                            sums[(size_t(br + dr) * size_t(cellCols) + size_t(bc + dc)) * bins +
                                 size_t(o)] /
                            area);
            // L2-Hys: L2-normalise, clip at 0.2, L2-normalise again.
            double norm = 0.0;
            for (double v : block)
                norm += v * v;
            norm = std::sqrt(norm + eps * eps);
            double second = 0.0;
            for (double &v : block) {
                v = std::min(v / norm, 0.2);
                second += v * v;
            }
            second = std::sqrt(second + eps * eps);
            for (double v : block)
                out.push_back(float(v / second));
        }
    return out;
}

double hogPearson(const cv::Mat &a, const cv::Mat &b)
{
    checkPair(a, b, "hogPearson");
    const int cellSize = std::max(2, std::min(a.rows, a.cols) / 7);
    const auto fa = hogFeatures(a, cellSize), fb = hogFeatures(b, cellSize);
    return pearsonOf(std::vector<double>(fa.begin(), fa.end()),
                     std::vector<double>(fb.begin(), fb.end()));
}

double topKIntersectionOverUnion(const cv::Mat &a, const cv::Mat &b, double fraction)
{
    checkPair(a, b, "topKIntersectionOverUnion");
    if (!(fraction > 0.0 && fraction <= 1.0))
        throw std::invalid_argument("the top-k fraction must be in (0, 1], got " +
                                    std::to_string(fraction));
    const size_t n = a.total();
    const size_t k = std::clamp<size_t>(size_t(std::llround(fraction * double(n))), 1, n);
    auto topOf = [&](const std::vector<double> &v) {
        std::vector<size_t> order(n);
        std::iota(order.begin(), order.end(), size_t(0));
        std::stable_sort(order.begin(), order.end(),
                         [&](size_t x, size_t y) { return v[x] > v[y]; });
        std::vector<unsigned char> in(n, 0);
        for (size_t i = 0; i < k; ++i)
            in[order[i]] = 1;
        return in;
    };
    const auto ta = topOf(valuesOf(a)), tb = topOf(valuesOf(b));
    size_t both = 0;
    for (size_t i = 0; i < n; ++i)
        both += ta[i] && tb[i];
    return double(both) / double(2 * k - both);
}

PairwiseStability pairwiseStability(const std::vector<cv::Mat> &maps, double fraction)
{
    PairwiseStability out;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    out.spearman = out.topIoU = nan;
    if (maps.size() < 2)
        return out;
    for (const auto &m : maps)
        checkPair(maps.front(), m, "pairwiseStability");
    const size_t n = maps.front().total();
    const size_t k = std::clamp<size_t>(size_t(std::llround(fraction * double(n))), 1, n);
    struct Ranked
    {
        std::vector<double> centred; // ranks minus their mean
        double norm = 0.0;
        std::vector<unsigned char> top;
    };
    std::vector<Ranked> ranked;
    for (const auto &m : maps) {
        const auto values = valuesOf(m);
        Ranked r;
        if (!constant(values)) {
            r.centred = ranksOf(values);
            const double mean = (double(n) + 1.0) / 2.0;
            for (double &x : r.centred) {
                x -= mean;
                r.norm += x * x;
            }
            std::vector<double> magnitude(values.size());
            std::transform(values.begin(), values.end(), magnitude.begin(),
                           [](double v) { return std::abs(v); });
            std::vector<size_t> order(n);
            std::iota(order.begin(), order.end(), size_t(0));
            std::stable_sort(order.begin(), order.end(),
                             [&](size_t x, size_t y) { return magnitude[x] > magnitude[y]; });
            r.top.assign(n, 0);
            for (size_t i = 0; i < k; ++i)
                r.top[order[i]] = 1;
        }
        ranked.push_back(std::move(r));
    }
    double rho = 0.0, iou = 0.0;
    for (size_t i = 0; i < ranked.size(); ++i)
        for (size_t j = i + 1; j < ranked.size(); ++j) {
            const Ranked &a = ranked[i], &b = ranked[j];
            if (a.centred.empty() || b.centred.empty() || a.norm <= 0.0 || b.norm <= 0.0)
                continue;
            double dot = 0.0;
            size_t both = 0;
            for (size_t p = 0; p < n; ++p) {
                dot += a.centred[p] * b.centred[p];
                both += a.top[p] & b.top[p];
            }
            rho += std::clamp(dot / std::sqrt(a.norm * b.norm), -1.0, 1.0);
            iou += double(both) / double(2 * k - both);
            ++out.pairs;
        }
    if (out.pairs > 0) {
        out.spearman = rho / out.pairs;
        out.topIoU = iou / out.pairs;
    }
    return out;
}

} // namespace heatlens
