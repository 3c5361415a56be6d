// Known answers of the perturbation family (Occlusion, Feature Ablation, RISE, LIME, KernelSHAP):
// tiny models whose attributions are computed by hand.
#include "core/explain/Baselines.h"
#include "core/explain/ExplainJob.h"
#include "core/explain/Integration.h"
#include "core/explain/MethodRegistry.h"
#include "core/explain/Params.h"
#include "core/groups/Grouping.h"
#include "core/model/InputImage.h"
#include "core/model/Model.h"
#include "core/model/Preprocess.h"
#include "tests/support/KnownModels.h"
#include "tests/support/TestSupport.h"

#include <QTest>

#include <opencv2/core.hpp>

#include <torch/script.h>

#include <cmath>
#include <functional>

using namespace heatlens;
using namespace heatlens::test;
using torch::jit::Module;

class PerturbationKnownAnswersTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void occlusionWithOnePixelWindowsIsInputMinusBaselineTimesWeights()
    {
        LinearCase c;
        for (const char *kind : {"zero", "mean", "blur"}) {
            auto e =
                explainWith("occlusion", c.model, c.input, 1,
                            {{"window", "1"}, {"stride", "1"}, {"baseline", kind}, {"batch", "5"}});
            const auto b = makeBaseline(kind, c.input, c.model->card());
            const auto expected = ((c.input - b)[0] * c.weightOf(1)).sum(0);
            QVERIFY2(test::allClose(tensorOf(e.map), expected, 1e-5),
                     (std::string(kind) + ": " + test::maxDifference(tensorOf(e.map), expected))
                         .c_str());
            QCOMPARE(e.forwardPasses, 1 + 12);
            QCOMPARE(e.backwardPasses, 0);
        }
    }

    void occlusionAveragesTheWindowsCoveringEachPixel()
    {
        LinearCase c;
        const auto contribution = (c.input[0] * c.weightOf(0)).sum(0); // [3, 4], zero baseline
        // Window 2, stride 1 on 3 x 4: origins rows {0, 1}, cols {0, 1, 2}.
        auto sum = torch::zeros({3, 4}), count = torch::zeros({3, 4});
        for (int r = 0; r < 2; ++r)
            for (int col = 0; col < 3; ++col) {
                const float drop =
                    contribution.slice(0, r, r + 2).slice(1, col, col + 2).sum().item<float>();
                sum.slice(0, r, r + 2).slice(1, col, col + 2) += drop;
                count.slice(0, r, r + 2).slice(1, col, col + 2) += 1.0f;
            }
        std::vector<double> fractions;
        int partials = 0;
        const Method &method = MethodRegistry::instance().get("occlusion");
        ExplainRequest request;
        request.model = c.model;
        request.input = c.input;
        request.target = 0;
        request.params = resolveParams(
            method.params(), {{"window", "2"}, {"stride", "1"}, {"batch", "2"}}, "occlusion");
        JobContext ctx([&](const ProgressUpdate &u) {
            fractions.push_back(u.fraction);
            partials += !u.partialMap.empty();
        });
        auto e = method.explain(request, ctx);
        QVERIFY2(test::allClose(tensorOf(e.map), sum / count, 1e-5),
                 test::maxDifference(tensorOf(e.map), sum / count).c_str());
        QCOMPARE(partials, 3); // 6 windows in batches of 2, streamed
        QVERIFY(std::is_sorted(fractions.begin(), fractions.end()));
    }

    void featureAblationGivesEachCellItsSummedContribution()
    {
        // 3 x 4 image in 2 x 2 cells: rows {0} {1, 2}, columns {0, 1} {2, 3}.
        LinearCase c;
        const auto contribution =
            ((c.input - makeBaseline("mean", c.input, c.model->card()))[0] * c.weightOf(2)).sum(0);
        auto expected = torch::zeros({3, 4});
        for (auto [r0, r1] : {std::pair{0, 1}, std::pair{1, 3}})
            for (auto [c0, c1] : {std::pair{0, 2}, std::pair{2, 4}})
                expected.slice(0, r0, r1).slice(1, c0, c1).fill_(
                    contribution.slice(0, r0, r1).slice(1, c0, c1).sum().item<float>());
        auto e = explainWith("feature-ablation", c.model, c.input, 2,
                             {{"cells", "2"}, {"baseline", "mean"}, {"batch", "3"}});
        QVERIFY2(test::allClose(tensorOf(e.map), expected, 1e-5),
                 test::maxDifference(tensorOf(e.map), expected).c_str());
        QCOMPARE(e.forwardPasses, 1 + 4);
        QVERIFY(e.signedMap);
        // Cells of one pixel: the per-pixel contributions themselves.
        auto pixels = explainWith("feature-ablation", c.model, c.input, 2,
                                  {{"cells", "64"}, {"baseline", "mean"}});
        QVERIFY(test::allClose(tensorOf(pixels.map), contribution, 1e-5));
    }

    void removedGroupsCanTakeTheirOwnMeanColourInsteadOfTheBaseline()
    {
        // fill = group-mean: a removed cell becomes its own mean colour (lime_image's default),
        // so the drop of a linear model is sum over the cell of w (x - mean of the cell).
        LinearCase c;
        const int target = 1;
        const Grouping grid = gridGrouping(cv::Size(4, 3), 2, 2);
        const auto labels =
            torch::from_blob(const_cast<int *>(grid.labels.ptr<int>()), {12}, torch::kInt32)
                .to(torch::kInt64);
        const auto flat = c.input[0].reshape({c.input.size(1), 12}); // [C, 12]
        const auto sums = torch::zeros({flat.size(0), 4}).index_add_(1, labels, flat);
        const auto counts = torch::zeros({4}).index_add_(0, labels, torch::ones({12}));
        const auto cellMean = (sums / counts).index_select(1, labels);
        const auto contribution =
            ((flat - cellMean) * c.weightOf(target).reshape({flat.size(0), 12})).sum(0);
        const auto drops = torch::zeros({4}).index_add_(0, labels, contribution);
        const auto expected = drops.index_select(0, labels).view({3, 4});
        auto e = explainWith("feature-ablation", c.model, c.input, target,
                             {{"cells", "2"}, {"fill", "group-mean"}});
        QVERIFY2(test::allClose(tensorOf(e.map), expected, 1e-5),
                 test::maxDifference(tensorOf(e.map), expected).c_str());
        // KernelSHAP's Shapley values of the same additive game are the same drops.
        auto shap = explainWith("kernel-shap", c.model, c.input, target,
                                {{"cells", "2"}, {"fill", "group-mean"}, {"samples", "40"}});
        QVERIFY2(test::allClose(tensorOf(shap.map), expected, 1e-4),
                 test::maxDifference(tensorOf(shap.map), expected).c_str());
        // An unknown fill is refused, naming the parameter.
        try {
            explainWith("lime", c.model, c.input, target, {{"fill", "paint"}});
            QFAIL("an unknown fill");
        } catch (const std::exception &error) {
            QVERIFY2(test::contains(error.what(), "fill"), error.what());
        }
    }

    void groupMethodsTakeSuperpixelsAndGiveEachItsSummedContribution()
    {
        // A linear model on a 24 x 24 image of four flat quadrants plus noise: SLICO superpixels
        // (the same deterministic labels the methods compute) instead of grid cells. Feature
        // Ablation and KernelSHAP give every superpixel the sum of its pixels' w (x - b).
        torch::manual_seed(21);
        const int side = 24;
        const auto weight = torch::randn({2, side * side});
        auto image = torch::rand({1, 1, side, side}) * 0.1;
        image.slice(2, 0, 12).slice(3, 12, 24) += 0.8;
        image.slice(2, 12, 24).slice(3, 0, 12) += 0.5;
        const auto model =
            withCard(linearModule(weight, torch::tensor({0.1f, -0.3f})), 1, side, side);
        GroupingOptions options;
        options.method = "slico";
        options.groups = 9;
        const Grouping g = makeGrouping(inputToRgb8(image, model->card()), options, &model->card());
        QVERIFY2(g.count >= 5, qPrintable(QString::number(g.count)));
        const auto contribution = (image[0][0] * weight[1].view({side, side})).flatten();
        const auto labels =
            torch::from_blob(const_cast<int *>(g.labels.ptr<int>()), {side * side}, torch::kInt32)
                .to(torch::kInt64);
        const auto sums = torch::zeros({g.count}).index_add_(0, labels, contribution);
        const auto expected = sums.index_select(0, labels).view({side, side});
        const std::map<std::string, std::string> superpixels = {
            {"groups", "slico"}, {"cells", "3"}, {"baseline", "zero"}};
        auto ablation = explainWith("feature-ablation", model, image, 1, superpixels);
        QVERIFY2(test::allClose(tensorOf(ablation.map), expected, 1e-4),
                 test::maxDifference(tensorOf(ablation.map), expected).c_str());
        QCOMPARE(ablation.forwardPasses, 1 + g.count);
        auto shapParams = superpixels;
        shapParams["samples"] = "400";
        auto shap = explainWith("kernel-shap", model, image, 1, shapParams);
        QVERIFY2(test::allClose(tensorOf(shap.map), expected, 1e-3),
                 test::maxDifference(tensorOf(shap.map), expected).c_str());
        // A grouping the model cannot give is named.
        try {
            explainWith("lime", model, image, 1, {{"groups", "tokens"}});
            QFAIL("tokens of a model without a patch grid");
        } catch (const std::exception &e) {
            QVERIFY2(test::contains(e.what(), "patch grid"), e.what());
        }
    }

    void kernelShapOfALinearModelGivesEachCellItsSummedContributionExactly()
    {
        // An additive model's Shapley values are its cells' summed contributions, and KernelSHAP's
        // constrained regression recovers them exactly once the samples determine the system.
        // 3 x 4 image in 2 x 2 uneven cells: rows {0} {1, 2}, columns {0, 1} {2, 3}.
        LinearCase c;
        const auto b = makeBaseline("mean", c.input, c.model->card());
        const auto logits = c.model->predict(torch::cat({c.input, b}));
        for (int target = 0; target < 3; ++target) {
            const auto contribution = ((c.input - b)[0] * c.weightOf(target)).sum(0);
            auto expected = torch::zeros({3, 4});
            for (auto [r0, r1] : {std::pair{0, 1}, std::pair{1, 3}})
                for (auto [c0, c1] : {std::pair{0, 2}, std::pair{2, 4}})
                    expected.slice(0, r0, r1).slice(1, c0, c1).fill_(
                        contribution.slice(0, r0, r1).slice(1, c0, c1).sum().item<float>());
            // 21 samples: rounded up to 11 complementary pairs, in batches of 4 that split pairs.
            auto e = explainWith(
                "kernel-shap", c.model, c.input, target,
                {{"cells", "2"}, {"samples", "21"}, {"baseline", "mean"}, {"batch", "4"}});
            QVERIFY2(test::allClose(tensorOf(e.map), expected, 1e-4),
                     test::maxDifference(tensorOf(e.map), expected).c_str());
            QVERIFY(e.signedMap);
            QVERIFY(e.warnings.empty());
            // Input and baseline, then each distinct coalition once: 22 drawn over 4 cells
            // (sizes 1 to 3) hold at most 14 distinct ones.
            QVERIFY2(e.forwardPasses > 2 && e.forwardPasses <= 2 + 14,
                     std::to_string(e.forwardPasses).c_str());
            // Efficiency: the cells add up to f(x) - f(baseline).
            const double delta = (logits[0][target] - logits[1][target]).item<double>();
            QVERIFY(std::abs(e.stats.at("logit_delta") - delta) < 1e-5);
            QVERIFY(std::abs(e.stats.at("base_value") - logits[1][target].item<double>()) < 1e-5);
            QVERIFY2(e.stats.at("efficiency_gap") < 1e-9,
                     std::to_string(e.stats.at("efficiency_gap")).c_str());
        }
        // One-pixel cells (4 x 4 clamped to the 3 x 4 image): the per-pixel contributions.
        auto pixels =
            explainWith("kernel-shap", c.model, c.input, 1, {{"cells", "4"}, {"samples", "200"}});
        const auto perPixel = (c.input[0] * c.weightOf(1)).sum(0);
        QVERIFY2(test::allClose(tensorOf(pixels.map), perPixel, 1e-4),
                 test::maxDifference(tensorOf(pixels.map), perPixel).c_str());
        // A single cell needs no sampling: it carries the whole difference.
        auto whole = explainWith("kernel-shap", c.model, c.input, 1, {{"cells", "1"}});
        QVERIFY(test::allClose(tensorOf(whole.map),
                               torch::full({3, 4}, perPixel.sum().item<float>()), 1e-4));
        QCOMPARE(whole.forwardPasses, 2);
    }

    void limeOfALinearModelRecoversTheCellSumsUpToItsSmallRidge()
    {
        // f(z) = f(baseline) + sum_g z_g c_g is linear in the kept cells, so the weighted fit is
        // exact whatever the kernel, up to the default ridge's shrinkage (relative ~1e-5 here).
        LinearCase c;
        const int target = 2;
        const auto contribution = (c.input[0] * c.weightOf(target)).sum(0); // zero baseline
        auto expected = torch::zeros({3, 4});
        for (auto [r0, r1] : {std::pair{0, 1}, std::pair{1, 3}})
            for (auto [c0, c1] : {std::pair{0, 2}, std::pair{2, 4}})
                expected.slice(0, r0, r1).slice(1, c0, c1).fill_(
                    contribution.slice(0, r0, r1).slice(1, c0, c1).sum().item<float>());
        auto e = explainWith("lime", c.model, c.input, target,
                             {{"cells", "2"}, {"samples", "1000"}, {"batch", "64"}});
        QVERIFY2(test::allClose(tensorOf(e.map), expected, 1e-3),
                 test::maxDifference(tensorOf(e.map), expected).c_str());
        QVERIFY(e.signedMap);
        QVERIFY(e.warnings.empty());
        // 1000 coalitions of 4 cells drawn with probability 1/2 each: every one of the 16
        // occurs, and each costs one call however often it is drawn.
        QCOMPARE(e.forwardPasses, 16);
        QVERIFY2(e.stats.at("weighted_r2") > 0.99999,
                 std::to_string(e.stats.at("weighted_r2")).c_str());
        const double fb = c.model->predict(torch::zeros_like(c.input))[0][target].item<double>();
        QVERIFY2(std::abs(e.stats.at("intercept") - fb) < 1e-3,
                 std::to_string(e.stats.at("intercept") - fb).c_str());
        // The ridge is real: a heavy one shrinks the coefficient vector (one pixel per cell).
        auto shrunk = explainWith("lime", c.model, c.input, target,
                                  {{"cells", "2"}, {"samples", "1000"}, {"ridge", "1000"}});
        auto coefficients = [](const cv::Mat &map) {
            const auto m = tensorOf(map);
            return torch::stack({m[0][0], m[0][2], m[1][0], m[1][2]}).norm().item<double>();
        };
        QVERIFY(coefficients(shrunk.map) < 0.5 * coefficients(e.map));
    }

    void riseOfAModelBlindToItsInputIsItsProbabilityEverywhere()
    {
        // Zero weights: every masked image scores softmax(bias)[t], so the map is that
        // probability times mean_i M_i / p, which is 1 in expectation (E[M] = p).
        const auto bias = torch::tensor({0.5f, -1.0f, 2.0f});
        auto model = withCard(linearModule(torch::zeros({3, 24}), bias), 2, 3, 4);
        torch::manual_seed(3);
        const auto x = torch::randn({1, 2, 3, 4});
        const float probability = torch::softmax(bias, 0)[2].item<float>();
        // Masks that keep everything make it exact.
        auto kept =
            explainWith("rise", model, x, 2, {{"keep", "1"}, {"masks", "10"}, {"batch", "4"}});
        QVERIFY2(test::allClose(tensorOf(kept.map), torch::full({3, 4}, probability), 1e-5),
                 test::maxDifference(tensorOf(kept.map), torch::full({3, 4}, probability)).c_str());
        QVERIFY(!kept.signedMap);
        QCOMPARE(kept.forwardPasses, 10);
        // With p = 1/2 only the masks' mean is p: the map is the probability up to the masks'
        // sampling noise. Each mask has only 2 x 2 random cells, so the noise is shared by all
        // pixels: about 0.4 % for 20000 masks (it converges: 0.2 % at 40000, 1.4 % at 4000).
        auto e = explainWith("rise", model, x, 2,
                             {{"masks", "20000"}, {"cells", "2"}, {"batch", "1000"}});
        const auto ratio = tensorOf(e.map) / probability;
        QVERIFY2(std::abs(ratio.mean().item<double>() - 1.0) < 0.01,
                 std::to_string(ratio.mean().item<double>()).c_str());
        QVERIFY2((ratio - 1.0).abs().max().item<double>() < 0.02,
                 std::to_string((ratio - 1.0).abs().max().item<double>()).c_str());
        QCOMPARE(e.forwardPasses, 20000);
    }

    void riseIsDeterministicUnderItsSeedWhateverTheBatchSize()
    {
        LinearCase c;
        const std::map<std::string, std::string> params{{"masks", "64"}, {"cells", "2"}};
        auto with = [&](std::map<std::string, std::string> extra) {
            extra.insert(params.begin(), params.end());
            return explainWith("rise", c.model, c.input, 1, extra);
        };
        const auto first = with({}), again = with({});
        QVERIFY(test::bitwiseEqual(first.map, again.map));
        // The masks are drawn one after another: batching only changes the summation order.
        const auto batched = with({{"batch", "5"}});
        QVERIFY2(test::allClose(tensorOf(batched.map), tensorOf(first.map), 1e-6),
                 test::maxDifference(tensorOf(batched.map), tensorOf(first.map)).c_str());
        const auto other = with({{"seed", "1"}});
        QVERIFY(!test::allClose(tensorOf(other.map), tensorOf(first.map), 1e-3));
    }

    void riseStreamsOnePartialMapPerBatchNormalisedByTheMasksSeen()
    {
        auto run = [](const ModelPtr &model, const torch::Tensor &input,
                      const std::map<std::string, std::string> &overrides,
                      std::vector<ProgressUpdate> &partials) {
            const Method &rise = MethodRegistry::instance().get("rise");
            ExplainRequest request;
            request.model = model;
            request.input = input;
            request.target = 0;
            request.params = resolveParams(rise.params(), overrides, rise.id());
            return rise.explain(request, JobContext([&](const ProgressUpdate &u) {
                                    if (!u.partialMap.empty())
                                        partials.push_back(u);
                                }));
        };
        LinearCase c;
        std::vector<ProgressUpdate> partials;
        auto e = run(c.model, c.input, {{"masks", "50"}, {"batch", "16"}}, partials);
        QCOMPARE(partials.size(), size_t(4)); // ceil(50 / 16) batches
        std::vector<double> fractions;
        for (const auto &u : partials)
            fractions.push_back(u.fraction);
        QCOMPARE(fractions, (std::vector<double>{16.0 / 50, 32.0 / 50, 48.0 / 50, 1.0}));
        QCOMPARE(partials.back().message, std::string("50/50 masks"));
        QVERIFY(test::bitwiseEqual(partials.back().partialMap, e.map));
        QVERIFY(!test::bitwiseEqual(partials.front().partialMap, e.map));
        // Each partial map is an estimate of its own, not a running sum: for a blind model with
        // masks that keep everything, every one of them is the probability.
        const auto bias = torch::tensor({1.0f, 0.0f, 0.0f});
        auto blind = withCard(linearModule(torch::zeros({3, 24}), bias), 2, 3, 4);
        const float probability = torch::softmax(bias, 0)[0].item<float>();
        std::vector<ProgressUpdate> kept;
        run(blind, c.input, {{"masks", "10"}, {"batch", "3"}, {"keep", "1"}}, kept);
        QCOMPARE(kept.size(), size_t(4));
        for (const auto &u : kept)
            QVERIFY(test::allClose(tensorOf(u.partialMap), torch::full({3, 4}, probability), 1e-5));
    }

    void surrogatesReportProgressPerBatchWithoutPartialMaps()
    {
        // Coefficients exist only after the fit: progress fractions, no partial maps.
        LinearCase c;
        for (const char *id : {"lime", "kernel-shap"}) {
            const Method &method = MethodRegistry::instance().get(id);
            ExplainRequest request;
            request.model = c.model;
            request.input = c.input;
            request.params = resolveParams(method.params(),
                                           {{"cells", "2"}, {"samples", "20"}, {"batch", "8"}}, id);
            std::vector<double> fractions;
            int partials = 0;
            method.explain(request, JobContext([&](const ProgressUpdate &u) {
                               fractions.push_back(u.fraction);
                               partials += !u.partialMap.empty();
                           }));
            QCOMPARE(fractions, (std::vector<double>{8.0 / 20, 16.0 / 20, 1.0, 1.0}));
            QCOMPARE(partials, 0);
        }
    }

    void perturbationSamplersRejectBadValuesNamingTheParameter()
    {
        // KernelSHAP needs more coalitions than cells: 3 x 4 pixels clamp 7 x 7 cells to 12.
        LinearCase c;
        std::string message = "(no exception)";
        try {
            explainWith("kernel-shap", c.model, c.input, 0, {{"samples", "12"}});
        } catch (const std::invalid_argument &error) {
            message = error.what();
        }
        QVERIFY2(test::contains(message, "parameter \"samples\" of kernel-shap: 12 coalitions") &&
                     test::contains(message, "need at least 13"),
                 message.c_str());
        QCOMPARE(explainWith("kernel-shap", c.model, c.input, 0, {{"samples", "13"}}).forwardPasses,
                 2 + 14);
        auto rangeError = [](const std::string &id, const std::string &name,
                             const std::string &value) {
            return test::errorOf([&] {
                resolveParams(MethodRegistry::instance().get(id).params(), {{name, value}}, id);
            });
        };
        QCOMPARE(rangeError("rise", "keep", "0"),
                 std::string("parameter \"keep\" of rise: expected a number in [0.01, 1], got "
                             "\"0\""));
        QVERIFY(test::contains(rangeError("rise", "masks", "0"),
                               "parameter \"masks\" of rise: expected an integer in [1, 100000]"));
        QVERIFY(
            test::contains(rangeError("lime", "samples", "5"),
                           "parameter \"samples\" of lime: expected an integer in [10, 100000], "
                           "got \"5\""));
        QVERIFY(test::contains(rangeError("lime", "width", "-1"), "parameter \"width\" of lime"));
        QVERIFY(test::contains(rangeError("kernel-shap", "cells", "33"),
                               "parameter \"cells\" of kernel-shap"));
    }
};

QTEST_APPLESS_MAIN(PerturbationKnownAnswersTest)
#include "test_perturbation_known_answers.moc"
