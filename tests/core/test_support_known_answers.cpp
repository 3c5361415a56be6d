// Known answers of the what every family shares: baselines, parameters, quadrature rules,
// runExplain and preprocessing: tiny models whose attributions are computed by hand.
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

namespace {

double integrate(const Quadrature &q, const std::function<double(double)> &f)
{
    double sum = 0.0;
    for (size_t i = 0; i < q.alphas.size(); ++i)
        sum += q.weights[i] * f(q.alphas[i]);
    return sum;
}

} // namespace

class MethodSupportKnownAnswersTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
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

        const ParamSpec sigma = ParamSpec::real("sigma", "Sigma", 0.5).range(0.0, 1.0);
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
        auto model = withCard(linearModule(weight, torch::zeros({3})), 1, 4, 4);
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
        QVERIFY(torch::equal(tensorOf(outcome.explanation.map), weight[2].view({4, 4})));
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

QTEST_APPLESS_MAIN(MethodSupportKnownAnswersTest)
#include "test_support_known_answers.moc"
