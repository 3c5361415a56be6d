// Known answers of explanation uncertainty (core/uncertainty): a linear model with dropout on
// its input, whose Saliency samples are |w| d / (1 - p) with d ~ Bernoulli(1 - p), so that the
// mean map is |w| and the CV sqrt(p / (1 - p)) at every pixel; ensembles of identical members;
// rate-0 dropout and DropConnect; flip-symmetric models under TTA; the std estimate's error
// against 1 / sqrt(2 (T - 1)); batched rows equal to looped samples; frozen samples; and every
// source leaving the model it was given untouched.
#include "core/explain/MethodRegistry.h"
#include "core/metrics/Similarity.h"
#include "core/model/DemoCnn.h"
#include "core/model/Model.h"
#include "core/uncertainty/DropoutCopy.h"
#include "core/uncertainty/MapMoments.h"
#include "core/uncertainty/StochasticSource.h"
#include "core/uncertainty/Uncertainty.h"
#include "core/uncertainty/UncertaintyCurves.h"
#include "core/uncertainty/UncertaintySanity.h"
#include "tests/support/KnownModels.h"
#include "tests/support/TestSupport.h"

#include <QTest>

#include <opencv2/core.hpp>

#include <torch/script.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <filesystem>

using namespace heatlens;
using namespace heatlens::test;

namespace {

constexpr int kSide = 6; // 1 x 6 x 6 inputs: 36 independent pixels

// logits = W · dropout(flatten(x), p) + b. `constantFlag`: the dropout's train flag is the
// constant False that a traced model carries (train() cannot turn it on); otherwise
// self.training, as in scripted models.
ModelPtr dropoutLinear(double p, bool constantFlag, uint64_t seed = 3)
{
    torch::manual_seed(int64_t(seed));
    auto m = scriptModule(nullptr, "DropoutLinear");
    m.register_parameter("weight", torch::randn({3, kSide * kSide}), false);
    m.register_parameter("bias", torch::zeros({3}), false);
    m.register_attribute("p", c10::FloatType::get(), p);
    const std::string flag = constantFlag ? "False" : "self.training";
    m.define("def forward(self, x):\n"
             "    h = torch.dropout(torch.flatten(x, 1), self.p, " +
             flag +
             ")\n"
             "    return torch.linear(h, self.weight, self.bias)\n");
    return withCard(m, 1, kSide, kSide, {}, {}, constantFlag ? "traced-like" : "scripted");
}

torch::Tensor absWeight(const Model &model, int target)
{
    return model.module().attr("weight").toTensor()[target].abs().view({kSide, kSide});
}

torch::Tensor input6()
{
    torch::manual_seed(5);
    return torch::randn({1, 1, kSide, kSide});
}

UncertaintyRequest request(const ModelPtr &model, const std::string &method,
                           const std::string &source, int samples)
{
    UncertaintyRequest r;
    r.model = model;
    r.input = model->card().inputHeight == kSide ? input6() : torch::zeros({1, 1, 28, 28});
    r.methodId = method;
    r.sourceId = source;
    r.target = 0;
    r.options.maxSamples = samples;
    r.options.targetError = 0.0; // run every sample
    return r;
}

// Everything of a module that a source could change: parameters, buffers, the forward graph's
// text and every training flag.
struct ModuleState
{
    std::vector<torch::Tensor> tensors;
    std::string graph;
    std::vector<bool> training;

