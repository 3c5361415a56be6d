#include "core/explain/Baselines.h"
#include "core/explain/Explainer.h"
#include "core/explain/Integration.h"
#include "core/explain/MethodRegistry.h"
#include "core/explain/Params.h"
#include "core/model/Model.h"
#include "core/model/Preprocess.h"
#include "tests/support/TestSupport.h"

#include <QTest>

#include <opencv2/core.hpp>

#include <torch/script.h>

#include <cmath>
#include <functional>

using namespace heatlens;
using torch::jit::Module;

namespace {

using CU = std::shared_ptr<torch::jit::CompilationUnit>;

Module makeModule(const CU &cu, const std::string &type)
{
    Module m(c10::QualifiedName("__torch__.heatlens_test." + type), cu, /*shouldMangle=*/true);
    m.register_attribute("training", c10::BoolType::get(), true);
    return m;
}

// logits = W · flatten(x) + b
Module linearModule(const torch::Tensor &weight, const torch::Tensor &bias)
{
    Module m = makeModule(std::make_shared<torch::jit::CompilationUnit>(), "LinearModel");
    m.register_parameter("weight", weight.clone(), false);
    m.register_parameter("bias", bias.clone(), false);
    m.define(R"(
def forward(self, x):
    return torch.linear(torch.flatten(x, 1), self.weight, self.bias)
)");
    return m;
}

// Submodule "conv" (no bias, stride 1, `padding`), then `act`, a spatial sum and logits = V · sums.
Module convSumModule(const torch::Tensor &convWeight, const torch::Tensor &convBias,
                     const torch::Tensor &v, const std::string &act)
{
    auto cu = std::make_shared<torch::jit::CompilationUnit>();
    Module conv = makeModule(cu, "Conv");
    conv.register_parameter("weight", convWeight.clone(), false);
    conv.register_parameter("bias", convBias.clone(), false);
    const std::string pad = std::to_string(convWeight.size(2) / 2);
    conv.define("def forward(self, x):\n    return torch.conv2d(x, self.weight, self.bias, [1, 1], "
                "[" +
                pad + ", " + pad + "], [1, 1], 1)\n");
    Module net = makeModule(cu, "ConvSumModel");
    net.register_module("conv", conv);
    net.register_parameter("weight", v.clone(), false);
    net.define("def forward(self, x):\n"
               "    a = " +
               act +
               "(self.conv.forward(x))\n"
               "    return torch.matmul(torch.sum(a, [2, 3]), self.weight.t())\n");
    return net;
}

ModelPtr wrap(const Module &module, int channels, int height, int width,
              std::vector<float> mean = {}, std::vector<float> std = {})
{
    ModelCard card;
    card.inputChannels = channels;
    card.inputHeight = height;
    card.inputWidth = width;
    card.mean = std::move(mean);
    card.std = std::move(std);
    return Model::fromModule(module, card, "test model");
}

Explanation explain(const std::string &methodId, const ModelPtr &model, const torch::Tensor &input,
                    int target, const std::map<std::string, std::string> &overrides = {})
{
    const Method &method = MethodRegistry::instance().get(methodId);
    ExplainRequest request;
    request.model = model;
    request.input = input;
    request.target = target;
    request.params = resolveParams(method.params(), overrides, methodId);
    return method.explain(request, JobContext{});
}

torch::Tensor fromMap(const cv::Mat &map)
{
    cv::Mat m = map.clone();
    return torch::from_blob(m.data, {m.rows, m.cols}, torch::kFloat32).clone();
}

// The linear model of the known answers: 2 channels of 3 x 4 pixels (not square, so that a
// transposed map would show), 3 classes.
struct LinearCase
{
    LinearCase(std::vector<float> mean = {}, std::vector<float> std = {})
    {
        torch::manual_seed(21);
        weight = torch::randn({3, 2 * 3 * 4});
        bias = torch::tensor({0.5f, -1.0f, 2.0f});
        model = wrap(linearModule(weight, bias), 2, 3, 4, std::move(mean), std::move(std));
        input = torch::randn({1, 2, 3, 4});
    }

    torch::Tensor weightOf(int target) const { return weight[target].view({2, 3, 4}); }

    torch::Tensor weight, bias, input;
    ModelPtr model;
};

double integrate(const Quadrature &q, const std::function<double(double)> &f)
{
    double sum = 0.0;
    for (size_t i = 0; i < q.alphas.size(); ++i)
        sum += q.weights[i] * f(q.alphas[i]);
    return sum;
}

} // namespace

class MethodsKnownAnswersTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void linearModelSaliencyEqualsWeights()
    {
        LinearCase c;
        for (int target = 0; target < 3; ++target) {
            const auto w = c.weightOf(target);
            auto signedMap = explain("saliency", c.model, c.input, target, {{"abs", "false"}});
            QVERIFY(signedMap.signedMap);
            QVERIFY2(test::allClose(fromMap(signedMap.map), w.sum(0), 1e-6),
                     test::maxDifference(fromMap(signedMap.map), w.sum(0)).c_str());
            auto absMap = explain("saliency", c.model, c.input, target, {{"abs", "true"}});
            QVERIFY(!absMap.signedMap);
            const auto expected = std::get<0>(w.abs().max(0));
            QVERIFY2(test::allClose(fromMap(absMap.map), expected, 1e-6),
                     test::maxDifference(fromMap(absMap.map), expected).c_str());
            QCOMPARE(absMap.forwardPasses, 1);
            QCOMPARE(absMap.backwardPasses, 1);
            QCOMPARE(absMap.target, target);
            QCOMPARE(absMap.methodId, std::string("saliency"));
        }
    }

    void linearModelInputXGradientIsInputTimesWeights()
    {
        LinearCase c;
        for (int target = 0; target < 3; ++target) {
            auto e = explain("input-x-gradient", c.model, c.input, target, {});
            const auto expected = (c.input[0] * c.weightOf(target)).sum(0);
            QVERIFY(e.signedMap);
            QVERIFY2(test::allClose(fromMap(e.map), expected, 1e-6),
                     test::maxDifference(fromMap(e.map), expected).c_str());
            QCOMPARE(e.forwardPasses, 1);
        }
    }

    void smoothGradOfALinearModelKeepsItsConstantGradient()
    {
        // The gradient of a linear model does not depend on the input: every noisy copy has
        // the same saliency, so SmoothGrad = Saliency, SmoothGrad-squared = w^2, VarGrad = 0.
        LinearCase c;
        const int target = 2;
        const auto w = c.weightOf(target);
        auto mean =
            explain("smoothgrad", c.model, c.input, target, {{"samples", "7"}, {"batch", "3"}});
        const auto saliency = std::get<0>(w.abs().max(0));
        QVERIFY2(test::allClose(fromMap(mean.map), saliency, 1e-5),
                 test::maxDifference(fromMap(mean.map), saliency).c_str());
        QCOMPARE(mean.forwardPasses, 7);
        QCOMPARE(mean.backwardPasses, 7);
        auto squared = explain("smoothgrad", c.model, c.input, target,
                               {{"variant", "smoothgrad-sq"}, {"samples", "5"}});
        QVERIFY(!squared.signedMap);
        QVERIFY(test::allClose(fromMap(squared.map), (w * w).sum(0), 1e-5));
        auto variance = explain("smoothgrad", c.model, c.input, target,
                                {{"variant", "vargrad"}, {"samples", "5"}});
        QVERIFY(fromMap(variance.map).abs().max().item<float>() < 1e-5f);
    }

    void smoothGradIsSeededAndItsNoiseIsRealForInputTimesGradient()
    {
        LinearCase c;
        const std::map<std::string, std::string> a{
            {"base", "input-x-gradient"}, {"samples", "6"}, {"seed", "1"}};
        auto first = explain("smoothgrad", c.model, c.input, 0, a);
        auto again = explain("smoothgrad", c.model, c.input, 0, a);
        QVERIFY(test::bitwiseEqual(first.map, again.map));
        auto other = a;
        other["seed"] = "2";
        auto different = explain("smoothgrad", c.model, c.input, 0, other);
        QVERIFY(!test::bitwiseEqual(first.map, different.map));
        // Noise of mean zero: the average stays near input x weights; VarGrad is (w sigma)^2-ish
        // and positive.
        auto zeroNoise = a;
        zeroNoise["noise"] = "0";
        auto exact = explain("smoothgrad", c.model, c.input, 0, zeroNoise);
        QVERIFY(test::allClose(fromMap(exact.map), (c.input[0] * c.weightOf(0)).sum(0), 1e-5));
        auto var = a;
        var["variant"] = "vargrad";
        QVERIFY(fromMap(explain("smoothgrad", c.model, c.input, 0, var).map).min().item<float>() >
                0.0f);
    }

    void baselinesAreWhatTheyClaim()
    {
        LinearCase c({0.5f, 0.25f}, {0.5f, 0.5f});
        const auto &card = c.model->card();
        QVERIFY(torch::equal(makeBaseline("black", c.input, card),
                             blackInput(card).expand_as(c.input)));
        QVERIFY(torch::equal(makeBaseline("zero", c.input, card), torch::zeros_like(c.input)));
        const auto mean = makeBaseline("mean", c.input, card);
        for (int ch = 0; ch < 2; ++ch)
            QVERIFY(test::allClose(mean[0][ch],
                                   torch::full({3, 4}, c.input[0][ch].mean().item<float>())));
        // Blurring keeps a constant image and smooths a varying one.
        const auto constant = torch::full({1, 2, 3, 4}, 0.7f);
        QVERIFY(test::allClose(makeBaseline("blur", constant, card), constant, 1e-6));
        const auto blur = makeBaseline("blur", c.input, card);
        QVERIFY(blur.std().item<float>() < c.input.std().item<float>());
        const auto a = makeBaseline("uniform", c.input, card, 3);
        QVERIFY(torch::equal(a, makeBaseline("uniform", c.input, card, 3)));
        QVERIFY(!torch::equal(a, makeBaseline("uniform", c.input, card, 4)));
        QVERIFY(a.min().item<float>() >= c.input.min().item<float>());
        QVERIFY(a.max().item<float>() <= c.input.max().item<float>());
        QVERIFY(test::contains(test::errorOf([&] { makeBaseline("grey", c.input, card); }),
                               "unknown baseline \"grey\""));
    }

    void integratedGradientsFromAnyBaselineAreInputMinusBaselineTimesWeights()
    {
        LinearCase c;
        for (const auto &kind : baselineKinds()) {
            auto e = explain("integrated-gradients", c.model, c.input, 0,
                             {{"baseline", kind}, {"seed", "5"}});
            const auto b = makeBaseline(kind, c.input, c.model->card(), 5);
            const auto expected = ((c.input - b)[0] * c.weightOf(0)).sum(0);
            QVERIFY2(test::allClose(fromMap(e.map), expected, 1e-5),
                     (kind + ": " + test::maxDifference(fromMap(e.map), expected)).c_str());
            QVERIFY2(e.stats.at("completeness_gap") < 1e-4, kind.c_str());
        }
    }

    void occlusionWithOnePixelWindowsIsInputMinusBaselineTimesWeights()
    {
        LinearCase c;
        for (const char *kind : {"zero", "mean", "blur"}) {
            auto e =
                explain("occlusion", c.model, c.input, 1,
                        {{"window", "1"}, {"stride", "1"}, {"baseline", kind}, {"batch", "5"}});
            const auto b = makeBaseline(kind, c.input, c.model->card());
            const auto expected = ((c.input - b)[0] * c.weightOf(1)).sum(0);
            QVERIFY2(
                test::allClose(fromMap(e.map), expected, 1e-5),
                (std::string(kind) + ": " + test::maxDifference(fromMap(e.map), expected)).c_str());
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
        QVERIFY2(test::allClose(fromMap(e.map), sum / count, 1e-5),
                 test::maxDifference(fromMap(e.map), sum / count).c_str());
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
        auto e = explain("feature-ablation", c.model, c.input, 2,
                         {{"cells", "2"}, {"baseline", "mean"}, {"batch", "3"}});
        QVERIFY2(test::allClose(fromMap(e.map), expected, 1e-5),
                 test::maxDifference(fromMap(e.map), expected).c_str());
        QCOMPARE(e.forwardPasses, 1 + 4);
        QVERIFY(e.signedMap);
        // Cells of one pixel: the per-pixel contributions themselves.
        auto pixels = explain("feature-ablation", c.model, c.input, 2,
                              {{"cells", "64"}, {"baseline", "mean"}});
        QVERIFY(test::allClose(fromMap(pixels.map), contribution, 1e-5));
    }

    void linearModelSaliencyOfOneChannelIsTheWeightImage()
    {
        torch::manual_seed(4);
        const auto weight = torch::randn({3, 16});
        auto model = wrap(linearModule(weight, torch::zeros({3})), 1, 4, 4);
        const auto input = torch::rand({1, 1, 4, 4});
        auto plain = explain("saliency", model, input, 1, {{"abs", "false"}});
        QVERIFY(torch::equal(fromMap(plain.map), weight[1].view({4, 4})));
        auto absolute = explain("saliency", model, input, 1);
        QVERIFY(torch::equal(fromMap(absolute.map), weight[1].view({4, 4}).abs()));
    }

    void linearModelIntegratedGradientsEqualInputTimesWeights()
    {
        LinearCase c;
        const int target = 1;
        const auto expected = (c.input[0] * c.weightOf(target)).sum(0);
        for (const auto &rule : quadratureRules()) {
            for (const char *baseline : {"zero", "black"}) {
                auto e = explain("integrated-gradients", c.model, c.input, target,
                                 {{"rule", rule}, {"baseline", baseline}, {"steps", "64"}});
                const std::string what = rule + "/" + baseline + ": ";
                QVERIFY2(test::allClose(fromMap(e.map), expected, 1e-5),
                         (what + test::maxDifference(fromMap(e.map), expected)).c_str());
                QVERIFY(e.signedMap);
                QVERIFY2(e.stats.at("completeness_gap") < 1e-4,
                         (what + std::to_string(e.stats.at("completeness_gap"))).c_str());
                QVERIFY(e.warnings.empty());
            }
        }
    }

    void integratedGradientsBlackBaselineFollowsTheCardsNormalisation()
    {
        LinearCase c({0.5f, 0.25f}, {0.5f, 0.5f}); // black = -mean/std = (-1, -0.5)
        const int target = 2;
        const auto black = torch::tensor({-1.0f, -0.5f}).view({2, 1, 1});
        const auto expected = ((c.input[0] - black) * c.weightOf(target)).sum(0);
        auto e = explain("integrated-gradients", c.model, c.input, target,
                         {{"baseline", "black"}, {"steps", "16"}});
        QVERIFY2(test::allClose(fromMap(e.map), expected, 1e-5),
                 test::maxDifference(fromMap(e.map), expected).c_str());
        const auto zero = (c.input[0] * c.weightOf(target)).sum(0);
        auto z = explain("integrated-gradients", c.model, c.input, target,
                         {{"baseline", "zero"}, {"steps", "16"}});
        QVERIFY(test::allClose(fromMap(z.map), zero, 1e-5));
        QVERIFY(z.stats.at("completeness_gap") < 1e-4);
    }

    void integratedGradientsBatchingDoesNotChangeTheAnswer()
    {
        LinearCase c;
        auto whole = explain("integrated-gradients", c.model, c.input, 0,
                             {{"steps", "64"}, {"batch", "64"}});
        auto batched =
            explain("integrated-gradients", c.model, c.input, 0, {{"steps", "64"}, {"batch", "7"}});
        auto single =
            explain("integrated-gradients", c.model, c.input, 0, {{"steps", "64"}, {"batch", "1"}});
        QVERIFY2(test::allClose(fromMap(batched.map), fromMap(whole.map), 1e-6),
                 test::maxDifference(fromMap(batched.map), fromMap(whole.map)).c_str());
        QVERIFY(test::allClose(fromMap(single.map), fromMap(whole.map), 1e-6));
        // 64 path points forward and backward, plus input and baseline for the completeness check.
        for (const auto *e : {&whole, &batched, &single}) {
            QCOMPARE(e->backwardPasses, 64);
            QCOMPARE(e->forwardPasses, 66);
        }
    }

    void integratedGradientsReportsProgressPerBatch()
    {
        LinearCase c;
        const Method &ig = MethodRegistry::instance().get("integrated-gradients");
        ExplainRequest request;
        request.model = c.model;
        request.input = c.input;
        request.params = resolveParams(ig.params(), {{"steps", "20"}, {"batch", "8"}}, ig.id());
        std::vector<double> fractions;
        ig.explain(request,
                   JobContext([&](const ProgressUpdate &u) { fractions.push_back(u.fraction); }));
        QCOMPARE(fractions, (std::vector<double>{8.0 / 20, 16.0 / 20, 1.0, 1.0}));
    }

    void gradCamOfLinearConvEqualsRectifiedWeightedActivations()
    {
        // A_k = w_k * x, logits = V · sum_hw A, so dL/dA_k = V[t, k] everywhere and
        // Grad-CAM = relu(sum_k V[t, k] w_k x) at the input's own resolution.
        const auto w = torch::tensor({2.0f, -1.0f}).view({2, 1, 1, 1});
        const auto v = torch::tensor({{1.0f, -2.0f}, {0.5f, 0.5f}, {-1.0f, -1.0f}});
        auto model = wrap(convSumModule(w, torch::zeros({2}), v, ""), 1, 5, 6);
        QCOMPARE(model->defaultCamLayer(), std::string("conv"));
        torch::manual_seed(5);
        const auto x = torch::randn({1, 1, 5, 6});
        for (int target = 0; target < 3; ++target) {
            const double coefficient =
                v[target][0].item<double>() * 2.0 - v[target][1].item<double>();
            const auto expected = torch::relu(coefficient * x[0][0]);
            auto e = explain("grad-cam", model, x, target, {{"layer", "conv"}});
            QVERIFY2(test::allClose(fromMap(e.map), expected, 1e-5),
                     (std::to_string(target) + ": " + test::maxDifference(fromMap(e.map), expected))
                         .c_str());
            QCOMPARE(e.layer, std::string("conv"));
            QCOMPARE(e.forwardPasses, 1);
            QCOMPARE(e.backwardPasses, 1);
        }
        auto byDefault = explain("grad-cam", model, x, 0);
        QCOMPARE(byDefault.layer, std::string("conv"));
        QVERIFY(torch::equal(fromMap(byDefault.map),
                             fromMap(explain("grad-cam", model, x, 0, {{"layer", "conv"}}).map)));
    }

    void camVariantsMatchTheirFormulasOnAConvHead()
    {
        // The tapped layer is the convolution, A_k = w_k x, followed by a ReLU: the gradients
        // V[t, k] * 1[A_k > 0] vary over the image, so the variants differ; each is checked
        // against its formula on hand-computed A and dA.
        const auto w = torch::tensor({2.0f, -1.0f}).view({2, 1, 1, 1});
        const auto v = torch::tensor({{1.0f, -2.0f}, {0.5f, 0.5f}, {-1.0f, 3.0f}});
        auto model = wrap(convSumModule(w, torch::zeros({2}), v, "torch.relu"), 1, 5, 6);
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
                auto e = explain(id, model, x, target, {{"layer", "conv"}});
                QVERIFY2(test::allClose(fromMap(e.map), map, 1e-4),
                         (id + " target " + std::to_string(target) + ": " +
                          test::maxDifference(fromMap(e.map), map))
                             .c_str());
            }
        }
        // HiResCAM is not Grad-CAM once gradients vary (target 2: relu(3|x|) on x < 0 against
        // relu(-(3 - p) x) with p the fraction of positive pixels).
        QVERIFY(!test::allClose(fromMap(explain("hirescam", model, x, 2, {{"layer", "conv"}}).map),
                                fromMap(explain("grad-cam", model, x, 2, {{"layer", "conv"}}).map),
                                1e-3));
    }

    void eigenCamIsTheFirstPrincipalComponentWithAPositiveSign()
    {
        // Without the ReLU, A = w (x) x has rank one: the first component's projection is
        // (x - mean x) * |w|, signed to agree with sum_k A_k = (2 - 1) x = x; shifted to 0.
        const auto w = torch::tensor({2.0f, -1.0f}).view({2, 1, 1, 1});
        auto model = wrap(convSumModule(w, torch::zeros({2}), torch::ones({3, 2}), ""), 1, 5, 6);
        torch::manual_seed(9);
        const auto x = torch::randn({1, 1, 5, 6});
        auto projection = (x[0][0] - x.mean()) * std::sqrt(5.0f);
        projection = projection - projection.min();
        for (int target = 0; target < 3; ++target) { // class-agnostic
            auto e = explain("eigen-cam", model, x, target, {{"layer", "conv"}});
            QVERIFY2(test::allClose(fromMap(e.map), projection, 1e-4),
                     test::maxDifference(fromMap(e.map), projection).c_str());
        }
    }

    void gradCamOfANegativeLayerIsZero()
    {
        const auto w = torch::tensor({2.0f, -1.0f}).view({2, 1, 1, 1});
        const auto v = torch::tensor({{1.0f, -2.0f}, {0.5f, 0.5f}, {-1.0f, -1.0f}});
        auto model = wrap(convSumModule(w, torch::zeros({2}), v, ""), 1, 5, 6);
        torch::manual_seed(6);
        const auto positive = torch::rand({1, 1, 5, 6}) + 0.1;
        // Class 2: sum_k V[2, k] w_k = -1, so the weighted activations are -x < 0 everywhere.
        auto e = explain("grad-cam", model, positive, 2, {{"layer", "conv"}});
        QCOMPARE(e.map.size(), cv::Size(6, 5));
        QCOMPARE(cv::countNonZero(e.map), 0);
    }

    void gradCamUpsamplesSmallLayersToTheInput()
    {
        // A 1x1 conv on a 2x-downsampled input: the CAM is computed at 3x3 and brought to 6x6.
        auto cu = std::make_shared<torch::jit::CompilationUnit>();
        Module pool = makeModule(cu, "Pool");
        pool.define("def forward(self, x):\n    return torch.avg_pool2d(x, [2, 2])\n");
        Module net = makeModule(cu, "PoolModel");
        net.register_module("pool", pool);
        net.register_parameter("weight", torch::tensor({{1.0f}, {-1.0f}}), false);
        net.define("def forward(self, x):\n"
                   "    return torch.matmul(torch.sum(self.pool.forward(x), [2, 3]), "
                   "self.weight.t())\n");
        auto model = wrap(net, 1, 6, 6);
        const auto x = torch::rand({1, 1, 6, 6});
        auto e = explain("grad-cam", model, x, 0, {{"layer", "pool"}});
        const auto small = torch::avg_pool2d(x, {2, 2}); // weight 1 for class 0
        const auto expected = torch::upsample_bilinear2d(small, {6, 6}, false)[0][0];
        QCOMPARE(e.map.size(), cv::Size(6, 6));
        QVERIFY2(test::allClose(fromMap(e.map), expected, 1e-5),
                 test::maxDifference(fromMap(e.map), expected).c_str());
    }

    void nonlinearModelCompletenessGapShrinksWithSteps()
    {
        torch::manual_seed(8);
        auto model = wrap(convSumModule(torch::randn({2, 1, 3, 3}) * 0.5, torch::randn({2}) * 0.1,
                                        torch::randn({3, 2}), "torch.tanh"),
                          1, 6, 6);
        const auto x = torch::randn({1, 1, 6, 6});
        auto gap = [&](const std::string &rule, int steps) {
            auto e =
                explain("integrated-gradients", model, x, 1,
                        {{"rule", rule}, {"steps", std::to_string(steps)}, {"baseline", "zero"}});
            const double sum = fromMap(e.map).sum().item<double>();
            // The reported statistics agree with the map.
            if (std::abs(sum - e.stats.at("attribution_sum")) > 1e-4)
                throw std::runtime_error("attribution_sum does not match the map");
            return e.stats.at("completeness_gap");
        };
        std::vector<double> left;
        for (int steps : {2, 8, 32, 128})
            left.push_back(gap("riemann-left", steps));
        for (size_t i = 1; i < left.size(); ++i)
            QVERIFY2(left[i] < left[i - 1],
                     (std::to_string(left[i]) + " >= " + std::to_string(left[i - 1])).c_str());
        const double gauss2 = gap("gauss-legendre", 2), gauss64 = gap("gauss-legendre", 64);
        QVERIFY2(gauss64 < 1e-3, std::to_string(gauss64).c_str());
        QVERIFY(gauss64 <= gauss2);
        QVERIFY2(gauss64 < left.back(), "Gauss-Legendre converges faster than a Riemann sum");
        // The logit difference is the real one.
        auto e = explain("integrated-gradients", model, x, 1, {{"baseline", "zero"}});
        const auto logits = model->predict(torch::cat({x, torch::zeros_like(x)}));
        QVERIFY(std::abs(e.stats.at("logit_delta") - (logits[0][1] - logits[1][1]).item<double>()) <
                1e-5);
    }

    void paramsRejectUnknownNamesRangesAndChoicesNamingThem()
    {
        const Method &ig = MethodRegistry::instance().get("integrated-gradients");
        const auto specs = ig.params();
        auto errorFor = [&](const std::map<std::string, std::string> &overrides) {
            return test::errorOf([&] { resolveParams(specs, overrides, ig.id()); });
        };
        const std::string unknown = errorFor({{"stepz", "8"}});
        QVERIFY2(test::contains(unknown, "integrated-gradients has no parameter \"stepz\"") &&
                     test::contains(unknown, "steps, batch, baseline, seed, rule"),
                 unknown.c_str());
        QCOMPARE(errorFor({{"steps", "0"}}),
                 std::string("parameter \"steps\" of integrated-gradients: expected an integer "
                             "in [1, 4096], got \"0\""));
        for (const char *bad : {"5000", "abc", "12x", "", "1.5", "-3"})
            QVERIFY2(
                test::contains(errorFor({{"steps", bad}}),
                               "parameter \"steps\" of integrated-gradients: expected an integer "
                               "in [1, 4096], got \"" +
                                   std::string(bad) + "\""),
                bad);
        QVERIFY(test::contains(errorFor({{"batch", "2000"}}), "\"batch\""));
        QCOMPARE(errorFor({{"baseline", "grey"}}),
                 std::string("parameter \"baseline\" of integrated-gradients: expected one of "
                             "black, zero, mean, blur, uniform, got \"grey\""));
        QVERIFY(test::contains(errorFor({{"rule", "simpson"}}), "got \"simpson\""));

        const Method &saliency = MethodRegistry::instance().get("saliency");
        const std::string boolError = test::errorOf([&] {
            resolveParams(saliency.params(), {{"abs", "maybe"}}, "saliency");
        });
        QCOMPARE(boolError,
                 std::string("parameter \"abs\" of saliency: expected true or false, got "
                             "\"maybe\""));
        for (const char *yes : {"true", "1", "yes", "on"})
            QVERIFY(resolveParams(saliency.params(), {{"abs", yes}}, "saliency").getBool("abs"));
        for (const char *no : {"false", "0", "no", "off"})
            QVERIFY(!resolveParams(saliency.params(), {{"abs", no}}, "saliency").getBool("abs"));
        QVERIFY(test::contains(test::errorOf([&] {
                                   resolveParams(saliency.params(), {{"steps", "3"}}, "saliency");
                               }),
                               "(it has: abs)"));
    }

    void paramsCompleteAndCheckTypedValues()
    {
        const auto specs = MethodRegistry::instance().get("integrated-gradients").params();
        Params given;
        given.set("steps", 12);
        const Params full = completeParams(specs, given, "integrated-gradients");
        QCOMPARE(full.getInt("steps"), 12);
        QCOMPARE(full.getInt("batch"), 16);
        QCOMPARE(full.getString("baseline"), std::string("black"));
        QCOMPARE(full.getString("rule"), std::string("gauss-legendre"));
        Params bad;
        bad.set("steps", 0);
        QVERIFY(test::contains(
            test::errorOf([&] { completeParams(specs, bad, "integrated-gradients"); }),
            "parameter \"steps\" of integrated-gradients"));
        Params wrongType;
        wrongType.set("baseline", 3);
        QVERIFY(test::contains(test::errorOf([&] { completeParams(specs, wrongType, "ig"); }),
                               "parameter \"baseline\" of ig: expected one of black, zero, mean, "
                               "blur, uniform, got \"3\""));
        QVERIFY(test::contains(test::errorOf([&] { full.get("sigma"); }), "\"sigma\""));

        const ParamSpec sigma{"sigma", "Sigma", ParamType::Double, 0.5, 0.0, 1.0, {}, ""};
        QCOMPARE(std::get<double>(parseParamValue(sigma, "0.25", "m")), 0.25);
        QCOMPARE(std::get<double>(parseParamValue(sigma, "1e-1", "m")), 0.1);
        for (const char *badValue : {"2", "nan", "-0.5", "x", "0.5.1"})
            QVERIFY2(
                test::contains(test::errorOf([&] { parseParamValue(sigma, badValue, "m"); }),
                               "parameter \"sigma\" of m: expected a number in [0, 1], got \"" +
                                   std::string(badValue) + "\""),
                badValue);
        Params intForDouble;
        intForDouble.set("sigma", 1);
        QCOMPARE(completeParams({sigma}, intForDouble, "m").getDouble("sigma"), 1.0);
    }

    void canonicalParamsAreSortedAndStable()
    {
        const auto specs = MethodRegistry::instance().get("integrated-gradients").params();
        const Params a = resolveParams(specs, {{"steps", "8"}, {"baseline", "zero"}}, "ig");
        QCOMPARE(a.canonical(),
                 std::string("baseline=zero;batch=16;rule=gauss-legendre;seed=0;steps=8"));
        Params b;
        b.set("steps", 8);
        b.set("rule", std::string("gauss-legendre"));
        b.set("batch", 16);
        b.set("baseline", std::string("zero"));
        b.set("seed", 0);
        QCOMPARE(b.canonical(), a.canonical());
        QCOMPARE(a.canonical(), a.canonical());
        Params mixed;
        mixed.set("z", true);
        mixed.set("a", 0.5);
        QCOMPARE(mixed.canonical(), std::string("a=0.5;z=true"));
        QCOMPARE(Params().canonical(), std::string());
    }

    void runExplainExplainsThePredictedClassInTheNativeFrame()
    {
        // Class 2 looks at the bright right half; the image is bright on the right.
        auto weight = torch::zeros({3, 16});
        weight[2].view({4, 4}).narrow(1, 2, 2).fill_(1.0f);
        weight[0].view({4, 4}).narrow(1, 0, 2).fill_(1.0f);
        auto model = wrap(linearModule(weight, torch::zeros({3})), 1, 4, 4);
        cv::Mat image(8, 12, CV_8UC1, cv::Scalar(10));
        image(cv::Rect(6, 0, 6, 8)).setTo(250);

        ExplainJob job;
        job.model = model;
        job.image = image;
        job.methodId = "saliency";
        job.params.set("abs", false);
        auto outcome = runExplain(job, JobContext{});
        QCOMPARE(outcome.prediction.predicted, 2);
        QCOMPARE(outcome.prediction.topK(1), std::vector<int>{2});
        QCOMPARE(outcome.explanation.target, 2);
        QCOMPARE(outcome.explanation.map.size(), cv::Size(4, 4));
        QVERIFY(torch::equal(fromMap(outcome.explanation.map), weight[2].view({4, 4})));
        QCOMPARE(outcome.nativeMap.size(), image.size());
        QCOMPARE(outcome.nativeMap.type(), CV_32FC1);
        QCOMPARE(outcome.geometry.native, image.size());
        QCOMPARE(outcome.explanation.params.canonical(), std::string("abs=false"));
        double sum = 0.0;
        for (float p : outcome.prediction.probabilities)
            sum += p;
        QVERIFY(std::abs(sum - 1.0) < 1e-5);

        job.target = 0;
        job.methodId = "integrated-gradients";
        job.params = Params();
        job.params.set("steps", 8);
        auto chosen = runExplain(job, JobContext{});
        QCOMPARE(chosen.explanation.target, 0);
        QCOMPARE(chosen.explanation.params.getInt("steps"), 8);
        QCOMPARE(chosen.explanation.params.getString("baseline"), std::string("black"));
        QCOMPARE(chosen.nativeMap.size(), image.size());

        job.methodId = "no-such-method";
        QVERIFY(test::contains(test::errorOf([&] { runExplain(job, JobContext{}); }),
                               "unknown method \"no-such-method\" (known: saliency, "
                               "input-x-gradient"));
    }

    void preprocessedImagesOwnTheirPixels()
    {
        // A one-channel image once came back as a view of a freed buffer (garbage values).
        for (int channels : {1, 3}) {
            ModelCard card;
            card.inputChannels = channels;
            card.inputHeight = 4;
            card.inputWidth = 5;
            cv::Mat image(4, 5, CV_8UC(channels), cv::Scalar::all(51));
            const auto t = preprocessImage(image, card, nullptr);
            QVERIFY(t.storage().resizable()); // allocated by torch, not wrapping a cv::Mat
            QCOMPARE(t.sizes().vec(), (std::vector<int64_t>{1, channels, 4, 5}));
            QVERIFY(torch::allclose(t, torch::full({1, channels, 4, 5}, 0.2f)));
        }
    }

    void guidedBackpropAndDeconvNetEqualTheHandComputedModifiedBackward()
    {
        // Two-layer ReLU net: pre = W1 flatten(x) + b1, h = relu(pre), logits = W2 h + b2. Its
        // gradient is W1^T (W2[t] * 1[pre > 0]); Guided Backprop passes back only positive
        // gradients of positive inputs, W1^T (relu(W2[t]) * 1[pre > 0]); DeconvNet only positive
        // gradients, W1^T relu(W2[t]). Checked with torch.relu and with the in-place relu_.
        torch::manual_seed(31);
        const auto w1 = torch::randn({8, 6}), b1 = torch::randn({8}) * 0.5;
        const auto w2 = torch::randn({3, 8});
        const auto x = torch::randn({1, 1, 2, 3});
        const auto pre = torch::matmul(w1, x.flatten()) + b1;
        const auto active = (pre > 0).to(torch::kFloat32);
        QVERIFY(active.sum().item<float>() > 0 && active.sum().item<float>() < 8);
        for (const char *relu : {"h = torch.relu(pre)", "h = pre.relu_()"}) {
            Module m = makeModule(std::make_shared<torch::jit::CompilationUnit>(), "TwoLayer");
            m.register_parameter("w1", w1.clone(), false);
            m.register_parameter("b1", b1.clone(), false);
            m.register_parameter("w2", w2.clone(), false);
            m.define(std::string("def forward(self, x):\n"
                                 "    pre = torch.matmul(torch.flatten(x, 1), self.w1.t()) + "
                                 "self.b1\n    ") +
                     relu + "\n    return torch.matmul(h, self.w2.t())\n");
            auto model = wrap(m, 1, 2, 3);
            const std::string graphBefore =
                model->module().get_method("forward").graph()->toString();
            for (int target = 0; target < 3; ++target) {
                const auto g = w2[target];
                const std::map<std::string, torch::Tensor> expected{
                    {"saliency", torch::matmul(w1.t(), g * active).view({2, 3})},
                    {"guided-backprop",
                     torch::matmul(w1.t(), torch::relu(g) * active).view({2, 3})},
                    {"deconvnet", torch::matmul(w1.t(), torch::relu(g)).view({2, 3})}};
                for (const auto &[id, map] : expected) {
                    auto e = explain(id, model, x, target, {{"abs", "false"}});
                    QVERIFY2(test::allClose(fromMap(e.map), map, 1e-5),
                             (std::string(relu) + " " + id + " target " + std::to_string(target) +
                              ": " + test::maxDifference(fromMap(e.map), map))
                                 .c_str());
                    if (id != "saliency")
                        QCOMPARE(e.stats.at("relus_rewritten"), 1.0);
                }
            }
            // Only the private copy was rewritten.
            QCOMPARE(model->module().get_method("forward").graph()->toString(), graphBefore);
            QVERIFY(graphBefore.find("heatlens::") == std::string::npos);
        }
        // The modified backward changes the answer here (else the test would prove nothing).
        auto model = wrap(linearModule(torch::zeros({3, 6}), torch::zeros({3})), 1, 2, 3);
        auto plain = explain("guided-backprop", model, x, 0);
        QVERIFY(!plain.warnings.empty() && plain.warnings[0].find("no ReLU") != std::string::npos);
    }

    void guidedGradCamIsGuidedBackpropTimesTheUpsampledGradCam()
    {
        const auto w = torch::tensor({2.0f, -1.0f}).view({2, 1, 1, 1});
        const auto v = torch::tensor({{1.0f, -2.0f}, {0.5f, 0.5f}, {-1.0f, 3.0f}});
        auto model = wrap(convSumModule(w, torch::zeros({2}), v, "torch.relu"), 1, 5, 6);
        torch::manual_seed(12);
        const auto x = torch::randn({1, 1, 5, 6});
        for (int target = 0; target < 3; ++target) {
            const auto gb =
                fromMap(explain("guided-backprop", model, x, target, {{"abs", "false"}}).map);
            const auto cam =
                fromMap(explain("grad-cam", model, x, target, {{"layer", "conv"}}).map);
            auto e =
                explain("guided-grad-cam", model, x, target, {{"layer", "conv"}, {"abs", "false"}});
            QVERIFY2(test::allClose(fromMap(e.map), gb * cam, 1e-5),
                     test::maxDifference(fromMap(e.map), gb * cam).c_str());
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
        auto model = wrap(convSumModule(w, torch::zeros({3}), v, ""), 1, 5, 6);
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
                auto s =
                    explain("score-cam", model, x, target, {{"layer", "conv"}, {"batch", batch}});
                QVERIFY2(test::allClose(fromMap(s.map), scoreCam, 1e-4),
                         test::maxDifference(fromMap(s.map), scoreCam).c_str());
                QCOMPARE(s.forwardPasses, 1 + 3);
                QCOMPARE(s.backwardPasses, 0);
                auto b = explain("ablation-cam", model, x, target,
                                 {{"layer", "conv"}, {"batch", batch}});
                QVERIFY2(test::allClose(fromMap(b.map), ablationCam, 1e-4),
                         test::maxDifference(fromMap(b.map), ablationCam).c_str());
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
        auto model = wrap(convSumModule(w, torch::zeros({4}), v, ""), 1, 5, 6);
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
                auto s =
                    explain("score-cam", model, x, target, {{"layer", "conv"}, {"batch", batch}});
                QVERIFY2(test::allClose(fromMap(s.map), expected, 1e-4),
                         test::maxDifference(fromMap(s.map), expected).c_str());
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
        auto model = wrap(convSumModule(w, torch::zeros({4}), v, ""), 1, 5, 6);
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
                auto e = explain(id, model, x, target,
                                 {{"layer", "conv"}, {"batch", "3"}, {"mass", "0.8"}});
                const auto &expected = std::string(id) == "score-cam" ? scoreCam : ablationCam;
                QVERIFY2(expected.max().item<float>() > 0.1f,
                         (std::string(id) + " target " + std::to_string(target) + ": all zero")
                             .c_str()); // not the ReLU's all-zero map
                QVERIFY2(test::allClose(fromMap(e.map), expected, 1e-4),
                         (std::string(id) + ": " + test::maxDifference(fromMap(e.map), expected))
                             .c_str());
                QCOMPARE(e.forwardPasses, 1 + (std::string(id) == "ablation-cam" ? 1 : 0) + 2);
                QCOMPARE(e.stats.at("channels_scored"), 2.0);
                QCOMPARE(e.stats.at("channels"), 4.0);
                QVERIFY(!e.warnings.empty());
                QVERIFY2(test::contains(e.warnings[0], "approximate: 2 of 4 channels of conv") &&
                             test::contains(e.warnings[0], "84.2%"),
                         e.warnings[0].c_str());
                // The default scores every channel and says nothing.
                auto exact = explain(id, model, x, target, {{"layer", "conv"}});
                QCOMPARE(exact.stats.at("channels_scored"), 4.0);
                QVERIFY(exact.warnings.empty());
                QVERIFY2(!test::allClose(fromMap(exact.map), expected, 1e-3),
                         (std::string(id) + " target " + std::to_string(target) + ": " +
                          test::maxDifference(fromMap(exact.map), expected))
                             .c_str());
            }
        }
    }

    void multiLayerCamAveragesTheRectifiedScaledMapsOfEachLayer()
    {
        auto cu = std::make_shared<torch::jit::CompilationUnit>();
        Module net = makeModule(cu, "TwoConv");
        torch::manual_seed(15);
        for (const char *name : {"conv1", "conv2"}) {
            Module conv = makeModule(cu, std::string("Conv_") + name);
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
        auto model = wrap(net, 1, 6, 7);
        const auto x = torch::randn({1, 1, 6, 7});
        auto scaled = [&](const std::string &layer) {
            auto m = torch::relu(fromMap(explain("grad-cam", model, x, 1, {{"layer", layer}}).map));
            return (m - m.min()) / (m.max() - m.min()).clamp_min(1e-7);
        };
        const auto expected = (scaled("conv1") + scaled("conv2")) / 2;
        auto e = explain("grad-cam", model, x, 1, {{"layer", "conv1, conv2"}});
        QVERIFY2(test::allClose(fromMap(e.map), expected, 1e-5),
                 test::maxDifference(fromMap(e.map), expected).c_str());
        QCOMPARE(e.layer, std::string("conv1,conv2"));
        QCOMPARE(e.forwardPasses, 1); // both layers from one pass
        QCOMPARE(e.backwardPasses, 1);
        QVERIFY(!torch::allclose(scaled("conv1"), scaled("conv2")));
    }

    void gradientShapOfALinearModelIsWeightsTimesInputMinusTheMeanReference()
    {
        // The gradient is constant (w), so every sample adds w * (x - b): with one reference the
        // answer is exact; with several it is w * (x - mean of the drawn references), and
        // completeness holds for the drawn references.
        LinearCase c;
        const Method &shap = MethodRegistry::instance().get("gradient-shap");
        ExplainRequest request;
        request.model = c.model;
        request.input = c.input;
        request.target = 2;
        request.params =
            resolveParams(shap.params(), {{"samples", "10"}, {"batch", "4"}}, shap.id());
        bool thrown = false;
        QVERIFY(
            test::contains(test::errorOf([&] { shap.explain(request, JobContext{}); }), "dataset"));
        (void)thrown;
        const auto reference = torch::randn({1, 2, 3, 4});
        request.references = reference;
        auto e = shap.explain(request, JobContext{});
        const auto expected = (c.weightOf(2) * (c.input[0] - reference[0])).sum(0);
        QVERIFY2(test::allClose(fromMap(e.map), expected, 1e-5),
                 test::maxDifference(fromMap(e.map), expected).c_str());
        QVERIFY(e.stats.at("completeness_gap") < 1e-4);
        QCOMPARE(e.backwardPasses, 10);
        request.references = torch::randn({5, 2, 3, 4});
        auto a = shap.explain(request, JobContext{});
        auto b = shap.explain(request, JobContext{});
        QVERIFY(test::bitwiseEqual(a.map, b.map));
        request.params.set("seed", 3);
        QVERIFY(!test::bitwiseEqual(a.map, shap.explain(request, JobContext{}).map));
    }

    void attentionMethodsMatchClosedFormsOnAOneBlockTransformer()
    {
        // Tokens: CLS (0) + the 4 pixels of a 2x2 input (patch size 1). One block whose
        // attention A = softmax(L) is a parameter (formally a function of the input, so that
        // autograd reaches it); the value of token j is x_j v, and the logit
        // of class t is W[t] · (A V)[CLS]. Then dy/dA[0, j] = x_j (W[t] · v) and 0 elsewhere, so
        //   raw attention      = A[0, 1:]
        //   rollout            = ((A + I) / 2)[0, 1:] = A[0, 1:] / 2
        //   Chefer 2021b       = (I + relu(dA * A))[0, 1:] = relu(A[0, j] x_j (W[t] · v))
        auto makeModel = [](const torch::Tensor &logits, const torch::Tensor &v,
                            const torch::Tensor &w) {
            auto cu = std::make_shared<torch::jit::CompilationUnit>();
            Module attn = makeModule(cu, "Attention");
            attn.register_parameter("logits", logits.clone(), false);
            attn.register_parameter("v", v.clone(), false);
            attn.define("def forward(self, tokens):\n"
                        "    a = torch.softmax(self.logits + 0.0 * tokens.sum(), -1)\n"
                        "    return torch.matmul(a[0], tokens * self.v)\n");
            Module net = makeModule(cu, "OneBlock");
            net.register_module("attn", attn);
            net.register_parameter("w", w.clone(), false);
            net.define("def forward(self, x):\n"
                       "    t = torch.flatten(x, 2).transpose(1, 2)\n"
                       "    t = torch.cat([torch.zeros_like(t[:, :1]), t], 1)\n"
                       "    return torch.matmul(self.attn.forward(t)[:, 0], self.w.t())\n");
            return wrap(net, 1, 2, 2);
        };
        torch::manual_seed(16);
        const auto logits = torch::randn({1, 1, 5, 5});
        const auto v = torch::tensor({1.0f, -0.5f, 2.0f});
        const auto w = torch::randn({3, 3});
        auto model = makeModel(logits, v, w);
        QCOMPARE(model->attentionLayers(), std::vector<std::string>{"attn#softmax"});
        const auto x = torch::randn({1, 1, 2, 2});
        const auto a = torch::softmax(logits, -1)[0][0];
        const auto cls = a[0].slice(0, 1).view({2, 2});
        auto raw = explain("raw-attention", model, x, 0);
        QVERIFY2(test::allClose(fromMap(raw.map), cls, 1e-6),
                 test::maxDifference(fromMap(raw.map), cls).c_str());
        auto rollout = explain("attention-rollout", model, x, 0);
        QVERIFY2(test::allClose(fromMap(rollout.map), cls / 2, 1e-6),
                 test::maxDifference(fromMap(rollout.map), cls / 2).c_str());
        for (int target = 0; target < 3; ++target) {
            const auto expected = torch::relu(cls * x[0][0] * (w[target] * v).sum());
            auto e = explain("attention-relevance", model, x, target);
            QVERIFY2(test::allClose(fromMap(e.map), expected, 1e-5),
                     test::maxDifference(fromMap(e.map), expected).c_str());
            QCOMPARE(e.backwardPasses, 1);
        }
        // Rollout of identity attention is uniform (0: the CLS token keeps to itself), and so is
        // rollout of uniform attention (every patch gets the same share).
        for (const auto &[l, value] : {std::pair{torch::eye(5).view({1, 1, 5, 5}) * 1000, 0.0},
                                       std::pair{torch::zeros({1, 1, 5, 5}), 0.1}}) {
            auto e = explain("attention-rollout", makeModel(l, v, w), x, 1);
            QVERIFY2(test::allClose(fromMap(e.map), torch::full({2, 2}, value), 1e-6),
                     test::maxDifference(fromMap(e.map), torch::full({2, 2}, value)).c_str());
        }
        // A CNN has no attention: the methods say so.
        LinearCase c;
        const Method &rollMethod = MethodRegistry::instance().get("attention-rollout");
        QVERIFY(!rollMethod.whyNotApplicable(*c.model).empty());
        QVERIFY(test::contains(
            test::errorOf([&] { explain("attention-rollout", c.model, c.input, 0); }),
            "no attention layers"));
    }

    void quadratureWeightsSumToOneOnTheUnitInterval()
    {
        for (const auto &rule : quadratureRules()) {
            for (int n : {1, 2, 3, 7, 50, 64, 257}) {
                const Quadrature q = quadrature(rule, n);
                QCOMPARE(q.alphas.size(), size_t(n));
                QCOMPARE(q.weights.size(), size_t(n));
                double sum = 0.0;
                for (int i = 0; i < n; ++i) {
                    sum += q.weights[i];
                    QVERIFY(q.weights[i] > 0.0);
                    QVERIFY(q.alphas[i] >= 0.0 && q.alphas[i] <= 1.0);
                    if (i > 0)
                        QVERIFY(q.alphas[i] > q.alphas[i - 1]);
                }
                QVERIFY2(std::abs(sum - 1.0) < 1e-12, (rule + " " + std::to_string(n)).c_str());
            }
        }
        QCOMPARE(quadrature("riemann-left", 4).alphas, (std::vector<double>{0, 0.25, 0.5, 0.75}));
        QCOMPARE(quadrature("riemann-right", 2).alphas, (std::vector<double>{0.5, 1.0}));
        QCOMPARE(quadrature("riemann-trapezoid", 3).weights,
                 (std::vector<double>{0.25, 0.5, 0.25}));
        QVERIFY(test::contains(test::errorOf([] { quadrature("simpson", 4); }), "\"simpson\""));
        QVERIFY(test::contains(test::errorOf([] { quadrature("gauss-legendre", 0); }), "got 0"));
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
            auto e =
                explain("kernel-shap", c.model, c.input, target,
                        {{"cells", "2"}, {"samples", "21"}, {"baseline", "mean"}, {"batch", "4"}});
            QVERIFY2(test::allClose(fromMap(e.map), expected, 1e-4),
                     test::maxDifference(fromMap(e.map), expected).c_str());
            QVERIFY(e.signedMap);
            QVERIFY(e.warnings.empty());
            QCOMPARE(e.forwardPasses, 2 + 22); // input and baseline, then the coalitions
            // Efficiency: the cells add up to f(x) - f(baseline).
            const double delta = (logits[0][target] - logits[1][target]).item<double>();
            QVERIFY(std::abs(e.stats.at("logit_delta") - delta) < 1e-5);
            QVERIFY(std::abs(e.stats.at("base_value") - logits[1][target].item<double>()) < 1e-5);
            QVERIFY2(e.stats.at("efficiency_gap") < 1e-9,
                     std::to_string(e.stats.at("efficiency_gap")).c_str());
        }
        // One-pixel cells (4 x 4 clamped to the 3 x 4 image): the per-pixel contributions.
        auto pixels =
            explain("kernel-shap", c.model, c.input, 1, {{"cells", "4"}, {"samples", "200"}});
        const auto perPixel = (c.input[0] * c.weightOf(1)).sum(0);
        QVERIFY2(test::allClose(fromMap(pixels.map), perPixel, 1e-4),
                 test::maxDifference(fromMap(pixels.map), perPixel).c_str());
        // A single cell needs no sampling: it carries the whole difference.
        auto whole = explain("kernel-shap", c.model, c.input, 1, {{"cells", "1"}});
        QVERIFY(test::allClose(fromMap(whole.map),
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
        auto e = explain("lime", c.model, c.input, target,
                         {{"cells", "2"}, {"samples", "1000"}, {"batch", "64"}});
        QVERIFY2(test::allClose(fromMap(e.map), expected, 1e-3),
                 test::maxDifference(fromMap(e.map), expected).c_str());
        QVERIFY(e.signedMap);
        QVERIFY(e.warnings.empty());
        QCOMPARE(e.forwardPasses, 1000);
        QVERIFY2(e.stats.at("weighted_r2") > 0.99999,
                 std::to_string(e.stats.at("weighted_r2")).c_str());
        const double fb = c.model->predict(torch::zeros_like(c.input))[0][target].item<double>();
        QVERIFY2(std::abs(e.stats.at("intercept") - fb) < 1e-3,
                 std::to_string(e.stats.at("intercept") - fb).c_str());
        // The ridge is real: a heavy one shrinks the coefficient vector (one pixel per cell).
        auto shrunk = explain("lime", c.model, c.input, target,
                              {{"cells", "2"}, {"samples", "1000"}, {"ridge", "1000"}});
        auto coefficients = [](const cv::Mat &map) {
            const auto m = fromMap(map);
            return torch::stack({m[0][0], m[0][2], m[1][0], m[1][2]}).norm().item<double>();
        };
        QVERIFY(coefficients(shrunk.map) < 0.5 * coefficients(e.map));
    }

    void riseOfAModelBlindToItsInputIsItsProbabilityEverywhere()
    {
        // Zero weights: every masked image scores softmax(bias)[t], so the map is that
        // probability times mean_i M_i / p, which is 1 in expectation (E[M] = p).
        const auto bias = torch::tensor({0.5f, -1.0f, 2.0f});
        auto model = wrap(linearModule(torch::zeros({3, 24}), bias), 2, 3, 4);
        torch::manual_seed(3);
        const auto x = torch::randn({1, 2, 3, 4});
        const float probability = torch::softmax(bias, 0)[2].item<float>();
        // Masks that keep everything make it exact.
        auto kept = explain("rise", model, x, 2, {{"keep", "1"}, {"masks", "10"}, {"batch", "4"}});
        QVERIFY2(test::allClose(fromMap(kept.map), torch::full({3, 4}, probability), 1e-5),
                 test::maxDifference(fromMap(kept.map), torch::full({3, 4}, probability)).c_str());
        QVERIFY(!kept.signedMap);
        QCOMPARE(kept.forwardPasses, 10);
        // With p = 1/2 only the masks' mean is p: the map is the probability up to the masks'
        // sampling noise. Each mask has only 2 x 2 random cells, so the noise is shared by all
        // pixels: about 0.4 % for 20000 masks (it converges: 0.2 % at 40000, 1.4 % at 4000).
        auto e =
            explain("rise", model, x, 2, {{"masks", "20000"}, {"cells", "2"}, {"batch", "1000"}});
        const auto ratio = fromMap(e.map) / probability;
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
            return explain("rise", c.model, c.input, 1, extra);
        };
        const auto first = with({}), again = with({});
        QVERIFY(test::bitwiseEqual(first.map, again.map));
        // The masks are drawn one after another: batching only changes the summation order.
        const auto batched = with({{"batch", "5"}});
        QVERIFY2(test::allClose(fromMap(batched.map), fromMap(first.map), 1e-6),
                 test::maxDifference(fromMap(batched.map), fromMap(first.map)).c_str());
        const auto other = with({{"seed", "1"}});
        QVERIFY(!test::allClose(fromMap(other.map), fromMap(first.map), 1e-3));
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
        auto blind = wrap(linearModule(torch::zeros({3, 24}), bias), 2, 3, 4);
        const float probability = torch::softmax(bias, 0)[0].item<float>();
        std::vector<ProgressUpdate> kept;
        run(blind, c.input, {{"masks", "10"}, {"batch", "3"}, {"keep", "1"}}, kept);
        QCOMPARE(kept.size(), size_t(4));
        for (const auto &u : kept)
            QVERIFY(test::allClose(fromMap(u.partialMap), torch::full({3, 4}, probability), 1e-5));
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
            explain("kernel-shap", c.model, c.input, 0, {{"samples", "12"}});
        } catch (const std::invalid_argument &error) {
            message = error.what();
        }
        QVERIFY2(test::contains(message, "parameter \"samples\" of kernel-shap: 12 coalitions") &&
                     test::contains(message, "need at least 13"),
                 message.c_str());
        QCOMPARE(explain("kernel-shap", c.model, c.input, 0, {{"samples", "13"}}).forwardPasses,
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

    void gaussLegendreIntegratesPolynomialsOfDegreeTwoNMinusOneExactly()
    {
        for (int n = 1; n <= 16; ++n) {
            const Quadrature q = quadrature("gauss-legendre", n);
            for (int degree = 0; degree <= 2 * n - 1; ++degree) {
                const double value = integrate(q, [&](double a) { return std::pow(a, degree); });
                QVERIFY2(std::abs(value - 1.0 / (degree + 1)) < 1e-12,
                         (std::to_string(n) + " points, degree " + std::to_string(degree)).c_str());
            }
            // ...and not degree 2n (so the test above has teeth; the error falls below double
            // precision beyond 4 points).
            const double next = integrate(q, [&](double a) { return std::pow(a, 2 * n); });
            if (n <= 4)
                QVERIFY(std::abs(next - 1.0 / (2 * n + 1)) > 1e-12);
        }
        // Riemann midpoint and trapezoid are exact for straight lines only.
        for (const char *rule : {"riemann-middle", "riemann-trapezoid"}) {
            const Quadrature q = quadrature(rule, 5);
            QVERIFY(std::abs(integrate(q, [](double a) { return 3 * a + 1; }) - 2.5) < 1e-12);
            QVERIFY(std::abs(integrate(q, [](double a) { return a * a; }) - 1.0 / 3) > 1e-6);
        }
    }
};

QTEST_APPLESS_MAIN(MethodsKnownAnswersTest)
#include "test_methods_known_answers.moc"
