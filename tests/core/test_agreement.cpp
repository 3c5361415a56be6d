#include "core/explain/MethodRegistry.h"
#include "core/metrics/Agreement.h"
#include "core/metrics/Comparison.h"
#include "core/model/DemoCnn.h"
#include "core/model/DemoVit.h"
#include "core/model/Model.h"
#include "core/model/Preprocess.h"
#include "tests/support/TestSupport.h"

#include <QTest>

#include <opencv2/core.hpp>

#include <cmath>

using namespace heatlens;
using heatlens::test::contains;
using heatlens::test::errorOf;

namespace {

cv::Mat mat(int rows, int cols, std::vector<float> values)
{
    return cv::Mat(rows, cols, CV_32F, values.data()).clone();
}

cv::Mat noiseMap(int rows, int cols, uint64_t seed, float lo = -1.0f, float hi = 1.0f)
{
    cv::Mat m(rows, cols, CV_32F);
    cv::RNG rng(seed);
    rng.fill(m, cv::RNG::UNIFORM, lo, hi);
    return m;
}

// A map at `input` resolution constant over patches of `patch` pixels, every patch a distinct
// value (a shuffled 0, 1, 2, ...).
cv::Mat patchConstantMap(cv::Size input, int patch, cv::Mat &values)
{
    const int rows = input.height / patch, cols = input.width / patch;
    values = cv::Mat(rows, cols, CV_32F);
    std::vector<float> v(size_t(rows * cols));
    for (size_t i = 0; i < v.size(); ++i)
        v[i] = float(i);
    cv::RNG rng(7);
    for (size_t i = v.size() - 1; i > 0; --i)
        std::swap(v[i], v[size_t(rng.uniform(0, int(i) + 1))]);
    std::copy(v.begin(), v.end(), values.begin<float>());
    cv::Mat map(input, CV_32F);
    for (int y = 0; y < input.height; ++y)
        for (int x = 0; x < input.width; ++x)
            map.at<float>(y, x) = values.at<float>(y / patch, x / patch);
    return map;
}

// The median value of the frame pixels whose centre falls in each patch: for a map that kept the
// patch ranking, these are ordered like the patch values.
std::vector<double> patchMedians(const cv::Mat &frameMap, cv::Rect crop, int rows, int cols)
{
    std::vector<std::vector<float>> per(size_t(rows * cols));
    for (int y = crop.y; y < crop.y + crop.height; ++y)
        for (int x = crop.x; x < crop.x + crop.width; ++x) {
            const int pr = int((y - crop.y + 0.5) / crop.height * rows);
            const int pc = int((x - crop.x + 0.5) / crop.width * cols);
            per[size_t(pr * cols + pc)].push_back(frameMap.at<float>(y, x));
        }
    std::vector<double> medians;
    for (auto &v : per) {
        std::nth_element(v.begin(), v.begin() + long(v.size() / 2), v.end());
        medians.push_back(v[v.size() / 2]);
    }
    return medians;
}

} // namespace

class AgreementTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void metricsMatchHandComputedValuesWithTies()
    {
        // Ranks of a: 1, 2.5, 2.5, 4; of b: 1, 4, 2.5, 2.5 (ties get their mean rank).
        // Deviations from 2.5: (-1.5, 0, 0, 1.5) and (-1.5, 1.5, 0, 0): rho = 2.25 / 4.5.
        const cv::Mat a = mat(2, 2, {1, 2, 2, 3}), b = mat(2, 2, {1, 3, 2, 2});
        AgreementOptions signedOptions;
        signedOptions.absolute = false;
        signedOptions.topFraction = 0.5;
        const Agreement r = agreement(a, b, signedOptions);
        QCOMPARE(r.spearman, 0.5);
        QCOMPARE(r.pearson, 0.5); // deviations (-1,0,0,1), (-1,1,0,0): 1 / 2
        QVERIFY(std::abs(r.cosine - 17.0 / 18.0) < 1e-12); // 17 / sqrt(18 * 18)
        // Top 2 of a: pixel 3, then pixel 1 (the tie 1/2 goes to the earlier); of b: 1, then 2.
        QVERIFY(std::abs(r.topIou - 1.0 / 3.0) < 1e-12);
        QVERIFY(std::isnan(r.ssim)); // a 2 x 2 map has no 7 x 7 window
        QCOMPARE(r.value("spearman"), r.spearman);
        QVERIFY(contains(errorOf([&] { (void)r.value("kendall"); }), "kendall"));
        QCOMPARE(agreementMetricLabel("top_k_iou", 0.1), std::string("top-10% IoU"));
    }

    void identicalMapsAgreeCompletelyAndNegationFlipsOnlyTheSign()
    {
        const cv::Mat a = noiseMap(16, 12, 1);
        for (bool absolute : {false, true}) {
            AgreementOptions o;
            o.absolute = absolute;
            const Agreement same = agreement(a, a.clone(), o);
            for (const auto &metric : agreementMetrics())
                QVERIFY2(std::abs(same.value(metric) - 1.0) < 1e-9, metric.c_str());
        }
        const cv::Mat negated = -a;
        AgreementOptions signedOptions;
        signedOptions.absolute = false;
        const Agreement s = agreement(a, negated, signedOptions);
        QVERIFY(std::abs(s.spearman + 1.0) < 1e-12);
        QVERIFY(std::abs(s.pearson + 1.0) < 1e-12);
        QVERIFY(std::abs(s.cosine + 1.0) < 1e-12);
        // SSIM is not signed: its luminance and structure terms both flip sign, so it is not -1.
        QCOMPARE(s.topIou,
                 0.0); // the most positive pixels of one are the most negative of the other
        const Agreement abs = agreement(a, negated, AgreementOptions{});
        for (const auto &metric : agreementMetrics())
            QVERIFY2(std::abs(abs.value(metric) - 1.0) < 1e-9, metric.c_str());
    }

    void scaleDoesNotChangeAgreementButShapeDoes()
    {
        const cv::Mat a = noiseMap(20, 20, 2, 0.0f, 1.0f);
        const Agreement scaled = agreement(a, a * 37.0, AgreementOptions{});
        QVERIFY(std::abs(scaled.ssim - 1.0) < 1e-6); // SSIM sees normalised maps
        QVERIFY(std::abs(scaled.spearman - 1.0) < 1e-12);
        const Agreement other = agreement(a, noiseMap(20, 20, 3, 0.0f, 1.0f), AgreementOptions{});
        QVERIFY(std::abs(other.spearman) < 0.2);
        QVERIFY(other.topIou < 0.3);
        QVERIFY(contains(errorOf([&] { agreement(a, noiseMap(20, 21, 3), AgreementOptions{}); }),
                         "20x20 and 21x20"));
        AgreementOptions bad;
        bad.topFraction = 0.0;
        QVERIFY(contains(errorOf([&] { agreement(a, a, bad); }), "top-k fraction"));
    }

    void consensusIsTheMeanAndDisagreementTheSpreadOfNormalisedMaps()
    {
        AgreementOptions o;
        o.clipPercentile = 100.0; // scale = max |map|
        const cv::Mat a = mat(1, 4, {0, 1, 2, 4}), b = mat(1, 4, {-2, 0, -2, 0});
        // Normalised |a| = (0, .25, .5, 1), |b| = (1, 0, 1, 0).
        const Consensus c = consensusMaps({a, b}, o);
        QCOMPARE(c.maps, 2);
        const float mean[] = {0.5f, 0.125f, 0.75f, 0.5f}, spread[] = {0.5f, 0.125f, 0.25f, 0.5f};
        for (int i = 0; i < 4; ++i) {
            QVERIFY(std::abs(c.mean.at<float>(0, i) - mean[i]) < 1e-6);
            QVERIFY(std::abs(c.spread.at<float>(0, i) - spread[i]) < 1e-6);
        }
        const Consensus one = consensusMaps({a}, o);
        QCOMPARE(cv::countNonZero(one.spread), 0);
        QVERIFY(contains(errorOf([&] {
                             consensusMaps({a, mat(2, 2, {1, 2, 3, 4})}, o);
                         }),
                         "4x1 and 2x2"));
    }

    void pairsAreTheUpperTriangleInRowMajorOrder()
    {
        QCOMPARE(pairIndex(0, 1, 4), size_t(0));
        QCOMPARE(pairIndex(0, 3, 4), size_t(2));
        QCOMPARE(pairIndex(1, 2, 4), size_t(3));
        QCOMPARE(pairIndex(3, 2, 4), size_t(5));
        const cv::Mat a = noiseMap(8, 8, 4), b = noiseMap(8, 8, 5);
        const auto pairs = pairwiseAgreement({a, b, cv::Mat(), a}, AgreementOptions{});
        QCOMPARE(pairs.size(), size_t(6));
        QCOMPARE(pairs[pairIndex(0, 1, 4)].spearman, agreement(a, b, AgreementOptions{}).spearman);
        QVERIFY(std::isnan(pairs[pairIndex(1, 2, 4)].pearson)); // a cell without a map
        QVERIFY(std::abs(pairs[pairIndex(0, 3, 4)].spearman - 1.0) < 1e-12);
    }

    void resamplingToTheImageFrameKeepsThePatchRanking()
    {
        // A ViT-B/16-like map (14 x 14 patches on a 224 input) brought to a 28 x 28 image (the
        // map shrinks) and to a 500 x 375 photo (it grows); a 4 x 4 grid on a 28 input brought
        // to a 112 x 112 image; a centre-cropped model on a wide image.
        struct Case
        {
            cv::Size input;
            int patch;
            cv::Size native;
            bool crop;
        };
        for (const Case &c :
             {Case{{224, 224}, 16, {28, 28}, false}, Case{{224, 224}, 16, {500, 375}, false},
              Case{{28, 28}, 7, {112, 112}, false}, Case{{224, 224}, 16, {640, 480}, true}}) {
            cv::Mat values;
            const cv::Mat map = patchConstantMap(c.input, c.patch, values);
            InputGeometry g;
            g.native = c.native;
            g.input = c.input;
            g.crop = c.crop ? cv::Rect(80, 0, 480, 480)
                            : cv::Rect(0, 0, c.native.width, c.native.height);
            const cv::Mat frame = mapToFrame(map, g, c.native);
            QCOMPARE(frame.size(), c.native);
            const auto medians = patchMedians(frame, g.crop, values.rows, values.cols);
            for (int i = 0; i < int(values.total()); ++i)
                QVERIFY2(std::abs(medians[size_t(i)] -
                                  values.at<float>(i / values.cols, i % values.cols)) < 1e-4,
                         qPrintable(QStringLiteral("patch %1 of %2x%3 -> %4x%5")
                                        .arg(i)
                                        .arg(c.input.width)
                                        .arg(c.input.height)
                                        .arg(c.native.width)
                                        .arg(c.native.height)));
            // The ranking of the frame's pixels is the patch ranking, up to the pixels on patch
            // borders that blend two patches.
            cv::Mat ideal(c.native, CV_32F, cv::Scalar(0));
            for (int y = g.crop.y; y < g.crop.y + g.crop.height; ++y)
                for (int x = g.crop.x; x < g.crop.x + g.crop.width; ++x)
                    ideal.at<float>(y, x) = float(medians[size_t(
                        int((y - g.crop.y + 0.5) / g.crop.height * values.rows) * values.cols +
                        int((x - g.crop.x + 0.5) / g.crop.width * values.cols))]);
            QVERIFY(agreement(frame, ideal, AgreementOptions{}).spearman > 0.97);
            if (c.crop) { // outside the crop the model saw nothing
                QCOMPARE(cv::countNonZero(frame(cv::Rect(0, 0, 80, 480))), 0);
                QCOMPARE(cropInFrame(g, {320, 240}), cv::Rect(40, 0, 240, 240));
            }
            // And back at input resolution: every patch's centre has the patch's value again.
            const cv::Mat back = frameToInput(frame, g);
            QCOMPARE(back.size(), c.input);
            for (int pr = 0; pr < values.rows; ++pr)
                for (int pc = 0; pc < values.cols; ++pc)
                    QVERIFY(std::abs(back.at<float>(pr * c.patch + c.patch / 2,
                                                    pc * c.patch + c.patch / 2) -
                                     values.at<float>(pr, pc)) < 1e-3);
        }
        QCOMPARE(comparisonFrame({4000, 3000}, 512), cv::Size(512, 384));
        QCOMPARE(comparisonFrame({28, 28}, 512), cv::Size(28, 28));
    }

    void cellsOfModelsWithOtherInputSizesShareTheImageFrame()
    {
        torch::manual_seed(0);
        const auto cnn = Model::fromModule(buildDemoCnn(CnnConfig{}), ModelCard{}, "cnn");
        VitConfig big;
        big.inputSize = 56;
        big.patch = 14;
        const auto vit = Model::fromModule(buildDemoVit(big), ModelCard{}, "vit 56");
        cv::Mat image(28, 28, CV_8UC1);
        cv::RNG(3).fill(image, cv::RNG::UNIFORM, 0, 255);
        const cv::Size frame = comparisonFrame(image.size());
        const CellResult a =
            explainCell(cnn, image, "saliency", {}, 2, frame, nullptr, JobContext{});
        const CellResult b =
            explainCell(vit, image, "attention-rollout", {}, 2, frame, nullptr, JobContext{});
        QVERIFY2(a.ok && b.ok, (a.error + b.error).c_str());
        QCOMPARE(a.map.size(), cv::Size(28, 28));
        QCOMPARE(b.map.size(), cv::Size(28, 28));
        QCOMPARE(a.target, 2);
        QCOMPARE(b.target, 2);
        QCOMPARE(int(a.prediction.probabilities.size()), 10);
        const auto pairs = cellAgreement({&a, &b}, AgreementOptions{});
        QCOMPARE(pairs.size(), size_t(1));
        QVERIFY(std::isfinite(pairs[0].spearman) && std::isfinite(pairs[0].ssim));

        const CellResult own =
            explainCell(cnn, image, "saliency", {}, -1, frame, nullptr, JobContext{});
        QCOMPARE(own.target, own.prediction.predicted);
        const CellResult notApplicable =
            explainCell(cnn, image, "attention-rollout", {}, 2, frame, nullptr, JobContext{});
        QVERIFY(!notApplicable.ok);
        QVERIFY2(contains(notApplicable.error, "attention"), notApplicable.error.c_str());
        const CellResult outOfRange =
            explainCell(cnn, image, "saliency", {}, 12, frame, nullptr, JobContext{});
        QVERIFY(!outOfRange.ok);
        QVERIFY2(contains(outOfRange.error, "class 12 is out of range"), outOfRange.error.c_str());
        // A pair with a cell without a map is undefined, the others are still computed.
        const auto withMissing = cellAgreement({&a, &notApplicable, &b}, AgreementOptions{});
        QVERIFY(std::isnan(withMissing[0].spearman));
        QCOMPARE(withMissing[pairIndex(0, 2, 3)].spearman, pairs[0].spearman);
    }

    void imageComparisonsGroupByClassAndCorrectness()
    {
        torch::manual_seed(1);
        const auto cnn = Model::fromModule(buildDemoCnn(CnnConfig{}), ModelCard{}, "cnn");
        const auto vit = Model::fromModule(buildDemoVit(VitConfig{}), ModelCard{}, "vit");
        ComparisonOptions o;
        o.methods = {"saliency", "attention-rollout"};
        validateComparison(o, {cnn, vit});
        std::vector<ImageComparison> images;
        for (int i = 0; i < 3; ++i) {
            Sample s;
            s.image = cv::Mat(28, 28, CV_8UC1);
            cv::RNG(uint64_t(10 + i)).fill(s.image, cv::RNG::UNIFORM, 0, 255);
            s.label = i;
            s.id = "random/" + std::to_string(i);
            images.push_back(compareImage({cnn, vit}, s, size_t(i), o, nullptr, JobContext{}));
            QCOMPARE(images.back().cells.size(), size_t(4));
            QCOMPARE(images.back().pairs.size(), size_t(6));
            QCOMPARE(images.back().cells[0].target, i); // the true label, for every model
            QCOMPARE(images.back().cells[2].target, i);
            QVERIFY(!images.back().cells[1].ok); // rollout on the CNN
        }
        const auto summary = summariseComparisons(images, {cnn, vit}, 2);
        QCOMPARE(summary.size(), size_t(6));
        // CNN saliency vs ViT saliency: over the 3 images, one class each.
        const auto &pair = summary[pairIndex(0, 2, 4)];
        QCOMPARE(pair.at("all").at("spearman").n, 3);
        std::vector<double> direct;
        for (const auto &image : images)
            direct.push_back(image.pairs[pairIndex(0, 2, 4)].spearman);
        QVERIFY(std::abs(pair.at("all").at("spearman").mean -
                         (direct[0] + direct[1] + direct[2]) / 3.0) < 1e-12);
        QCOMPARE(pair.at("class:" + cnn->label(1)).at("spearman").n, 1);
        int grouped = 0;
        for (const char *g : {"correct", "incorrect", "mixed"})
            if (pair.count(g))
                grouped += pair.at(g).at("spearman").n;
        QCOMPARE(grouped, 3);
        QVERIFY(summary[pairIndex(0, 1, 4)].empty()); // never both defined
        o.target = "mine";
        QVERIFY(contains(errorOf([&] { validateComparison(o, {cnn, vit}); }), "mine"));
    }
};

QTEST_GUILESS_MAIN(AgreementTest)
#include "test_agreement.moc"