    explicit ModuleState(const torch::jit::Module &m)
    {
        for (const auto &p : m.parameters())
            tensors.push_back(p.clone());
        for (const auto &b : m.buffers())
            tensors.push_back(b.clone());
        graph = m.get_method("forward").graph()->toString();
        for (const auto &sub : m.modules())
            training.push_back(sub.is_training());
    }
    bool operator==(const ModuleState &o) const
    {
        if (graph != o.graph || training != o.training || tensors.size() != o.tensors.size())
            return false;
        for (size_t i = 0; i < tensors.size(); ++i)
            if (!torch::equal(tensors[i], o.tensors[i]))
                return false;
        return true;
    }
};

double maxAbs(const cv::Mat &m)
{
    double lo = 0, hi = 0;
    cv::minMaxLoc(m, &lo, &hi);
    return std::max(std::abs(lo), std::abs(hi));
}

double maxAbsDiff(const cv::Mat &a, const cv::Mat &b)
{
    return maxAbs(a - b);
}

} // namespace

class UncertaintyKnownAnswersTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void linearDropoutSaliencyHasMeanAbsWeightAndCvSqrtPOverOneMinusP_data()
    {
        QTest::addColumn<bool>("constantFlag");
        QTest::newRow("scripted (self.training)") << false;
        QTest::newRow("traced (constant train=False)") << true;
    }

    void linearDropoutSaliencyHasMeanAbsWeightAndCvSqrtPOverOneMinusP()
    {
        QFETCH(bool, constantFlag);
        const double p = 0.3;
        const int T = 200;
        auto model = dropoutLinear(p, constantFlag);
        auto r = request(model, "saliency", "mc-dropout", T);
        const auto result = explainUncertainty(r, {});
        QCOMPARE(result.samples, T);
        QVERIFY(result.complete);
        QVERIFY(result.batched);
        const auto w = absWeight(*model, 0);
        const double cvTrue = std::sqrt(p / (1.0 - p));
        // Per pixel the samples are |w| times (1 / (1 - p) with probability 1 - p, else 0):
        // standard error of the mean |w| cv / sqrt(T); of the sample CV (delta method on the
        // Bernoulli fraction) sqrt(p (1 - p) / T) / (2 (1 - p)^2 cv).
        const double seCv = std::sqrt(p * (1 - p) / T) / (2 * (1 - p) * (1 - p) * cvTrue);
        int meanInside = 0, cvInside = 0;
        for (int y = 0; y < kSide; ++y)
            for (int x = 0; x < kSide; ++x) {
                const double wi = w[y][x].item<double>();
                const double se = wi * cvTrue / std::sqrt(double(T));
                meanInside += std::abs(result.mean.at<float>(y, x) - wi) <= 3 * se;
                cvInside += std::abs(result.cv.at<float>(y, x) - cvTrue) <= 3 * seCv;
            }
        // 36 independent pixels, each inside 3 standard errors with probability 0.997.
        QVERIFY2(meanInside >= kSide * kSide - 1, qPrintable(QString::number(meanInside)));
        QVERIFY2(cvInside >= kSide * kSide - 1, qPrintable(QString::number(cvInside)));
        QVERIFY(std::abs(result.meanCv - cvTrue) < 3 * seCv / std::sqrt(kSide * kSide) + 0.01);
        QCOMPARE(result.undefinedCvFraction, 0.0);
        // The deterministic model predicts; no sample changes the model's input frame.
        QCOMPARE(result.prediction.sampleClasses.size(), size_t(T));
        QCOMPARE(cv::countNonZero(result.count != float(T)), 0);
    }

    void tracedPyTorchDropoutModelSamplesItsMasks()
    {
        const std::string path = fixture("dropout_linear_traced.pt");
        if (!std::filesystem::exists(path))
            QSKIP("python3-torch fixtures not made");
        auto model = Model::load(path);
        QCOMPARE(DropoutCopy::countDropouts(*model), 1);
        auto r = request(model, "saliency", "mc-dropout", 64);
        r.input = torch::rand({1, 1, 28, 28});
        const auto result = explainUncertainty(r, {});
        // p = 0.5 in the file: CV sqrt(0.5 / 0.5) = 1 where the weight is not 0.
        QVERIFY2(std::abs(result.meanCv - 1.0) < 0.1, qPrintable(QString::number(result.meanCv)));
        QVERIFY(result.sourceDescription.find("p=0.5") != std::string::npos);
    }

    void batchedRowsEqualLoopedSamples_data()
    {
        QTest::addColumn<QString>("method");
        QTest::addColumn<QString>("source");
        QTest::newRow("saliency, mc-dropout") << "saliency"
                                              << "mc-dropout";
        QTest::newRow("grad-cam, mc-dropout") << "grad-cam"
                                              << "mc-dropout";
        QTest::newRow("guided-backprop, noise") << "guided-backprop"
                                                << "noise";
        QTest::newRow("saliency, tta") << "saliency"
                                       << "tta";
    }

    void batchedRowsEqualLoopedSamples()
    {
        QFETCH(QString, method);
        QFETCH(QString, source);
        torch::manual_seed(7);
        CnnConfig config; // untrained demo CNN: conv blocks with batch norm, two dropouts
        auto model = Model::fromModule(
            buildDemoCnn(config),
            [] {
                ModelCard card;
                card.inputChannels = 1;
                card.inputHeight = card.inputWidth = 28;
                return card;
            }(),
            "demo cnn shape");
        auto r = request(model, method.toStdString(), source.toStdString(), 8);
        r.input = torch::randn({1, 1, 28, 28});
        r.options.batchRows = 8;
        const auto batched = explainUncertainty(r, {});
        r.options.batchRows = 1;
        const auto looped = explainUncertainty(r, {});
        QVERIFY(batched.batched);
        QVERIFY(!looped.batched);
        QCOMPARE(batched.sampleMaps.size(), size_t(8));
        for (size_t t = 0; t < 8; ++t) {
            const double scale = std::max(1e-12, maxAbs(looped.sampleMaps[t]));
            QVERIFY2(maxAbsDiff(batched.sampleMaps[t], looped.sampleMaps[t]) <= 1e-4 * scale,
                     qPrintable(QString("sample %1 differs by %2 of %3")
                                    .arg(t)
                                    .arg(maxAbsDiff(batched.sampleMaps[t], looped.sampleMaps[t]))
                                    .arg(scale)));
        }
        // The samples differ from each other: the rows did not all get one mask.
        QVERIFY(maxAbsDiff(batched.sampleMaps[0], batched.sampleMaps[1]) > 0.0);
        QCOMPARE(batched.prediction.sampleClasses, looped.prediction.sampleClasses);
    }

    void oneSampleIsOneModelInEveryPass()
    {
        torch::manual_seed(7);
        auto model = Model::fromModule(
            buildDemoCnn(CnnConfig{}),
            [] {
                ModelCard card;
                card.inputChannels = 1;
                card.inputHeight = card.inputWidth = 28;
                return card;
            }(),
            "demo cnn shape");
        const auto input = torch::randn({1, 1, 28, 28});
        for (const char *id : {"mc-dropout", "dropconnect", "flipout"}) {
            if (std::string(id) == "flipout") {
                CnnConfig bayes;
                bayes.flipout = true;
                model = Model::fromModule(buildDemoCnn(bayes), model->card(), "flipout cnn");
            }
            const auto &source = SourceRegistry::instance().get(id);
            auto run = source.prepare({model, input, completeParams(source.params(), {}, id), {}});
            auto first = run->sample(3);
            const auto a = first.model->predict(input.expand({4, -1, -1, -1}).contiguous());
            // Every row of a batch and every pass sees sample 3's masks or weights ...
            for (int row = 1; row < 4; ++row)
                QVERIFY2(torch::equal(a[0], a[row]), id);
            QVERIFY2(torch::equal(a, first.model->predict(input.expand({4, -1, -1, -1}))), id);
            // ... an Integrated Gradients explanation is the same twice ...
            const auto ig1 =
                explainWith("integrated-gradients", first.model, input, 1, {{"steps", "16"}});
            const auto ig2 =
                explainWith("integrated-gradients", first.model, input, 1, {{"steps", "16"}});
            QVERIFY2(cv::norm(ig1.map, ig2.map, cv::NORM_INF) == 0.0, id);
            // ... another sample is another model, and sample 3 comes back as it was.
            auto other = run->sample(4);
            QVERIFY2(!torch::equal(a[0], other.model->predict(input)[0]), id);
            auto again = run->sample(3);
            QVERIFY2(torch::equal(a, again.model->predict(input.expand({4, -1, -1, -1}))), id);
        }
    }

    void rateZeroDropoutAndDropConnectGiveTheDeterministicMap()
    {
        auto model = dropoutLinear(0.0, false);
        auto r = request(model, "integrated-gradients", "mc-dropout", 6);
        const auto dropout = explainUncertainty(r, {});
        QCOMPARE(maxAbs(dropout.stdDev), 0.0);
        QVERIFY(!dropout.warnings.empty()); // every dropout layer has rate 0
        const auto plain = explainWith("integrated-gradients", model, r.input, 0);
        QVERIFY(maxAbsDiff(dropout.mean, plain.map) <= 1e-6 * maxAbs(plain.map));

        r.sourceId = "dropconnect";
        r.sourceParams.set("rate", 0.0);
        const auto dropconnect = explainUncertainty(r, {});
        QCOMPARE(maxAbs(dropconnect.stdDev), 0.0);
        for (const auto &map : dropconnect.sampleMaps)
            QVERIFY(maxAbsDiff(map, plain.map) == 0.0);
    }

    void ensembleOfIdenticalMembersHasNoSpreadAndMeanIsTheMembersMean()
    {
        auto a = dropoutLinear(0.0, false, 11);
        auto b = dropoutLinear(0.0, false, 12);
        auto r = request(a, "input-x-gradient", "ensemble", 100);
        r.members = {a, a, a};
        const auto same = explainUncertainty(r, {});
        QCOMPARE(same.samples, 3); // every member once, whatever maxSamples says
        QCOMPARE(maxAbs(same.stdDev), 0.0);
        QVERIFY(same.stopReason.find("all 3") != std::string::npos);

        r.members = {a, b};
        const auto pair = explainUncertainty(r, {});
        const auto ma = explainWith("input-x-gradient", a, r.input, 0).map;
        const auto mb = explainWith("input-x-gradient", b, r.input, 0).map;
        QVERIFY(maxAbsDiff(pair.mean, (ma + mb) / 2) <= 1e-6 * maxAbs(ma + mb));
        // Two values per pixel: std |a - b| / sqrt(2) (unbiased).
        cv::Mat expectedStd = cv::abs(ma - mb) / std::sqrt(2.0);
        QVERIFY(maxAbsDiff(pair.stdDev, expectedStd) <= 1e-5 * maxAbs(expectedStd));
        // The prediction spread is the members' mean probability.
        const auto pa = torch::softmax(a->predict(r.input), 1)[0];
        const auto pb = torch::softmax(b->predict(r.input), 1)[0];
        for (int k = 0; k < 3; ++k)
            QVERIFY(std::abs(pair.prediction.meanProbabilities[size_t(k)] -
                             0.5 * (pa[k].item<double>() + pb[k].item<double>())) < 1e-6);
        QVERIFY(pair.prediction.mutualInformation >= 0.0);
    }

    void stdErrorShrinksLikeOneOverSqrtTwoTMinusOne()
    {
        // Gaussian maps of known spread sigma(p): the std map's relative L2 error and the
        // estimate of it follow 1 / sqrt(2 (T - 1)).
        auto gen = at::detail::createCPUGenerator(17);
        const auto sigma = torch::rand({16, 16}, gen) + 0.5;
        for (int T : {10, 40, 160}) {
            double error = 0.0, estimate = 0.0;
            const int repeats = 20;
            for (int rep = 0; rep < repeats; ++rep) {
                std::vector<cv::Mat> maps;
                for (int t = 0; t < T; ++t)
                    maps.push_back(mapOf(torch::randn({16, 16}, gen) * sigma + 3.0));
                const auto s = summariseMaps(maps, {}, {});
                error += cv::norm(s.stdDev - mapOf(sigma)) / cv::norm(mapOf(sigma));
                estimate += s.relativeStdError;
            }
            error /= repeats;
            estimate /= repeats;
            const double theory = 1.0 / std::sqrt(2.0 * (T - 1));
            QVERIFY2(std::abs(error / theory - 1.0) < 0.2,
                     qPrintable(QString("T=%1 error %2 theory %3").arg(T).arg(error).arg(theory)));
            QVERIFY2(
                std::abs(estimate / theory - 1.0) < 0.15,
                qPrintable(QString("T=%1 estimate %2 theory %3").arg(T).arg(estimate).arg(theory)));
        }
    }

    void momentsMatchTwoPassStatistics()
    {
        auto gen = at::detail::createCPUGenerator(4);
        std::vector<cv::Mat> maps;
        MapMoments moments;
        for (int t = 0; t < 9; ++t) {
            maps.push_back(
                mapOf(torch::randn({3, 5}, gen) * 1e3 + 1e4)); // large mean, small spread
            moments.add(maps.back());
        }
        cv::Mat mean = cv::Mat::zeros(3, 5, CV_64F), m2 = cv::Mat::zeros(3, 5, CV_64F);
        for (const auto &m : maps) {
            cv::Mat d;
            m.convertTo(d, CV_64F);
            mean += d / 9.0;
        }
        for (const auto &m : maps) {
            cv::Mat d;
            m.convertTo(d, CV_64F);
            m2 += (d - mean).mul(d - mean);
        }
        cv::Mat var;
        cv::Mat(m2 / 8.0).convertTo(var, CV_32F);
        QVERIFY(cv::norm(moments.variance() - var, cv::NORM_INF) <=
                1e-3 * cv::norm(var, cv::NORM_INF));
        cv::Mat meanF;
        mean.convertTo(meanF, CV_32F);
        QVERIFY(cv::norm(moments.mean() - meanF, cv::NORM_INF) <= 1e-6 * 1e4);
        // Sign agreement: all positive here.
        QCOMPARE(cv::countNonZero(moments.signAgreement() != 1.0f), 0);
    }

    void flipSymmetricModelGivesOneMapUnderFlips()
    {
        // Weights mirrored left-right: the de-flipped Saliency map equals the plain one.
        torch::manual_seed(9);
        auto half = torch::randn({3, kSide, kSide / 2});
        auto w = torch::cat({half, half.flip({2})}, 2).reshape({3, kSide * kSide});
        auto model = withCard(linearModule(w, torch::zeros({3})), 1, kSide, kSide);
        auto r = request(model, "saliency", "tta", 100);
        r.sourceParams.set("shift", 0);
        r.sourceParams.set("brightness", 0.0);
        const auto result = explainUncertainty(r, {});
        QCOMPARE(result.samples, 2); // identity and flip
        QCOMPARE(maxAbs(result.stdDev), 0.0);
        QVERIFY(maxAbsDiff(result.sampleMaps[0], result.sampleMaps[1]) == 0.0);
    }

    void shiftedSamplesCountOnlyThePixelsTheyCover()
    {
        LinearCase c;
        UncertaintyRequest r;
        r.model = c.model;
        r.input = c.input;
        r.methodId = "saliency";
        r.sourceId = "tta";
        r.target = 1;
        r.sourceParams.set("flip", false);
        r.sourceParams.set("shift", 1);
        r.sourceParams.set("brightness", 0.0);
        r.options.maxSamples = 100;
        r.options.targetError = 0.0;
        const auto result = explainUncertainty(r, {});
        QCOMPARE(result.samples, 5); // identity and four shifts
        // An inner pixel is seen by all five; a corner by three (identity and two shifts).
        QCOMPARE(result.count.at<float>(1, 1), 5.0f);
        QCOMPARE(result.count.at<float>(0, 0), 3.0f);
        // The first transform is the identity: its map is the plain explanation.
        const auto plain = explainWith("saliency", c.model, c.input, 1).map;
        QCOMPARE(maxAbsDiff(result.sampleMaps[0], plain), 0.0);
    }

    void everySourceLeavesTheModelUntouched()
    {
        torch::manual_seed(2);
        CnnConfig bayes;
        bayes.flipout = true;
        ModelCard card;
        card.inputChannels = 1;
        card.inputHeight = card.inputWidth = 28;
        auto model = Model::fromModule(buildDemoCnn(bayes), card, "flipout cnn");
        const ModuleState before(model->module());
        const auto input = torch::randn({1, 1, 28, 28});
        const auto logits = model->predict(input);
        for (const auto &source : SourceRegistry::instance().sources()) {
            if (!source->whyNotApplicable(*model).empty()) {
                QCOMPARE(source->id(), std::string("ensemble"));
                continue;
            }
            UncertaintyRequest r;
            r.model = model;
            r.input = input;
            r.methodId = "grad-cam";
            r.sourceId = source->id();
            r.options.maxSamples = 3;
            const auto result = explainUncertainty(r, {});
            QVERIFY2(ModuleState(model->module()) == before, source->id().c_str());
            QVERIFY2(torch::equal(model->predict(input), logits), source->id().c_str());
            QVERIFY2(result.samples == 3, source->id().c_str());
        }
    }

    void unusableSourcesAndOptionsSayWhy()
    {
        LinearCase c; // no dropout, no Flipout layers, not an ensemble
        auto expectError = [&](const std::string &source, const std::string &words,
                               UncertaintyOptions options = {}) {
            UncertaintyRequest r;
            r.model = c.model;
            r.input = c.input;
            r.methodId = "saliency";
            r.sourceId = source;
            r.options = options;
            try {
                explainUncertainty(r, {});
            } catch (const std::invalid_argument &e) {
                return std::string(e.what()).find(words) != std::string::npos;
            }
            return false;
        };
        QVERIFY(expectError("mc-dropout", "no dropout layer"));
        QVERIFY(expectError("mc-dropout", "dropconnect"));
        QVERIFY(expectError("flipout", "no Flipout layers"));
        QVERIFY(expectError("ensemble", "not an ensemble"));
        QVERIFY(expectError("bayes", "unknown uncertainty source"));
        UncertaintyOptions bad;
        bad.maxSamples = 1;
        QVERIFY(expectError("noise", "samples must be in [2, 10000]", bad));
        bad = {};
        bad.normalise = "zscore";
        QVERIFY(expectError("noise", "normalise must be raw or max", bad));
    }

    void automaticStopReachesTheTargetError()
    {
        auto model = dropoutLinear(0.3, false);
        auto r = request(model, "saliency", "mc-dropout", 2000);
        r.options.targetError = 0.2;
        r.options.batchRows = 4;
        const auto result = explainUncertainty(r, {});
        QVERIFY2(result.stopReason.find("converged") != std::string::npos,
                 result.stopReason.c_str());
        QVERIFY(result.samples < 2000);
        QVERIFY(result.relativeStdError <= 0.2);
        // Bernoulli samples are not normal; the estimate still lands near the theory's T.
        QVERIFY2(result.samples >= 8 && result.samples <= 80,
                 qPrintable(QString::number(result.samples)));
    }

    void pairwiseStabilityEqualsThePairByPairMeasures()
    {
        auto gen = at::detail::createCPUGenerator(8);
        std::vector<cv::Mat> maps;
        for (int t = 0; t < 6; ++t) // rounded: ties, as in maps with exact zeros
            maps.push_back(mapOf((torch::randn({5, 7}, gen) * 3).round()));
        maps.push_back(cv::Mat::zeros(5, 7, CV_32F)); // constant: left out
        double rho = 0.0, iou = 0.0;
        int pairs = 0;
        for (size_t i = 0; i < 6; ++i)
            for (size_t j = i + 1; j < 6; ++j, ++pairs) {
                rho += spearman(maps[i], maps[j]);
                iou += topKIntersectionOverUnion(cv::abs(maps[i]), cv::abs(maps[j]), 0.2);
            }
        const auto s = pairwiseStability(maps, 0.2);
        QCOMPARE(s.pairs, pairs);
        QVERIFY(std::abs(s.spearman - rho / pairs) < 1e-12);
        QVERIFY(std::abs(s.topIoU - iou / pairs) < 1e-12);
    }

    void percentilesAndStabilityOfKnownMaps()
    {
        // Maps k * ones + (pixel ramp) for k = 0..4: percentiles per pixel are those of 0..4
        // shifted by the ramp; every pair ranks the pixels identically.
        std::vector<cv::Mat> maps;
        const cv::Mat ramp = mapOf(torch::arange(12, torch::kFloat32).view({3, 4}));
        for (int k = 0; k < 5; ++k)
            maps.push_back(ramp + float(k));
        UncertaintyOptions o;
        o.percentiles = true;
        const auto s = summariseMaps(maps, {}, o);
        QCOMPARE(s.percentiles.size(), size_t(5));
        QVERIFY(maxAbsDiff(s.percentiles.at(50), ramp + 2.0f) < 1e-6);
        QVERIFY(maxAbsDiff(s.percentiles.at(25), ramp + 1.0f) < 1e-6);
        QVERIFY(maxAbsDiff(s.percentiles.at(5), ramp + 0.2f) < 1e-6); // 0.05 x 4 = 0.2
        QCOMPARE(s.rankStability, 1.0);
        QCOMPARE(s.topIoU, 1.0);
        QVERIFY(std::abs(s.meanCv - [&] {
                    double sum = 0;
                    for (int i = 0; i < 12; ++i)
                        sum += std::sqrt(2.5) / (i + 2.0);
                    return sum / 12;
                }()) < 1e-5);
    }

    void privateCopiesAreReusedNotClonedPerRequest()
    {
        // Every clone adds types and methods to the model's compilation unit for as long as the
        // model lives: a dataset run must not clone per image.
        torch::manual_seed(7);
        CnnConfig bayes;
        bayes.flipout = true;
        ModelCard card;
        card.inputChannels = 1;
        card.inputHeight = card.inputWidth = 28;
        auto model = Model::fromModule(buildDemoCnn(bayes), card, "flipout cnn");
        auto functions = [&] {
            return model->module()._ivalue()->compilation_unit()->get_functions().size();
        };
        UncertaintyRequest r;
        r.model = model;
        r.input = torch::randn({1, 1, 28, 28});
        r.methodId = "saliency";
        r.options.maxSamples = 3;
        for (const char *source : {"mc-dropout", "dropconnect", "flipout"}) {
            r.sourceId = source;
            const size_t before = functions();
            explainUncertainty(r, {});
            const size_t after = functions();
            QVERIFY2(after > before, source); // the measure sees a clone
            for (int again = 0; again < 3; ++again)
                explainUncertainty(r, {});
            QCOMPARE(functions(), after);
        }
        // Randomised copies (sanity checks, plain and of the uncertainty) are pooled too.
        r.sourceId = "mc-dropout";
        uncertaintySanity(r, SanityOptions{}, {});
        sanityCheck(model, r.input, 0, "saliency", {}, SanityOptions{}, {});
        const size_t settled = functions();
        uncertaintySanity(r, SanityOptions{}, {});
        sanityCheck(model, r.input, 0, "saliency", {}, SanityOptions{}, {});
        QCOMPARE(functions(), settled);
    }

    void bandsSummariseCurvesPointByPoint()
    {
        // 21 curves y = k / 20 at every point: mean 0.5, 5th percentile 0.05, 95th 0.95.
        std::vector<std::vector<double>> curves;
        for (int k = 0; k <= 20; ++k)
            curves.push_back(std::vector<double>(3, k / 20.0));
        const auto band = bandOf({0.0, 0.5, 1.0}, curves);
        for (size_t p = 0; p < 3; ++p) {
            QVERIFY(std::abs(band.mean[p] - 0.5) < 1e-12);
            QVERIFY(std::abs(band.low[p] - 0.05) < 1e-12);
            QVERIFY(std::abs(band.high[p] - 0.95) < 1e-12);
        }
        QCOMPARE(band.aucs.size(), size_t(21));
        QVERIFY(std::abs(band.aucMean - 0.5) < 1e-12);
    }

    void identicalModelSamplesGiveBandsOfZeroWidth()
    {
        auto a = dropoutLinear(0.0, false, 11);
        auto r = request(a, "saliency", "ensemble", 100);
        r.members = {a, a, a};
        const auto result = explainUncertainty(r, {});
        UncertaintyCurveOptions o;
        o.curve.steps = 12;
        const auto curves = uncertaintyCurves(r, result, o, {});
        QCOMPARE(curves.modelSamples, 3);
        CurveOptions deletion = o.curve;
        deletion.mode = "deletion";
        const auto plain = perturbationCurve(*a, r.input, result.target, result.mean, deletion, {});
        for (const CurveBand *band : {&curves.samples, &curves.rankedMap})
            for (size_t p = 0; p < plain.probabilities.size(); ++p) {
                QVERIFY(std::abs(band->low[p] - band->high[p]) < 1e-9);
                QVERIFY(std::abs(band->mean[p] - plain.probabilities[p]) < 1e-6);
            }
        QVERIFY(std::abs(curves.deterministic.aucProbability - plain.aucProbability) < 1e-9);
        QVERIFY(std::abs(curves.deltaLow - curves.deltaHigh) < 1e-9);
        QVERIFY(std::abs(curves.delta - curves.deltaLow) < 1e-9);
        // The halves of the top pixels are disjoint and ordered by certainty.
        QVERIFY(curves.confidentMeanAbs > 0.0 && curves.uncertainMeanAbs > 0.0);
        // Ranking by the 5th percentile needs the percentiles.
        o.ranking = "p5";
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, uncertaintyCurves(r, result, o, {}));
    }

    void sanityOfTheUncertaintyFollowsTheWeights()
    {
        // Saliency of a linear model under input dropout: mean |w|, std |w| sqrt(p / (1 - p)).
        // Redrawing the weights changes both, so both react to the weights.
        auto model = dropoutLinear(0.3, false);
        auto r = request(model, "saliency", "mc-dropout", 40);
        const auto sanity = uncertaintySanity(r, SanityOptions{}, {});
        QCOMPARE(sanity.steps.size(), sanitySteps(*model, SanityOptions{}).size());
        QVERIFY2(sanity.meanPasses && sanity.stdPasses, sanity.verdict.c_str());
        QVERIFY(sanity.verdict.rfind("passes", 0) == 0);
        QVERIFY(std::abs(sanity.steps.back().meanSpearman) < 0.5);
        // A method that ignores the model (the seeded random ranking) under model uncertainty:
        // its maps never change, so there is no spread and nothing reacts.
        r.methodId = "random";
        const auto control = uncertaintySanity(r, SanityOptions{}, {});
        QVERIFY(!control.meanPasses);
        QVERIFY2(control.verdict.find("no spread") != std::string::npos, control.verdict.c_str());
    }
};

QTEST_GUILESS_MAIN(UncertaintyKnownAnswersTest)
#include "test_uncertainty_known_answers.moc"
