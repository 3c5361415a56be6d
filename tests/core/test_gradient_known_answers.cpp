// Known answers of the gradient methods (saliency, Input x Gradient, Integrated Gradients,
// SmoothGrad, GradientSHAP, guided backprop, DeconvNet): tiny models whose attributions are
// computed by hand.
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

class GradientKnownAnswersTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void linearModelSaliencyEqualsWeights()
    {
        LinearCase c;
        for (int target = 0; target < 3; ++target) {
            const auto w = c.weightOf(target);
            auto signedMap = explainWith("saliency", c.model, c.input, target, {{"abs", "false"}});
            QVERIFY(signedMap.signedMap);
            QVERIFY2(test::allClose(tensorOf(signedMap.map), w.sum(0), 1e-6),
                     test::maxDifference(tensorOf(signedMap.map), w.sum(0)).c_str());
            auto absMap = explainWith("saliency", c.model, c.input, target, {{"abs", "true"}});
            QVERIFY(!absMap.signedMap);
            const auto expected = std::get<0>(w.abs().max(0));
            QVERIFY2(test::allClose(tensorOf(absMap.map), expected, 1e-6),
                     test::maxDifference(tensorOf(absMap.map), expected).c_str());
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
            auto e = explainWith("input-x-gradient", c.model, c.input, target, {});
            const auto expected = (c.input[0] * c.weightOf(target)).sum(0);
            QVERIFY(e.signedMap);
            QVERIFY2(test::allClose(tensorOf(e.map), expected, 1e-6),
                     test::maxDifference(tensorOf(e.map), expected).c_str());
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
            explainWith("smoothgrad", c.model, c.input, target, {{"samples", "7"}, {"batch", "3"}});
        const auto saliency = std::get<0>(w.abs().max(0));
        QVERIFY2(test::allClose(tensorOf(mean.map), saliency, 1e-5),
                 test::maxDifference(tensorOf(mean.map), saliency).c_str());
        QCOMPARE(mean.forwardPasses, 7);
        QCOMPARE(mean.backwardPasses, 7);
        auto squared = explainWith("smoothgrad", c.model, c.input, target,
                                   {{"variant", "smoothgrad-sq"}, {"samples", "5"}});
        QVERIFY(!squared.signedMap);
        QVERIFY(test::allClose(tensorOf(squared.map), (w * w).sum(0), 1e-5));
        auto variance = explainWith("smoothgrad", c.model, c.input, target,
                                    {{"variant", "vargrad"}, {"samples", "5"}});
        QVERIFY(tensorOf(variance.map).abs().max().item<float>() < 1e-5f);
    }

    void smoothGradIsSeededAndItsNoiseIsRealForInputTimesGradient()
    {
        LinearCase c;
        const std::map<std::string, std::string> a{
            {"base", "input-x-gradient"}, {"samples", "6"}, {"seed", "1"}};
        auto first = explainWith("smoothgrad", c.model, c.input, 0, a);
        auto again = explainWith("smoothgrad", c.model, c.input, 0, a);
        QVERIFY(test::bitwiseEqual(first.map, again.map));
        auto other = a;
        other["seed"] = "2";
        auto different = explainWith("smoothgrad", c.model, c.input, 0, other);
        QVERIFY(!test::bitwiseEqual(first.map, different.map));
        // Noise of mean zero: the average stays near input x weights; VarGrad is (w sigma)^2-ish
        // and positive.
        auto zeroNoise = a;
        zeroNoise["noise"] = "0";
        auto exact = explainWith("smoothgrad", c.model, c.input, 0, zeroNoise);
        QVERIFY(test::allClose(tensorOf(exact.map), (c.input[0] * c.weightOf(0)).sum(0), 1e-5));
        auto var = a;
        var["variant"] = "vargrad";
        QVERIFY(
            tensorOf(explainWith("smoothgrad", c.model, c.input, 0, var).map).min().item<float>() >
            0.0f);
    }

    void integratedGradientsFromAnyBaselineAreInputMinusBaselineTimesWeights()
    {
        LinearCase c;
        for (const auto &kind : baselineKinds()) {
            auto e = explainWith("integrated-gradients", c.model, c.input, 0,
                                 {{"baseline", kind}, {"seed", "5"}});
            const auto b = makeBaseline(kind, c.input, c.model->card(), 5);
            const auto expected = ((c.input - b)[0] * c.weightOf(0)).sum(0);
            QVERIFY2(test::allClose(tensorOf(e.map), expected, 1e-5),
                     (kind + ": " + test::maxDifference(tensorOf(e.map), expected)).c_str());
            QVERIFY2(e.stats.at("completeness_gap") < 1e-4, kind.c_str());
        }
    }

    void linearModelSaliencyOfOneChannelIsTheWeightImage()
    {
        torch::manual_seed(4);
        const auto weight = torch::randn({3, 16});
        auto model = withCard(linearModule(weight, torch::zeros({3})), 1, 4, 4);
        const auto input = torch::rand({1, 1, 4, 4});
        auto plain = explainWith("saliency", model, input, 1, {{"abs", "false"}});
        QVERIFY(torch::equal(tensorOf(plain.map), weight[1].view({4, 4})));
        auto absolute = explainWith("saliency", model, input, 1);
        QVERIFY(torch::equal(tensorOf(absolute.map), weight[1].view({4, 4}).abs()));
    }

    void linearModelIntegratedGradientsEqualInputTimesWeights()
    {
        LinearCase c;
        const int target = 1;
        const auto expected = (c.input[0] * c.weightOf(target)).sum(0);
        for (const auto &rule : quadratureRules()) {
            for (const char *baseline : {"zero", "black"}) {
                auto e = explainWith("integrated-gradients", c.model, c.input, target,
                                     {{"rule", rule}, {"baseline", baseline}, {"steps", "64"}});
                const std::string what = rule + "/" + baseline + ": ";
                QVERIFY2(test::allClose(tensorOf(e.map), expected, 1e-5),
                         (what + test::maxDifference(tensorOf(e.map), expected)).c_str());
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
        auto e = explainWith("integrated-gradients", c.model, c.input, target,
                             {{"baseline", "black"}, {"steps", "16"}});
        QVERIFY2(test::allClose(tensorOf(e.map), expected, 1e-5),
                 test::maxDifference(tensorOf(e.map), expected).c_str());
        const auto zero = (c.input[0] * c.weightOf(target)).sum(0);
        auto z = explainWith("integrated-gradients", c.model, c.input, target,
                             {{"baseline", "zero"}, {"steps", "16"}});
        QVERIFY(test::allClose(tensorOf(z.map), zero, 1e-5));
        QVERIFY(z.stats.at("completeness_gap") < 1e-4);
    }

    void integratedGradientsBatchingDoesNotChangeTheAnswer()
    {
        LinearCase c;
        auto whole = explainWith("integrated-gradients", c.model, c.input, 0,
                                 {{"steps", "64"}, {"batch", "64"}});
        auto batched = explainWith("integrated-gradients", c.model, c.input, 0,
                                   {{"steps", "64"}, {"batch", "7"}});
        auto single = explainWith("integrated-gradients", c.model, c.input, 0,
                                  {{"steps", "64"}, {"batch", "1"}});
        QVERIFY2(test::allClose(tensorOf(batched.map), tensorOf(whole.map), 1e-6),
                 test::maxDifference(tensorOf(batched.map), tensorOf(whole.map)).c_str());
        QVERIFY(test::allClose(tensorOf(single.map), tensorOf(whole.map), 1e-6));
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

    void nonlinearModelCompletenessGapShrinksWithSteps()
    {
        torch::manual_seed(8);
        auto model =
            withCard(convSumModule(torch::randn({2, 1, 3, 3}) * 0.5, torch::randn({2}) * 0.1,
                                   torch::randn({3, 2}), "torch.tanh"),
                     1, 6, 6);
        const auto x = torch::randn({1, 1, 6, 6});
        auto gap = [&](const std::string &rule, int steps) {
            auto e = explainWith(
                "integrated-gradients", model, x, 1,
                {{"rule", rule}, {"steps", std::to_string(steps)}, {"baseline", "zero"}});
            const double sum = tensorOf(e.map).sum().item<double>();
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
        auto e = explainWith("integrated-gradients", model, x, 1, {{"baseline", "zero"}});
        const auto logits = model->predict(torch::cat({x, torch::zeros_like(x)}));
        QVERIFY(std::abs(e.stats.at("logit_delta") - (logits[0][1] - logits[1][1]).item<double>()) <
                1e-5);
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
            Module m = scriptModule(std::make_shared<torch::jit::CompilationUnit>(), "TwoLayer");
            m.register_parameter("w1", w1.clone(), false);
            m.register_parameter("b1", b1.clone(), false);
            m.register_parameter("w2", w2.clone(), false);
            m.define(std::string("def forward(self, x):\n"
                                 "    pre = torch.matmul(torch.flatten(x, 1), self.w1.t()) + "
                                 "self.b1\n    ") +
                     relu + "\n    return torch.matmul(h, self.w2.t())\n");
            auto model = withCard(m, 1, 2, 3);
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
                    auto e = explainWith(id, model, x, target, {{"abs", "false"}});
                    QVERIFY2(test::allClose(tensorOf(e.map), map, 1e-5),
                             (std::string(relu) + " " + id + " target " + std::to_string(target) +
                              ": " + test::maxDifference(tensorOf(e.map), map))
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
        auto model = withCard(linearModule(torch::zeros({3, 6}), torch::zeros({3})), 1, 2, 3);
        auto plain = explainWith("guided-backprop", model, x, 0);
        QVERIFY(!plain.warnings.empty() && plain.warnings[0].find("no ReLU") != std::string::npos);
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
        QVERIFY2(test::allClose(tensorOf(e.map), expected, 1e-5),
                 test::maxDifference(tensorOf(e.map), expected).c_str());
        QVERIFY(e.stats.at("completeness_gap") < 1e-4);
        QCOMPARE(e.backwardPasses, 10);
        request.references = torch::randn({5, 2, 3, 4});
        auto a = shap.explain(request, JobContext{});
        auto b = shap.explain(request, JobContext{});
        QVERIFY(test::bitwiseEqual(a.map, b.map));
        request.params.set("seed", 3);
        QVERIFY(!test::bitwiseEqual(a.map, shap.explain(request, JobContext{}).map));
    }
};

QTEST_APPLESS_MAIN(GradientKnownAnswersTest)
#include "test_gradient_known_answers.moc"
