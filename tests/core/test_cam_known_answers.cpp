// Known answers of the CAM family (Grad-CAM and its variants, Eigen-CAM, Score-CAM, Ablation-CAM,
// Guided Grad-CAM, several layers): tiny models whose attributions are computed by hand.
#include "core/explain/Baselines.h"
#include "core/explain/ExplainJob.h"
#include "core/explain/Integration.h"
#include "core/explain/MethodRegistry.h"
#include "core/explain/Params.h"
#include "core/model/Model.h"
#include "core/model/Preprocess.h"
#include "tests/support/KnownModels.h"
#include "tests/support/TestSupport.h"
#include <QTest>
#include <cmath>
#include <functional>
#include <opencv2/core.hpp>
#include <torch/script.h>

#include <QTest>

#include <opencv2/core.hpp>

#include <torch/script.h>

#include <cmath>
#include <functional>

using namespace heatlens;
using namespace heatlens::test;
using torch::jit::Module;

class CamKnownAnswersTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void gradCamOfLinearConvEqualsRectifiedWeightedActivations()
    {
        // A_k = w_k * x, logits = V · sum_hw A, so dL/dA_k = V[t, k] everywhere and
        // Grad-CAM = relu(sum_k V[t, k] w_k x) at the input's own resolution.
        const auto w = torch::tensor({2.0f, -1.0f}).view({2, 1, 1, 1});
        const auto v = torch::tensor({{1.0f, -2.0f}, {0.5f, 0.5f}, {-1.0f, -1.0f}});
        auto model = withCard(convSumModule(w, torch::zeros({2}), v, ""), 1, 5, 6);
        QCOMPARE(model->defaultCamLayer(), std::string("conv"));
        torch::manual_seed(5);
        const auto x = torch::randn({1, 1, 5, 6});
        for (int target = 0; target < 3; ++target) {
            const double coefficient =
                v[target][0].item<double>() * 2.0 - v[target][1].item<double>();
            const auto expected = torch::relu(coefficient * x[0][0]);
            auto e = explainWith("grad-cam", model, x, target, {{"layer", "conv"}});
            QVERIFY2(
                test::allClose(tensorOf(e.map), expected, 1e-5),
                (std::to_string(target) + ": " + test::maxDifference(tensorOf(e.map), expected))
                    .c_str());
            QCOMPARE(e.layer, std::string("conv"));
            QCOMPARE(e.forwardPasses, 1);
            QCOMPARE(e.backwardPasses, 1);
        }
        auto byDefault = explainWith("grad-cam", model, x, 0);
        QCOMPARE(byDefault.layer, std::string("conv"));
        QVERIFY(
            torch::equal(tensorOf(byDefault.map),
                         tensorOf(explainWith("grad-cam", model, x, 0, {{"layer", "conv"}}).map)));
    }

    void camVariantsMatchTheirFormulasOnAConvHead()
    {
        // The tapped layer is the convolution, A_k = w_k x, followed by a ReLU: the gradients
        // V[t, k] * 1[A_k > 0] vary over the image, so the variants differ; each is checked
        // against its formula on hand-computed A and dA.
        const auto w = torch::tensor({2.0f, -1.0f}).view({2, 1, 1, 1});
        const auto v = torch::tensor({{1.0f, -2.0f}, {0.5f, 0.5f}, {-1.0f, 3.0f}});
        auto model = withCard(convSumModule(w, torch::zeros({2}), v, "torch.relu"), 1, 5, 6);
        torch::manual_seed(8);
        const auto x = torch::randn({1, 1, 5, 6});
        const auto a = w.view({1, 2, 1, 1}) * x; // [1, 2, 5, 6]
        for (int target = 0; target < 3; ++target) {
            const auto g = v[target].view({1, 2, 1, 1}) * (a > 0).to(torch::kFloat32);
            const auto g2 = g * g, g3 = g2 * g;
            auto alpha = g2 / (2 * g2 + a.sum({2, 3}, true) * g3 + 1e-7);
            alpha = torch::where(g != 0, alpha, torch::zeros_like(alpha));
            const std::map<std::string, torch::Tensor> expected{
                {"hirescam", torch::relu((g * a).sum(1))[0]},
                {"layercam", torch::relu((torch::relu(g) * a).sum(1))[0]},
                {"xgrad-cam",
                 torch::relu(
                     ((g * a).sum({2, 3}, true) / (a.sum({2, 3}, true) + 1e-7) * a).sum(1))[0]},
                {"grad-cam-plus-plus",
                 torch::relu(((torch::relu(g) * alpha).sum({2, 3}, true) * a).sum(1))[0]},
            };
            for (const auto &[id, map] : expected) {
                auto e = explainWith(id, model, x, target, {{"layer", "conv"}});
                QVERIFY2(test::allClose(tensorOf(e.map), map, 1e-4),
                         (id + " target " + std::to_string(target) + ": " +
                          test::maxDifference(tensorOf(e.map), map))
                             .c_str());
            }
        }
        // HiResCAM is not Grad-CAM once gradients vary (target 2: relu(3|x|) on x < 0 against
        // relu(-(3 - p) x) with p the fraction of positive pixels).
        QVERIFY(!test::allClose(
            tensorOf(explainWith("hirescam", model, x, 2, {{"layer", "conv"}}).map),
            tensorOf(explainWith("grad-cam", model, x, 2, {{"layer", "conv"}}).map), 1e-3));
    }

    void eigenCamIsTheFirstPrincipalComponentWithAPositiveSign()
    {
        // Without the ReLU, A = w (x) x has rank one: the first component's projection is
        // (x - mean x) * |w|, signed to agree with sum_k A_k = (2 - 1) x = x; shifted to 0.
        const auto w = torch::tensor({2.0f, -1.0f}).view({2, 1, 1, 1});
        auto model =
            withCard(convSumModule(w, torch::zeros({2}), torch::ones({3, 2}), ""), 1, 5, 6);
        torch::manual_seed(9);
        const auto x = torch::randn({1, 1, 5, 6});
        auto projection = (x[0][0] - x.mean()) * std::sqrt(5.0f);
        projection = projection - projection.min();
        for (int target = 0; target < 3; ++target) { // class-agnostic
            auto e = explainWith("eigen-cam", model, x, target, {{"layer", "conv"}});
            QVERIFY2(test::allClose(tensorOf(e.map), projection, 1e-4),
                     test::maxDifference(tensorOf(e.map), projection).c_str());
        }
    }

    void gradCamOfANegativeLayerIsZero()
    {
        const auto w = torch::tensor({2.0f, -1.0f}).view({2, 1, 1, 1});
        const auto v = torch::tensor({{1.0f, -2.0f}, {0.5f, 0.5f}, {-1.0f, -1.0f}});
        auto model = withCard(convSumModule(w, torch::zeros({2}), v, ""), 1, 5, 6);
        torch::manual_seed(6);
        const auto positive = torch::rand({1, 1, 5, 6}) + 0.1;
        // Class 2: sum_k V[2, k] w_k = -1, so the weighted activations are -x < 0 everywhere.
        auto e = explainWith("grad-cam", model, positive, 2, {{"layer", "conv"}});
        QCOMPARE(e.map.size(), cv::Size(6, 5));
        QCOMPARE(cv::countNonZero(e.map), 0);
    }

    void gradCamUpsamplesSmallLayersToTheInput()
    {
        // A 1x1 conv on a 2x-downsampled input: the CAM is computed at 3x3 and brought to 6x6.
        auto cu = std::make_shared<torch::jit::CompilationUnit>();
        Module pool = scriptModule(cu, "Pool");
        pool.define("def forward(self, x):\n    return torch.avg_pool2d(x, [2, 2])\n");
        Module net = scriptModule(cu, "PoolModel");
        net.register_module("pool", pool);
        net.register_parameter("weight", torch::tensor({{1.0f}, {-1.0f}}), false);
        net.define("def forward(self, x):\n"
                   "    return torch.matmul(torch.sum(self.pool.forward(x), [2, 3]), "
                   "self.weight.t())\n");
        auto model = withCard(net, 1, 6, 6);
        const auto x = torch::rand({1, 1, 6, 6});
        auto e = explainWith("grad-cam", model, x, 0, {{"layer", "pool"}});
        const auto small = torch::avg_pool2d(x, {2, 2}); // weight 1 for class 0
        const auto expected = torch::upsample_bilinear2d(small, {6, 6}, false)[0][0];
        QCOMPARE(e.map.size(), cv::Size(6, 6));
        QVERIFY2(test::allClose(tensorOf(e.map), expected, 1e-5),
                 test::maxDifference(tensorOf(e.map), expected).c_str());
    }

    void guidedGradCamIsGuidedBackpropTimesTheUpsampledGradCam()
    {
        const auto w = torch::tensor({2.0f, -1.0f}).view({2, 1, 1, 1});
        const auto v = torch::tensor({{1.0f, -2.0f}, {0.5f, 0.5f}, {-1.0f, 3.0f}});
        auto model = withCard(convSumModule(w, torch::zeros({2}), v, "torch.relu"), 1, 5, 6);
        torch::manual_seed(12);
        const auto x = torch::randn({1, 1, 5, 6});
        for (int target = 0; target < 3; ++target) {
            const auto gb =
                tensorOf(explainWith("guided-backprop", model, x, target, {{"abs", "false"}}).map);
            const auto cam =
                tensorOf(explainWith("grad-cam", model, x, target, {{"layer", "conv"}}).map);
            auto e = explainWith("guided-grad-cam", model, x, target,
                                 {{"layer", "conv"}, {"abs", "false"}});
            QVERIFY2(test::allClose(tensorOf(e.map), gb * cam, 1e-5),
                     test::maxDifference(tensorOf(e.map), gb * cam).c_str());
            QCOMPARE(e.layer, std::string("conv"));
            QCOMPARE(e.forwardPasses, 2);
        }
    }

    void scoreCamAndAblationCamMatchTheirFormulasOnALinearConv()
    {
        // A_k = w_k x, logits = V · sum_hw A. Score-CAM masks the input with each channel scaled
        // to [0, 1]: logit_t(x m_k) = (V[t] · w) sum(x m_k), softmax over k. Ablation-CAM zeroes
        // channel k: the drop is V[t, k] sum(A_k), relative to the logit.
        const auto w = torch::tensor({2.0f, -1.0f, 0.5f}).view({3, 1, 1, 1});
        const auto v = torch::tensor({{1.0f, -2.0f, 0.5f}, {0.5f, 0.5f, 1.0f}});
        auto model = withCard(convSumModule(w, torch::zeros({3}), v, ""), 1, 5, 6);
        torch::manual_seed(14);
        const auto x = torch::randn({1, 1, 5, 6}) + 0.3;
        const auto a = w.view({1, 3, 1, 1}) * x; // [1, 3, 5, 6]
        for (int target = 0; target < 2; ++target) {
            const auto flat = a[0].flatten(1);
            const auto lo = std::get<0>(flat.min(1)).view({3, 1, 1});
            const auto hi = std::get<0>(flat.max(1)).view({3, 1, 1});
            const auto masks = (a[0] - lo) / (hi - lo); // [3, 5, 6]
            const auto scores = (v[target] * w.view({3})).sum() * (x[0] * masks).sum({1, 2});
            const auto scoreWeights = torch::softmax(scores, 0).view({1, 3, 1, 1});
            const auto scoreCam = torch::relu((scoreWeights * a).sum(1))[0];
            const auto sums = a.sum({2, 3})[0];
            const auto logit = (v[target] * sums).sum();
            const auto ablationWeights = (v[target] * sums / logit).view({1, 3, 1, 1});
            const auto ablationCam = torch::relu((ablationWeights * a).sum(1))[0];
            for (const char *batch : {"1", "2", "32"}) {
                auto s = explainWith("score-cam", model, x, target,
                                     {{"layer", "conv"}, {"batch", batch}});
                QVERIFY2(test::allClose(tensorOf(s.map), scoreCam, 1e-4),
                         test::maxDifference(tensorOf(s.map), scoreCam).c_str());
                QCOMPARE(s.forwardPasses, 1 + 3);
                QCOMPARE(s.backwardPasses, 0);
                auto b = explainWith("ablation-cam", model, x, target,
                                     {{"layer", "conv"}, {"batch", batch}});
                QVERIFY2(test::allClose(tensorOf(b.map), ablationCam, 1e-4),
                         test::maxDifference(tensorOf(b.map), ablationCam).c_str());
                QCOMPARE(b.forwardPasses, 1 + 1 + 3);
            }
        }
    }

    void scoreCamScoresEveryAllZeroChannelWithOnePassOnAZeroImage()
    {
        // Channels 1 and 3 have zero weights, so they are zero everywhere: their masks are zero
        // and their masked inputs the zero image, whose logits (no biases) are 0. The two of
        // them cost one pass between them, and the map is the formula's with scores 0 there.
        const auto w = torch::tensor({2.0f, 0.0f, -1.0f, 0.0f}).view({4, 1, 1, 1});
        const auto v = torch::tensor({{1.0f, -2.0f, 0.5f, 3.0f}, {0.5f, 0.5f, 1.0f, -1.0f}});
        auto model = withCard(convSumModule(w, torch::zeros({4}), v, ""), 1, 5, 6);
        torch::manual_seed(16);
        const auto x = torch::randn({1, 1, 5, 6}) + 0.3;
        const auto a = w.view({1, 4, 1, 1}) * x;
        for (int target = 0; target < 2; ++target) {
            auto scores = torch::zeros({4});
            for (int c : {0, 2}) {
                const auto m = (a[0][c] - a[0][c].min()) / (a[0][c].max() - a[0][c].min());
                scores[c] = (v[target] * w.view({4})).sum() * (x[0][0] * m).sum();
            }
            const auto weights = torch::softmax(scores, 0).view({1, 4, 1, 1});
            const auto expected = torch::relu((weights * a).sum(1))[0];
            for (const char *batch : {"1", "32"}) {
                auto s = explainWith("score-cam", model, x, target,
                                     {{"layer", "conv"}, {"batch", batch}});
                QVERIFY2(test::allClose(tensorOf(s.map), expected, 1e-4),
                         test::maxDifference(tensorOf(s.map), expected).c_str());
                QCOMPARE(s.forwardPasses, 1 + 1 + 2); // the tap, the zero image, 2 channels
            }
        }
    }

    void perChannelCamsBelowFullMassScoreOnlyTheMostActiveChannelsAndSaySo()
    {
        // x > 0, so channel k's activation mass is |w_k| sum(x): shares 1 : 0.5 : 3 : 0.25 of
        // 4.75. mass = 0.8 needs the two most active (84% of it); channels 1 and 3 get no
        // pass and no weight: the formulas over channels {0, 2} only, labelled approximate.
        const auto w = torch::tensor({-1.0f, 0.5f, 3.0f, 0.25f}).view({4, 1, 1, 1});
        const auto v = torch::tensor({{1.0f, -2.0f, 0.5f, 3.0f}, {0.5f, 0.5f, 0.2f, -1.0f}});
        auto model = withCard(convSumModule(w, torch::zeros({4}), v, ""), 1, 5, 6);
        torch::manual_seed(17);
        const auto x = torch::rand({1, 1, 5, 6}) + 0.5;
        const auto a = w.view({1, 4, 1, 1}) * x;
        const std::vector<int64_t> kept{0, 2};
        const auto ak = a.index_select(1, torch::tensor(kept));
        for (int target = 0; target < 2; ++target) {
            auto scores = torch::zeros({2});
            for (int i = 0; i < 2; ++i) {
                const auto c = ak[0][i];
                const auto m = (c - c.min()) / (c.max() - c.min());
                scores[i] = (v[target] * w.view({4})).sum() * (x[0][0] * m).sum();
            }
            const auto scoreCam =
                torch::relu((torch::softmax(scores, 0).view({1, 2, 1, 1}) * ak).sum(1))[0];
            const auto logit = (v[target] * a.sum({2, 3})[0]).sum();
            const auto drops = v[target].index_select(0, torch::tensor(kept)) * ak.sum({2, 3})[0];
            const auto ablationCam =
                torch::relu(((drops / logit).view({1, 2, 1, 1}) * ak).sum(1))[0];
            for (const char *id : {"score-cam", "ablation-cam"}) {
                auto e = explainWith(id, model, x, target,
                                     {{"layer", "conv"}, {"batch", "3"}, {"mass", "0.8"}});
                const auto &expected = std::string(id) == "score-cam" ? scoreCam : ablationCam;
                QVERIFY2(expected.max().item<float>() > 0.1f,
                         (std::string(id) + " target " + std::to_string(target) + ": all zero")
                             .c_str()); // not the ReLU's all-zero map
                QVERIFY2(test::allClose(tensorOf(e.map), expected, 1e-4),
                         (std::string(id) + ": " + test::maxDifference(tensorOf(e.map), expected))
                             .c_str());
                QCOMPARE(e.forwardPasses, 1 + (std::string(id) == "ablation-cam" ? 1 : 0) + 2);
                QCOMPARE(e.stats.at("channels_scored"), 2.0);
                QCOMPARE(e.stats.at("channels"), 4.0);
                QVERIFY(!e.warnings.empty());
                QVERIFY2(test::contains(e.warnings[0], "approximate: 2 of 4 channels of conv") &&
                             test::contains(e.warnings[0], "84.2%"),
                         e.warnings[0].c_str());
                // The default scores every channel and says nothing.
                auto exact = explainWith(id, model, x, target, {{"layer", "conv"}});
                QCOMPARE(exact.stats.at("channels_scored"), 4.0);
                QVERIFY(exact.warnings.empty());
                QVERIFY2(!test::allClose(tensorOf(exact.map), expected, 1e-3),
                         (std::string(id) + " target " + std::to_string(target) + ": " +
                          test::maxDifference(tensorOf(exact.map), expected))
                             .c_str());
            }
        }
    }

    void multiLayerCamAveragesTheRectifiedScaledMapsOfEachLayer()
    {
        auto cu = std::make_shared<torch::jit::CompilationUnit>();
        Module net = scriptModule(cu, "TwoConv");
        torch::manual_seed(15);
        for (const char *name : {"conv1", "conv2"}) {
            Module conv = scriptModule(cu, std::string("Conv_") + name);
            conv.register_parameter("weight", torch::randn({2, name[4] == '1' ? 1 : 2, 3, 3}),
                                    false);
            conv.define(
                "def forward(self, x):\n    return torch.conv2d(x, self.weight, None, [1, 1], "
                "[1, 1], [1, 1], 1)\n");
            net.register_module(name, conv);
        }
        net.register_parameter("v", torch::randn({3, 2}), false);
        net.define("def forward(self, x):\n"
                   "    a = torch.relu(self.conv2.forward(torch.relu(self.conv1.forward(x))))\n"
                   "    return torch.matmul(torch.sum(a, [2, 3]), self.v.t())\n");
        auto model = withCard(net, 1, 6, 7);
        const auto x = torch::randn({1, 1, 6, 7});
        auto scaled = [&](const std::string &layer) {
            auto m =
                torch::relu(tensorOf(explainWith("grad-cam", model, x, 1, {{"layer", layer}}).map));
            return (m - m.min()) / (m.max() - m.min()).clamp_min(1e-7);
        };
        const auto expected = (scaled("conv1") + scaled("conv2")) / 2;
        auto e = explainWith("grad-cam", model, x, 1, {{"layer", "conv1, conv2"}});
        QVERIFY2(test::allClose(tensorOf(e.map), expected, 1e-5),
                 test::maxDifference(tensorOf(e.map), expected).c_str());
        QCOMPARE(e.layer, std::string("conv1,conv2"));
        QCOMPARE(e.forwardPasses, 1); // both layers from one pass
        QCOMPARE(e.backwardPasses, 1);
        QVERIFY(!torch::allclose(scaled("conv1"), scaled("conv2")));
    }
};

QTEST_APPLESS_MAIN(CamKnownAnswersTest)
#include "test_cam_known_answers.moc"
