#include "core/metrics/Imputation.h"
#include "core/metrics/Localisation.h"
#include "core/metrics/Similarity.h"
#include "tests/support/TestSupport.h"

#include <QTest>

#include <opencv2/core.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace heatlens;

// Reference values marked "scipy 1.10.1" or "skimage 0.19.3" were computed once with Debian 12's
// python3-scipy / python3-skimage (numpy 1.24) on the same inputs, written out below:
//   scipy.stats.spearmanr(a, b).statistic, scipy.stats.pearsonr(a, b).statistic,
//   skimage.metrics.structural_similarity(a, b, data_range=R) on float64 arrays,
//   skimage.feature.hog(h.astype(np.float32), orientations=9, pixels_per_cell=(c, c),
//                       cells_per_block=(2, 2), block_norm='L2-Hys'),
// and the ROAD imputation reference by scipy.sparse.linalg.spsolve on the system built by a
// transcription of pytorch-grad-cam's NoisyLinearImputer.setup_sparse_system.

namespace {

cv::Mat mapOf(int rows, int cols, const std::vector<float> &values)
{
    cv::Mat m(rows, cols, CV_32FC1);
    for (int i = 0; i < rows * cols; ++i)
        m.at<float>(i / cols, i % cols) = values[size_t(i)];
    return m;
}

cv::Mat maskOf(int rows, int cols, const std::vector<int> &values)
{
    cv::Mat m(rows, cols, CV_8UC1);
    for (int i = 0; i < rows * cols; ++i)
        m.at<uchar>(i / cols, i % cols) = values[size_t(i)] ? 255 : 0;
    return m;
}

// Integer patterns, exact in float, shared with the Python reference computations.
cv::Mat patternA(int n) // (r^2 + 3c) mod 13
{
    cv::Mat m(n, n, CV_32FC1);
    for (int r = 0; r < n; ++r)
        for (int c = 0; c < n; ++c)
            m.at<float>(r, c) = float((r * r + 3 * c) % 13);
    return m;
}

cv::Mat patternB(int n) // (2r + c^2) mod 7
{
    cv::Mat m(n, n, CV_32FC1);
    for (int r = 0; r < n; ++r)
        for (int c = 0; c < n; ++c)
            m.at<float>(r, c) = float((2 * r + c * c) % 7);
    return m;
}

bool near(double a, double b, double tolerance)
{
    return std::abs(a - b) <= tolerance;
}

#define VERIFY_NEAR(actual, expected, tolerance)                                                   \
    do {                                                                                           \
        const double a_ = (actual), e_ = (expected);                                               \
        QVERIFY2(near(a_, e_, (tolerance)), (std::string(#actual) + " = " + std::to_string(a_) +   \
                                             ", expected " + std::to_string(e_))                   \
                                                .c_str());                                         \
    } while (false)

// A multi-channel image whose channel k is the linear function a_k r + b_k c + d_k.
cv::Mat linearImage(int rows, int cols, int channels)
{
    cv::Mat m(rows, cols, CV_32FC(channels));
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c)
            for (int k = 0; k < channels; ++k)
                m.ptr<float>(r)[c * channels + k] =
                    float((0.5 - 0.2 * k) * r / rows + (0.25 + 0.3 * k) * c / cols + 0.1 * k - 0.3);
    return m;
}

cv::Mat randomMask(int rows, int cols, double fraction, uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    cv::Mat m(rows, cols, CV_8UC1);
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c)
            m.at<uchar>(r, c) = u(rng) < fraction ? 255 : 0;
    return m;
}

// Pixels of `image` where `removed` is 0 have the same bits in `out`.
bool keptBitIdentical(const cv::Mat &image, const cv::Mat &out, const cv::Mat &removed)
{
    const size_t pixel = image.elemSize();
    for (int r = 0; r < image.rows; ++r)
        for (int c = 0; c < image.cols; ++c)
            if (removed.at<uchar>(r, c) == 0 &&
                std::memcmp(image.ptr(r) + c * pixel, out.ptr(r) + c * pixel, pixel) != 0)
                return false;
    return true;
}

} // namespace

class MetricFunctionsTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void spearmanAveragesTiedRanks()
    {
        // scipy 1.10.1: spearmanr([1, 2, 2, 3], [1, 3, 2, 4]) = 0.9486832980505139 (by hand:
        // ranks 1, 2.5, 2.5, 4 against 1, 3, 2, 4 give 4.5 / sqrt(4.5 * 5)).
        const cv::Mat a = mapOf(2, 2, {1, 2, 2, 3}), b = mapOf(2, 2, {1, 3, 2, 4});
        VERIFY_NEAR(spearman(a, b), 0.9486832980505139, 1e-12);
        VERIFY_NEAR(spearman(b, a), 0.9486832980505139, 1e-12);
        // scipy 1.10.1, ties on both sides.
        const cv::Mat c = mapOf(3, 4, {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8});
        const cv::Mat d = mapOf(3, 4, {2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5});
        VERIFY_NEAR(spearman(c, d), 0.1415796863640157, 1e-12);
        // scipy 1.10.1 on the 28x28 patterns (many ties).
        VERIFY_NEAR(spearman(patternA(28), patternB(28)), -0.023007902554173773, 1e-12);
    }

    void spearmanOfIdenticalNegatedAndConstantMaps()
    {
        const cv::Mat a = mapOf(2, 3, {0.5f, -1.0f, 2.0f, 3.0f, -0.25f, 1.5f});
        VERIFY_NEAR(spearman(a, a), 1.0, 1e-12);
        const cv::Mat negated = -a;
        VERIFY_NEAR(spearman(a, negated), -1.0, 1e-12);
        VERIFY_NEAR(spearman(cv::abs(a), cv::abs(negated)), 1.0, 1e-12);
        // A constant map carries no ranking: 0 (scipy says NaN), whichever side it is on.
        const cv::Mat constant(2, 3, CV_32FC1, cv::Scalar(4.0));
        QCOMPARE(spearman(a, constant), 0.0);
        QCOMPARE(spearman(constant, a), 0.0);
        QCOMPARE(spearman(constant, constant), 0.0);
    }

    void pearsonAndCosineKnownValues()
    {
        // scipy 1.10.1: pearsonr([1..6], [2, 1, 4, 3, 7, 5]) = 0.7917946548886294.
        const cv::Mat x = mapOf(2, 3, {1, 2, 3, 4, 5, 6}), y = mapOf(2, 3, {2, 1, 4, 3, 7, 5});
        VERIFY_NEAR(pearson(x, y), 0.7917946548886294, 1e-12);
        VERIFY_NEAR(pearson(x, 2.0 * x + 1.0), 1.0, 1e-12);
        VERIFY_NEAR(pearson(x, -x), -1.0, 1e-12);
        VERIFY_NEAR(pearson(patternA(28), patternB(28)), -0.023028429301369162, 1e-12);
        QCOMPARE(pearson(x, cv::Mat(2, 3, CV_32FC1, cv::Scalar(1.0))), 0.0);
        // By hand: [1, 2, 3, 4] . [4, 3, 2, 1] = 20, |a|^2 = |b|^2 = 30: 2/3.
        const cv::Mat a = mapOf(2, 2, {1, 2, 3, 4}), b = mapOf(2, 2, {4, 3, 2, 1});
        VERIFY_NEAR(cosineSimilarity(a, b), 2.0 / 3.0, 1e-12);
        VERIFY_NEAR(cosineSimilarity(a, 3.0 * a), 1.0, 1e-12);
        VERIFY_NEAR(cosineSimilarity(a, -a), -1.0, 1e-12);
        QCOMPARE(cosineSimilarity(a, cv::Mat::zeros(2, 2, CV_32FC1)), 0.0);
        QCOMPARE(cosineSimilarity(cv::Mat::zeros(2, 2, CV_32FC1), a), 0.0);
    }

    void ssimMatchesScikitImage()
    {
        // 9x9: 9 windows. a = ((9r + c) mod 7) / 8, b = ((r + 2c) mod 5 + (r + c) mod 2) / 8.
        cv::Mat a(9, 9, CV_32FC1), b(9, 9, CV_32FC1);
        for (int r = 0; r < 9; ++r)
            for (int c = 0; c < 9; ++c) {
                a.at<float>(r, c) = float((9 * r + c) % 7) / 8.0f;
                b.at<float>(r, c) = float((r + 2 * c) % 5 + (r + c) % 2) / 8.0f;
            }
        // skimage 0.19.3, structural_similarity on the float64 arrays.
        VERIFY_NEAR(ssim(a, b, 1.0), 0.10874814513235237, 1e-9);
        VERIFY_NEAR(ssim(b, a, 1.0), 0.10874814513235237, 1e-9);
        VERIFY_NEAR(ssim(a, b, 2.0), 0.1316327191990462, 1e-9);
        VERIFY_NEAR(ssim(a, a, 1.0), 1.0, 1e-12);
        VERIFY_NEAR(ssim(patternA(28), patternB(28), 12.0), -0.01798912816156091, 1e-9);
        // The windows lie inside the image: changing a corner pixel changes only the window
        // over it, so SSIM against the original drops below 1 but stays well above 0.
        cv::Mat c = a.clone();
        c.at<float>(0, 0) = 5.0f;
        const double corner = ssim(a, c, 1.0);
        QVERIFY2(corner < 0.999 && corner > 0.5, std::to_string(corner).c_str());
        QVERIFY(test::contains(test::errorOf([] {
                                   ssim(cv::Mat::zeros(6, 9, CV_32FC1),
                                        cv::Mat::zeros(6, 9, CV_32FC1), 1.0);
                               }),
                               "7x7"));
        QVERIFY(test::contains(test::errorOf([&] { ssim(a, b, 0.0); }), "range"));
    }

    void hogMatchesScikitImage()
    {
        // h = (3r + c^2) mod 11 on 8x8, 2 px cells: 3x3 blocks x 4 cells x 9 bins.
        cv::Mat h(8, 8, CV_32FC1);
        for (int r = 0; r < 8; ++r)
            for (int c = 0; c < 8; ++c)
                h.at<float>(r, c) = float((3 * r + c * c) % 11);
        const std::vector<float> f = hogFeatures(h, 2);
        QCOMPARE(int(f.size()), 324);
        // skimage 0.19.3 (float32 output): checksums and some entries.
        double sum = 0.0, squares = 0.0, weighted = 0.0;
        int nonZero = 0;
        for (size_t i = 0; i < f.size(); ++i) {
            sum += f[i];
            squares += double(f[i]) * f[i];
            weighted += double(i) * f[i];
            nonZero += f[i] != 0.0f;
        }
        VERIFY_NEAR(sum, 29.779240489006042, 1e-4);
        VERIFY_NEAR(squares, 8.99999975609074, 1e-5);
        VERIFY_NEAR(weighted, 4762.921135142446, 1e-2);
        QCOMPARE(nonZero, 100);
        const std::vector<std::pair<int, double>> entries = {
            {0, 0.20846791565418243},  {1, 0.0},
            {2, 0.3092799782752991},   {4, 0.3092799782752991},
            {9, 0.3092799782752991},   {10, 0.0},
            {100, 0.3080075681209564}, {103, 0.3080075681209564},
            {104, 0.2834611237049103}, {105, 0.0}};
        for (const auto &[i, v] : entries)
            VERIFY_NEAR(f[size_t(i)], v, 1e-6);
        QVERIFY(test::contains(test::errorOf([&] { hogFeatures(h, 0); }), "cell size"));
        QVERIFY(test::contains(test::errorOf([&] { hogFeatures(h, 5); }), "10x10"));
    }

    void hogPearsonOfIdenticalTransposedAndConstantMaps()
    {
        const cv::Mat a = patternA(28), b = patternB(28);
        VERIFY_NEAR(hogPearson(a, a), 1.0, 1e-12);
        // skimage 0.19.3 with 4 px cells (28 / 7), then scipy.stats.pearsonr.
        VERIFY_NEAR(hogPearson(a, b), -0.17542723179482295, 1e-5);
        const cv::Mat t = a.t();
        const double transposed = hogPearson(a, t);
        VERIFY_NEAR(transposed, -0.14136607226510323, 1e-5);
        QVERIFY(transposed < 1.0);
        QCOMPARE(hogPearson(a, cv::Mat(28, 28, CV_32FC1, cv::Scalar(3.0))), 0.0);
        QVERIFY(test::contains(test::errorOf([] {
                                   hogPearson(cv::Mat::zeros(3, 3, CV_32FC1),
                                              cv::Mat::zeros(3, 3, CV_32FC1));
                               }),
                               "4x4"));
    }

    void topKIntersectionOverUnionOnTinyMaps()
    {
        // Top 2 of [4 3; 2 1] are pixels {0, 1}, of [1 3; 2 4] pixels {3, 1}: IoU 1/3.
        const cv::Mat a = mapOf(2, 2, {4, 3, 2, 1}), b = mapOf(2, 2, {1, 3, 2, 4});
        VERIFY_NEAR(topKIntersectionOverUnion(a, b, 0.5), 1.0 / 3.0, 1e-12);
        VERIFY_NEAR(topKIntersectionOverUnion(a, a, 0.5), 1.0, 1e-12);
        VERIFY_NEAR(topKIntersectionOverUnion(a, b, 1.0), 1.0, 1e-12);
        // round(0.1 * 4) = 0, at least 1: the maxima, pixels 0 and 3, do not meet.
        QCOMPARE(topKIntersectionOverUnion(a, b, 0.1), 0.0);
        // round(0.75 * 4) = 3: {0, 1, 2} and {3, 1, 2}: 2 / 4.
        VERIFY_NEAR(topKIntersectionOverUnion(a, b, 0.75), 0.5, 1e-12);
        // Ties go by pixel order: the flat map's top 2 are pixels {0, 1}; [0 1; 1 1] gives
        // {1, 2}: 1/3.
        const cv::Mat flat(2, 2, CV_32FC1, cv::Scalar(1.0)), tied = mapOf(2, 2, {0, 1, 1, 1});
        VERIFY_NEAR(topKIntersectionOverUnion(flat, tied, 0.5), 1.0 / 3.0, 1e-12);
        QVERIFY(
            test::contains(test::errorOf([&] { topKIntersectionOverUnion(a, b, 0.0); }), "(0, 1]"));
        QVERIFY(
            test::contains(test::errorOf([&] { topKIntersectionOverUnion(a, b, 1.5); }), "(0, 1]"));
    }

    void similarityErrorsNameBothMaps()
    {
        const cv::Mat wide = cv::Mat::zeros(2, 3, CV_32FC1), tall = cv::Mat::zeros(3, 2, CV_32FC1);
        const std::string e = test::errorOf([&] { spearman(wide, tall); });
        QVERIFY2(test::contains(e, "3x2 CV_32FC1") && test::contains(e, "2x3 CV_32FC1"), e.c_str());
        const std::string d = test::errorOf([&] { pearson(wide, cv::Mat::zeros(2, 3, CV_64FC1)); });
        QVERIFY2(test::contains(d, "CV_64FC1") && test::contains(d, "CV_32FC1"), d.c_str());
        cv::Mat nan = wide.clone();
        nan.at<float>(1, 2) = std::nanf("");
        QVERIFY(test::contains(test::errorOf([&] { cosineSimilarity(wide, nan); }), "NaN"));
        QVERIFY(test::contains(test::errorOf([&] { ssim(cv::Mat(), wide, 1.0); }), "empty"));
    }

    void relevanceMassAndRankAccuracyByHand()
    {
        // |map| = 1, 2, 3, 0 (total 6).
        const cv::Mat map = mapOf(2, 2, {1, -2, 3, 0});
        const cv::Mat diagonal = maskOf(2, 2, {1, 0, 0, 1}), bottom = maskOf(2, 2, {0, 0, 1, 1});
        VERIFY_NEAR(relevanceMass(map, diagonal), 1.0 / 6.0, 1e-12);
        VERIFY_NEAR(relevanceMass(map, bottom), 3.0 / 6.0, 1e-12);
        QCOMPARE(relevanceMass(cv::Mat::zeros(2, 2, CV_32FC1), bottom), 0.0);
        // K = 2; the two largest |map| are pixels 2 (3) and 1 (2).
        QCOMPARE(relevanceRankAccuracy(map, diagonal), 0.0);
        QCOMPARE(relevanceRankAccuracy(map, bottom), 0.5);
        QCOMPARE(relevanceRankAccuracy(map, maskOf(2, 2, {0, 1, 1, 0})), 1.0);
        QCOMPARE(relevanceRankAccuracy(map, maskOf(2, 2, {0, 0, 0, 0})), 0.0);
        QCOMPARE(maskFraction(bottom), 0.5);
        QCOMPARE(maskFraction(maskOf(2, 2, {0, 0, 0, 1})), 0.25);
        const std::string e =
            test::errorOf([&] { relevanceMass(map, cv::Mat::zeros(2, 3, CV_8UC1)); });
        QVERIFY2(test::contains(e, "2x2 CV_32FC1") && test::contains(e, "3x2 CV_8UC1"), e.c_str());
        QVERIFY(test::contains(
            test::errorOf([&] { relevanceMass(map, cv::Mat::zeros(2, 2, CV_32FC1)); }), "CV_8UC1"));
        QVERIFY(test::contains(test::errorOf([] { maskFraction(cv::Mat()); }), "empty"));
    }

    void pointingGameUsesTheSignedMaximumAndTolerance()
    {
        // Signed maximum 3 at (row 1, col 0); |-5| is larger but negative.
        const cv::Mat map = mapOf(3, 3, {1, -5, 0, 3, 0, 0, 0, 0, 2});
        QVERIFY(pointingGame(map, maskOf(3, 3, {0, 0, 0, 1, 0, 0, 0, 0, 0})));
        QVERIFY(!pointingGame(map, maskOf(3, 3, {0, 1, 0, 0, 0, 0, 0, 0, 0})));
        // The mask pixel (0, 2) is sqrt(1 + 4) ~ 2.24 away: a hit from tolerance 3 on.
        const cv::Mat far = maskOf(3, 3, {0, 0, 1, 0, 0, 0, 0, 0, 0});
        QVERIFY(!pointingGame(map, far, 0));
        QVERIFY(!pointingGame(map, far, 2));
        QVERIFY(pointingGame(map, far, 3));
        // (0, 0) is exactly 1 away: within tolerance 1.
        QVERIFY(pointingGame(map, maskOf(3, 3, {1, 0, 0, 0, 0, 0, 0, 0, 0}), 1));
        // Equal maxima: the first in row-major order, (0, 1) here.
        const cv::Mat tied = mapOf(2, 2, {0, 7, 7, 0});
        QVERIFY(pointingGame(tied, maskOf(2, 2, {0, 1, 0, 0})));
        QVERIFY(!pointingGame(tied, maskOf(2, 2, {0, 0, 1, 0})));
        QVERIFY(test::contains(test::errorOf([&] { pointingGame(map, far, -1); }), "tolerance"));
    }

    void giniByHand()
    {
        // One-hot of n values: 1 - 1/n.
        cv::Mat oneHot = cv::Mat::zeros(4, 5, CV_32FC1);
        oneHot.at<float>(2, 3) = -2.5f;
        VERIFY_NEAR(gini(oneHot), 1.0 - 1.0 / 20.0, 1e-12);
        VERIFY_NEAR(gini(cv::Mat(3, 3, CV_32FC1, cv::Scalar(0.3))), 0.0, 1e-12);
        QCOMPARE(gini(cv::Mat::zeros(3, 3, CV_32FC1)), 0.0);
        // |a| sorted 0, 1, 2, 3: (-3*0 - 1*1 + 1*2 + 3*3) / (4 * 6) = 10 / 24.
        VERIFY_NEAR(gini(mapOf(2, 2, {2, 0, -3, 1})), 10.0 / 24.0, 1e-12);
    }

    void objectMaskMarksNonZeroPixels()
    {
        cv::Mat grey = (cv::Mat_<uchar>(2, 3) << 0, 1, 0, 255, 0, 7);
        const cv::Mat m = objectMask(grey);
        QCOMPARE(m.type(), CV_8UC1);
        QVERIFY(test::bitwiseEqual(m, (cv::Mat_<uchar>(2, 3) << 0, 255, 0, 255, 0, 255)));
        QVERIFY(test::bitwiseEqual(objectMask(grey, 5.0),
                                   (cv::Mat_<uchar>(2, 3) << 0, 0, 0, 255, 0, 255)));
        // Any channel counts.
        cv::Mat colour(1, 3, CV_8UC3);
        colour.at<cv::Vec3b>(0, 0) = {0, 0, 0};
        colour.at<cv::Vec3b>(0, 1) = {0, 0, 9};
        colour.at<cv::Vec3b>(0, 2) = {4, 0, 0};
        QVERIFY(test::bitwiseEqual(objectMask(colour), (cv::Mat_<uchar>(1, 3) << 0, 255, 255)));
        const cv::Mat floats = mapOf(1, 3, {0.25f, 0.5f, 0.75f});
        QVERIFY(test::bitwiseEqual(objectMask(floats, 0.5), (cv::Mat_<uchar>(1, 3) << 0, 0, 255)));
        QVERIFY(test::contains(test::errorOf([] { objectMask(cv::Mat::zeros(2, 2, CV_8SC1)); }),
                               "CV_8SC1"));
    }

    void imputationReproducesLinearImagesAwayFromTheBorder()
    {
        // The weighted mean of a symmetric neighbourhood of a linear function is its centre: with
        // no removed pixel on the border, the linear image solves the system exactly.
        for (const int side : {28, 224}) {
            const cv::Mat image = linearImage(side, side + 3, side == 28 ? 4 : 3);
            cv::Mat removed = randomMask(side, side + 3, 0.6, 11);
            // A contiguous blob covering most of the image, and the border kept.
            removed(cv::Rect(side / 8, side / 6, side * 3 / 4, side * 2 / 3)).setTo(255);
            removed.row(0).setTo(0);
            removed.row(side - 1).setTo(0);
            removed.col(0).setTo(0);
            removed.col(side + 2).setTo(0);
            ImputationStats stats;
            const cv::Mat out = noisyLinearImpute(image, removed, 0.0, 1, &stats);
            QCOMPARE(out.type(), image.type());
            QVERIFY(keptBitIdentical(image, out, removed));
            double worst = 0.0;
            for (int r = 0; r < side; ++r)
                for (int c = 0; c < side + 3; ++c)
                    for (int k = 0; k < image.channels(); ++k)
                        worst = std::max(
                            worst, double(std::abs(out.ptr<float>(r)[c * image.channels() + k] -
                                                   image.ptr<float>(r)[c * image.channels() + k])));
            QVERIFY2(worst < 1e-4, (std::to_string(side) + ": " + std::to_string(worst)).c_str());
            // The multigrid preconditioner keeps the iteration count small at any size.
            QVERIFY2(stats.iterations > 0 && stats.iterations < 40,
                     std::to_string(stats.iterations).c_str());
            QVERIFY(stats.relativeResidual <= 1e-6);
        }
    }

    void imputationMatchesRoadsSparseSolve()
    {
        // 5x6 image (7r + 3c) mod 10; removed pixels on the border, in a corner and adjacent to
        // each other. Reference: scipy 1.10.1 spsolve of pytorch-grad-cam's system.
        cv::Mat image(5, 6, CV_32FC1);
        for (int r = 0; r < 5; ++r)
            for (int c = 0; c < 6; ++c)
                image.at<float>(r, c) = float((7 * r + 3 * c) % 10);
        cv::Mat removed = cv::Mat::zeros(5, 6, CV_8UC1);
        const std::vector<std::pair<cv::Point, double>> expected = {
            {{0, 0}, 5.088383838383839}, {{1, 1}, 5.441919191919191}, {{2, 1}, 5.582070707070707},
            {{2, 2}, 5.05050505050505},  {{5, 2}, 5.06423982869379},  {{4, 3}, 3.513918629550321},
            {{5, 4}, 3.1027837259100646}};
        for (const auto &[p, v] : expected)
            removed.at<uchar>(p) = 1; // any non-zero value means removed
        const cv::Mat out = noisyLinearImpute(image, removed, 0.0, 0);
        for (const auto &[p, v] : expected)
            VERIFY_NEAR(out.at<float>(p), v, 1e-5);
        QVERIFY(keptBitIdentical(image, out, removed));
        // By hand for the corner: (3/6 + 7/6 + x(1,1)/12) / (5/12) = (20 + x(1,1)) / 5.
        VERIFY_NEAR(out.at<float>(0, 0), (20.0 + out.at<float>(1, 1)) / 5.0, 1e-5);
    }

    void imputationKeepsPixelsAndFillsFromOneKnownPixel()
    {
        cv::Mat image(31, 17, CV_32FC2);
        cv::RNG(5).fill(image, cv::RNG::NORMAL, 0.0, 1.0);
        image.at<cv::Vec2f>(3, 4) = {-0.0f, 1e-30f};
        cv::Mat removed = randomMask(31, 17, 0.5, 3);
        removed.at<uchar>(3, 4) = 0;
        const cv::Mat out = noisyLinearImpute(image, removed, 0.01, 9);
        QVERIFY(keptBitIdentical(image, out, removed));
        QVERIFY(std::signbit(out.at<cv::Vec2f>(3, 4)[0]));
        // Nothing removed: a copy.
        QVERIFY(test::bitwiseEqual(
            noisyLinearImpute(image, cv::Mat::zeros(31, 17, CV_8UC1), 0.5, 1), image));
        // One known pixel: every other one is the weighted mean of its neighbours, so all equal
        // it (the hardest case for the solver: one hole of 64 x 64 - 1 pixels).
        cv::Mat flat(64, 64, CV_32FC1, cv::Scalar(0.0));
        flat.at<float>(40, 7) = 2.5f;
        cv::Mat allButOne(64, 64, CV_8UC1, cv::Scalar(255));
        allButOne.at<uchar>(40, 7) = 0;
        const cv::Mat filled = noisyLinearImpute(flat, allButOne, 0.0, 0);
        double lo = 1e9, hi = -1e9;
        cv::minMaxLoc(filled, &lo, &hi);
        QVERIFY2(lo > 2.5 - 1e-4 && hi < 2.5 + 1e-4,
                 (std::to_string(lo) + " " + std::to_string(hi)).c_str());
    }

    void imputationNoiseIsSeededAndHasTheRequestedSpread()
    {
        const cv::Mat image = linearImage(224, 224, 1);
        const cv::Mat removed = randomMask(224, 224, 0.9, 21);
        const cv::Mat clean = noisyLinearImpute(image, removed, 0.0, 0);
        const cv::Mat a = noisyLinearImpute(image, removed, 0.01, 42);
        QVERIFY(test::bitwiseEqual(a, noisyLinearImpute(image, removed, 0.01, 42)));
        QVERIFY(!test::bitwiseEqual(a, noisyLinearImpute(image, removed, 0.01, 43)));
        QVERIFY(keptBitIdentical(image, a, removed));
        double sum = 0.0, squares = 0.0;
        int n = 0;
        for (int r = 0; r < 224; ++r)
            for (int c = 0; c < 224; ++c)
                if (removed.at<uchar>(r, c)) {
                    const double d = double(a.at<float>(r, c)) - double(clean.at<float>(r, c));
                    sum += d;
                    squares += d * d;
                    ++n;
                }
        QVERIFY(n > 40000);
        const double mean = sum / n, sd = std::sqrt(squares / n - mean * mean);
        // The standard error of the mean is 0.01 / sqrt(n) ~ 5e-5, of the deviation ~ 0.7%.
        QVERIFY2(std::abs(mean) < 2e-4, std::to_string(mean).c_str());
        QVERIFY2(std::abs(sd - 0.01) < 0.0005, std::to_string(sd).c_str());
    }

    void imputationWithEverythingRemovedIsNoiseAroundZero()
    {
        const cv::Mat image = linearImage(40, 50, 3);
        const cv::Mat all(40, 50, CV_8UC1, cv::Scalar(255));
        QVERIFY(test::bitwiseEqual(noisyLinearImpute(image, all, 0.0, 0),
                                   cv::Mat::zeros(40, 50, CV_32FC3)));
        const cv::Mat noisy = noisyLinearImpute(image, all, 0.5, 7);
        cv::Scalar mean, sd;
        cv::meanStdDev(noisy.reshape(1), mean, sd);
        QVERIFY2(std::abs(mean[0]) < 0.05 && std::abs(sd[0] - 0.5) < 0.03,
                 (std::to_string(mean[0]) + " " + std::to_string(sd[0])).c_str());
    }

    void imputationRejectsBadInput()
    {
        const cv::Mat image = linearImage(4, 5, 3), removed = cv::Mat::zeros(4, 5, CV_8UC1);
        QVERIFY(test::contains(test::errorOf([&] {
                                   noisyLinearImpute(cv::Mat::zeros(4, 5, CV_8UC3), removed, 0.0,
                                                     0);
                               }),
                               "CV_8UC3"));
        QVERIFY(test::contains(test::errorOf([&] {
                                   noisyLinearImpute(cv::Mat::zeros(4, 5, CV_32FC(5)), removed, 0.0,
                                                     0);
                               }),
                               "CV_32FC5"));
        const std::string size =
            test::errorOf([&] { noisyLinearImpute(image, cv::Mat::zeros(5, 4, CV_8UC1), 0.0, 0); });
        QVERIFY2(test::contains(size, "5x4") && test::contains(size, "4x5"), size.c_str());
        QVERIFY(test::contains(test::errorOf([&] {
                                   noisyLinearImpute(image, cv::Mat::zeros(4, 5, CV_32FC1), 0.0, 0);
                               }),
                               "CV_32FC1"));
        QVERIFY(test::contains(test::errorOf([&] { noisyLinearImpute(image, removed, -0.1, 0); }),
                               "noise"));
        QVERIFY(test::contains(
            test::errorOf([&] { noisyLinearImpute(image, removed, std::nan(""), 0); }), "noise"));
        QVERIFY(test::contains(
            test::errorOf([&] { noisyLinearImpute(cv::Mat(), removed, 0.0, 0); }), "empty"));
    }
};

QTEST_APPLESS_MAIN(MetricFunctionsTest)
#include "test_metric_functions.moc"
