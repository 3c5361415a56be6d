#include "core/metrics/Faithfulness.h"
#include "core/model/Model.h"
#include "tests/support/KnownModels.h"
#include "tests/support/TestSupport.h"

#include <QTest>

#include <opencv2/core.hpp>

#include <torch/script.h>

using namespace heatlens;

namespace {

// logits = W · flatten(x) + b on a 1 x 4 x 5 input (20 pixels), 3 classes.
ModelPtr linearModel(const torch::Tensor &weight, const torch::Tensor &bias)
{
    return test::withCard(test::linearModule(weight, bias, false), 1, 4, 5, {}, {}, "linear");
}

cv::Mat toMap(const torch::Tensor &t)
{
    return test::mapOf(t);
}

} // namespace

class FaithfulnessTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void deletionWithTheTrueRankingIsTheRunningSumOfContributions()
    {
        // Additive model, baseline zero ("zero" = the all-zero input): deleting pixel i removes
        // exactly w_t,i x_i from the logit. With one pixel per step, the curve is f(x) minus the
        // running sum of the contributions in ranked order.
        torch::manual_seed(4);
        const auto w = torch::randn({3, 20}), b = torch::randn({3});
        const auto model = linearModel(w, b);
        const auto x = torch::randn({1, 1, 4, 5});
        const int t = 1;
        const auto contributions = (w[t] * x.flatten()).view({4, 5});
        CurveOptions o;
        o.baseline = "zero";
        o.steps = 20;
        o.batch = 6;
        const Curve c = perturbationCurve(*model, x, t, toMap(contributions), o, JobContext{});
        QCOMPARE(int(c.logits.size()), 21);
        QCOMPARE(c.forwardPasses, 21);
        auto sorted = std::get<0>(contributions.flatten().sort(0, /*descending=*/true));
        double logit = (torch::matmul(w[t], x.flatten()) + b[t]).item<double>();
        for (int k = 0; k <= 20; ++k) {
            QVERIFY2(std::abs(c.logits[size_t(k)] - logit) < 1e-4,
                     (std::to_string(k) + ": " + std::to_string(c.logits[size_t(k)]) + " vs " +
                      std::to_string(logit))
                         .c_str());
            QCOMPARE(c.fractions[size_t(k)], k / 20.0);
            if (k < 20)
                logit -= sorted[k].item<double>();
        }
        // Least relevant first climbs instead: the last point is the same, the area larger.
        o.order = "lerf";
        const Curve lerf = perturbationCurve(*model, x, t, toMap(contributions), o, JobContext{});
        QVERIFY(std::abs(lerf.logits.back() - c.logits.back()) < 1e-4);
        QVERIFY(lerf.aucLogit > c.aucLogit);
    }

    void thePerfectRankingBeatsRandomRankings()
    {
        torch::manual_seed(5);
        const auto w = torch::randn({3, 20});
        const auto model = linearModel(w, torch::zeros({3}));
        const auto x = torch::randn({1, 1, 4, 5});
        const auto truth = toMap((w[0] * x.flatten()).view({4, 5}));
        CurveOptions o;
        o.baseline = "zero";
        o.steps = 10;
        const double best = perturbationCurve(*model, x, 0, truth, o, JobContext{}).aucLogit;
        for (int seed = 0; seed < 8; ++seed) {
            torch::manual_seed(100 + seed);
            const auto random = toMap(torch::randn({4, 5}));
            const double auc = perturbationCurve(*model, x, 0, random, o, JobContext{}).aucLogit;
            QVERIFY2(best < auc, (std::to_string(best) + " vs " + std::to_string(auc)).c_str());
        }
        // Insertion: the true ranking restores the logit fastest (largest area).
        o.mode = "insertion";
        const double insertion = perturbationCurve(*model, x, 0, truth, o, JobContext{}).aucLogit;
        torch::manual_seed(7);
        const double randomInsertion =
            perturbationCurve(*model, x, 0, toMap(torch::randn({4, 5})), o, JobContext{}).aucLogit;
        QVERIFY(insertion > randomInsertion);
    }

    void aConstantModelHasAConstantCurveWhateverTheMap()
    {
        const auto model = linearModel(torch::zeros({3, 20}), torch::tensor({1.0f, 0.0f, 0.0f}));
        const double p = std::exp(1.0) / (std::exp(1.0) + 2.0);
        torch::manual_seed(6);
        const auto x = torch::randn({1, 1, 4, 5});
        for (const char *mode : {"deletion", "insertion"})
            for (int cells : {0, 2}) {
                CurveOptions o;
                o.mode = mode;
                o.cells = cells;
                o.steps = 7;
                const Curve c =
                    perturbationCurve(*model, x, 0, toMap(torch::randn({4, 5})), o, JobContext{});
                QVERIFY(std::abs(c.aucProbability - p) < 1e-6);
                QVERIFY(std::abs(c.aucLogit - 1.0) < 1e-6);
            }
    }

    void regionCurvesMoveWholeCellsRankedByTheirSums()
    {
        // cells = 2 cuts 4 x 5 into 2 x 2 cells; after one of 4 steps exactly the cell with the
        // largest summed attribution is at the baseline.
        const auto model = linearModel(torch::ones({3, 20}), torch::zeros({3}));
        const auto x = torch::ones({1, 1, 4, 5});
        auto map = torch::zeros({4, 5});
        map[3][4] = 5.0f; // bottom-right cell: rows 2-3, columns 2-4
        map[0][0] = 1.0f;
        CurveOptions o;
        o.baseline = "zero";
        o.cells = 2;
        o.steps = 4;
        const auto image = curveImage(*model, x, toMap(map), o, 0.25);
        const auto expected = torch::ones({4, 5});
        expected.slice(0, 2, 4).slice(1, 2, 5).zero_();
        QVERIFY(torch::equal(image[0][0], expected));
        const Curve c = perturbationCurve(*model, x, 0, toMap(map), o, JobContext{});
        QCOMPARE(c.logits[1], 20.0 - 6.0);
    }

    void badOptionsAndCancelAreReported()
    {
        const auto model = linearModel(torch::ones({3, 20}), torch::zeros({3}));
        const auto x = torch::ones({1, 1, 4, 5});
        CurveOptions o;
        o.mode = "sideways";
        QVERIFY(test::contains(
            test::errorOf([&] {
                perturbationCurve(*model, x, 0, toMap(torch::zeros({4, 5})), o, JobContext{});
            }),
            "\"sideways\""));
        QVERIFY(test::contains(test::errorOf([&] {
                                   perturbationCurve(*model, x, 0, toMap(torch::zeros({3, 5})),
                                                     CurveOptions{}, JobContext{});
                               }),
                               "5x3"));
        CancelToken token;
        token.cancel();
        QVERIFY(test::contains(test::errorOf([&] {
                                   perturbationCurve(*model, x, 0, toMap(torch::zeros({4, 5})),
                                                     CurveOptions{}, JobContext({}, token));
                               }),
                               "ancel"));
    }
};

QTEST_APPLESS_MAIN(FaithfulnessTest)
#include "test_faithfulness.moc"
