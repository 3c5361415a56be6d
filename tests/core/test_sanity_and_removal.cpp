#include "core/explain/RandomControl.h"
#include "core/metrics/Removal.h"
#include "core/metrics/Sanity.h"
#include "core/model/Model.h"
#include "core/model/Randomise.h"
#include "tests/support/KnownModels.h"
#include "tests/support/TestSupport.h"

#include <QTest>

#include <opencv2/core.hpp>

#include <torch/script.h>

using namespace heatlens;
using heatlens::test::bitwiseEqual;
using heatlens::test::contains;
using heatlens::test::errorOf;

namespace {

torch::jit::Module newModule(const std::string &type)
{
    return heatlens::test::scriptModule(nullptr, type, false);
}

// logits = scale.s * (linear.weight · flatten(x) + linear.bias) on a 1 x h x w input, 3
// classes: two parameter layers, "linear" (input side) then "scale" (logits side).
ModelPtr scaledLinearModel(const torch::Tensor &weight, double s, int h = 4, int w = 5)
{
    auto linear = newModule("Linear");
    linear.register_parameter("weight", weight.clone(), false);
    linear.register_parameter("bias", torch::zeros({weight.size(0)}), false);
    linear.define("def forward(self, x):\n"
                  "    return torch.linear(torch.flatten(x, 1), self.weight, self.bias)\n");
    auto scale = newModule("Scale");
    scale.register_parameter("s", torch::full({1}, s), false);
    scale.define("def forward(self, x):\n    return x * self.s\n");
    auto root = newModule("ScaledLinear");
    root.register_module("linear", linear);
    root.register_module("scale", scale);
    root.define("def forward(self, x):\n"
                "    return self.scale.forward(self.linear.forward(x))\n");
    ModelCard card;
    card.inputChannels = 1;
    card.inputHeight = h;
    card.inputWidth = w;
    return Model::fromModule(root, card, "scaled linear");
}

torch::Tensor parameter(const Model &m, const std::string &layer, const std::string &name)
{
    return m.module().attr(layer).toModule().attr(name).toTensor();
}

} // namespace

class SanityAndRemovalTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void randomisedCopiesChangeExactlyTheLayersClaimed()
    {
        torch::manual_seed(1);
        const auto w = torch::randn({3, 20});
        const auto model = scaledLinearModel(w, 2.0);
        const auto layers = parameterLayers(*model);
        QCOMPARE(int(layers.size()), 2);
        QCOMPARE(layers[0].path, std::string("linear"));
        QCOMPARE(layers[0].size, int64_t(63));
        QCOMPARE(layers[1].path, std::string("scale"));

        const auto copy = randomisedCopy(model, {"scale"}, 7);
        QVERIFY(torch::equal(parameter(*copy, "linear", "weight"), w));
        QVERIFY(!torch::equal(parameter(*copy, "scale", "s"), torch::full({1}, 2.0)));
        // No weight matrix in "scale": truncated normal.
        QVERIFY(parameter(*copy, "scale", "s").abs().item<double>() <= 2.0);
        // The original is untouched and the copy is reproducible from its seed.
        QVERIFY(torch::equal(parameter(*model, "scale", "s"), torch::full({1}, 2.0)));
        const auto again = randomisedCopy(model, {"scale"}, 7);
        QVERIFY(torch::equal(parameter(*again, "scale", "s"), parameter(*copy, "scale", "s")));

        const auto both = randomisedCopy(model, {"scale", "linear"}, 7);
        const auto rw = parameter(*both, "linear", "weight");
        QVERIFY(!torch::equal(rw, w));
        // PyTorch's default bound for a 20-input linear layer, bias included.
        QVERIFY(rw.abs().max().item<double>() <= 1.0 / std::sqrt(20.0));
        QVERIFY(parameter(*both, "linear", "bias").abs().max().item<double>() > 0.0);
        QVERIFY(torch::equal(parameter(*model, "linear", "weight"), w));
        QVERIFY(contains(errorOf([&] { randomisedCopy(model, {"nope"}, 0); }), "\"nope\""));
    }

    void cascadingStepsGoFromTheLogitsDown()
    {
        const auto model = scaledLinearModel(torch::ones({3, 20}), 1.0);
        SanityOptions o;
        const auto cascade = sanitySteps(*model, o);
        QCOMPARE(int(cascade.size()), 2);
        QCOMPARE(cascade[0].first, std::string("scale"));
        QCOMPARE(cascade[0].second, std::vector<std::string>({"scale"}));
        QCOMPARE(cascade[1].second, std::vector<std::string>({"scale", "linear"}));
        o.mode = "independent";
        const auto independent = sanitySteps(*model, o);
        QCOMPARE(independent[1].second, std::vector<std::string>({"linear"}));
        o.mode = "sideways";
        QVERIFY(contains(errorOf([&] { sanitySteps(*model, o); }), "sideways"));
    }

    void saliencyFollowsTheWeightsItExplains()
    {
        // Saliency of class 0 is s * w[0]. Randomising "scale" alone rescales the map, so its
        // rank correlation of absolute values stays exactly 1; randomising "linear" replaces
        // w[0] by random weights, and with them the ranking.
        torch::manual_seed(2);
        const auto w = torch::randn({3, 64});
        const auto model = scaledLinearModel(w, 2.0, 8, 8); // 8 x 8: SSIM's window fits
        const auto x = torch::randn({1, 1, 8, 8});
        SanityOptions o;
        o.mode = "independent";
        const SanityResult r = sanityCheck(model, x, 0, "saliency", {}, o, JobContext{});
        QCOMPARE(int(r.steps.size()), 2);
        QCOMPARE(r.steps[0].label, std::string("scale"));
        QVERIFY(std::abs(r.steps[0].spearmanAbs - 1.0) < 1e-9);
        QVERIFY(std::abs(std::abs(r.steps[0].spearman) - 1.0) < 1e-9);
        QVERIFY(std::abs(r.steps[0].ssim - 1.0) < 1e-6);
        QVERIFY2(r.steps[1].spearmanAbs < 0.9, std::to_string(r.steps[1].spearmanAbs).c_str());
        // The cascade ends with both layers random: the verdict is made on that last step.
        o.mode = "cascading";
        int reports = 0;
        const SanityResult c = sanityCheck(model, x, 0, "saliency", {}, o, JobContext{}, {},
                                           [&](const SanityResult &) { ++reports; });
        QCOMPARE(reports, 2);
        QCOMPARE(c.passed, c.steps.back().spearmanAbs < o.threshold);
        QVERIFY(contains(c.verdict, c.passed ? "passes" : "fails"));
        QVERIFY(contains(
            errorOf([&] { sanityCheck(model, x, 0, "no-such-method", {}, o, JobContext{}); }),
            "no-such-method"));
    }

    void roadRemovesTheRankedPixelsAndImputesThem()
    {
        torch::manual_seed(3);
        const auto w = torch::randn({3, 20});
        const auto model = scaledLinearModel(w, 1.0);
        const auto x = torch::randn({1, 1, 4, 5});
        cv::Mat map(4, 5, CV_32FC1);
        for (int i = 0; i < 20; ++i)
            map.at<float>(i / 5, i % 5) = float(i);
        const auto ranking = pixelRanking(map, true);
        QCOMPARE(ranking[19].item<int64_t>(), int64_t(0)); // largest value first
        QCOMPARE(ranking[0].item<int64_t>(), int64_t(19));
        // Nothing removed: the input itself; 25% removed: exactly the 5 top pixels change.
        QVERIFY(torch::equal(roadImage(x, ranking, 0.0, 0.01, 1), x));
        const auto changed = (roadImage(x, ranking, 0.25, 0.01, 1) != x).flatten();
        QCOMPARE(changed.sum().item<int64_t>(), int64_t(5));
        QVERIFY(changed.slice(0, 15).all().item<bool>());

        RoadOptions o;
        o.fractions = {0.0, 0.5};
        const Curve c = roadCurve(*model, x, 1, map, o, JobContext{});
        const auto p = torch::softmax(model->predict(x), 1)[0][1].item<double>();
        QVERIFY(std::abs(c.probabilities[0] - p) < 1e-6);
        QCOMPARE(c.forwardPasses, 2);
        o.order = "up";
        QVERIFY(contains(errorOf([&] { roadCurve(*model, x, 1, map, o, JobContext{}); }), "up"));
        o.order = "morf";
        QVERIFY(contains(errorOf([&] {
                             roadCurve(*model, x, 1, cv::Mat::zeros(3, 3, CV_32FC1), o,
                                       JobContext{});
                         }),
                         "3x3"));
    }

    void maskedPredictionsKeepTheInputAtZeroAndAreSeeded()
    {
        torch::manual_seed(4);
        const auto model = scaledLinearModel(torch::randn({3, 20}), 1.0);
        const auto x = torch::randn({1, 1, 4, 5});
        const cv::Mat map = randomMap(4, 5, 9);
        const auto predicted = model->predict(x).argmax(1).item<int64_t>();
        const auto p = maskedPredictions(*model, x, map, {0.0, 0.3, 0.6, 1.0}, 5, 3);
        QCOMPARE(int(p.size()), 4);
        QCOMPARE(int64_t(p[0]), predicted);
        QCOMPARE(maskedPredictions(*model, x, map, {0.0, 0.3, 0.6, 1.0}, 5, 2), p);
        QVERIFY(bitwiseEqual(randomMap(4, 5, 9), map));
        QVERIFY(!bitwiseEqual(randomMap(4, 5, 10), map));
        QVERIFY(contains(errorOf([&] { maskedPredictions(*model, x, map, {1.5}, 0); }), "1.5"));
    }
};

QTEST_APPLESS_MAIN(SanityAndRemovalTest)
#include "test_sanity_and_removal.moc"
