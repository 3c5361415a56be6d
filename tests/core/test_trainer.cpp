#include "core/data/Dataset.h"
#include "core/explain/MethodSupport.h"
#include "core/io/Npy.h"
#include "core/model/Model.h"
#include "core/model/Trainer.h"
#include "tests/support/TestSupport.h"

#include <QElapsedTimer>
#include <QTest>

#include <torch/script.h>

#include <filesystem>
#include <map>

using namespace heatlens;
namespace fs = std::filesystem;

namespace {

TrainConfig tinyConfig(uint64_t seed)
{
    TrainConfig config;
    config.cnn.widths = {4, 8};
    config.cnn.pool = {true, true};
    config.cnn.hidden = 16;
    config.epochs = 2;
    config.batch = 32;
    config.lr = 1e-2;
    config.seed = seed;
    config.threads = 1;
    config.limit = 600;
    config.testLimit = 300;
    config.name = "tiny";
    return config;
}

torch::Tensor convWeight(const torch::jit::Module &module)
{
    for (const auto &p : module.named_parameters())
        if (p.name == "features.block1.conv.weight")
            return p.value;
    throw std::runtime_error("no features.block1.conv.weight");
}

} // namespace

class TrainerTest : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<Dataset> m_dataset;
    torch::jit::Module m_trained;
    TrainReport m_report;
    double m_seconds = 0.0;
    std::vector<double> m_fractions;

    mutable std::map<uint64_t, TrainingData> m_data;

    const TrainingData &data(const TrainConfig &config) const
    {
        auto &d = m_data[config.seed];
        if (!d.trainX.defined())
            d = loadTrainingData(*m_dataset, config);
        return d;
    }

    // A few held-out images, preprocessed as the saved card prescribes.
    torch::Tensor sampleBatch(const ModelCard &card) const
    {
        std::vector<torch::Tensor> images;
        for (size_t i = m_dataset->size() - 4; i < m_dataset->size(); ++i)
            images.push_back(preprocessImage(m_dataset->load(i).image, card, nullptr));
        return torch::cat(images);
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (!fs::exists(test::fashionMnistDir()))
            QSKIP("Fashion-MNIST is not installed in /usr/share/datasets/fashion-mnist");
        m_dataset = openDataset(test::fashionMnistDir());
        QElapsedTimer timer;
        timer.start();
        JobContext ctx([&](const ProgressUpdate &u) { m_fractions.push_back(u.fraction); });
        m_trained = trainModel(data(tinyConfig(1)), tinyConfig(1), ctx, m_report);
        m_seconds = timer.elapsed() / 1000.0;
    }

    void tinyRunBeatsChanceInSeconds()
    {
        qInfo("test accuracy %.3f after %.2f s (trainer says %.2f s)", m_report.testAccuracy,
              m_seconds, m_report.trainSeconds);
        QVERIFY2(m_report.testAccuracy > 0.4, std::to_string(m_report.testAccuracy).c_str());
        QCOMPARE(m_report.trainImages, size_t(600));
        QCOMPARE(m_report.testImages, size_t(300));
        QVERIFY2(m_seconds < 30.0, std::to_string(m_seconds).c_str());
        QVERIFY(!m_trained.is_training());
        for (const auto &p : m_trained.parameters())
            QVERIFY(!p.requires_grad());
        // Progress rises to 1: ceil(600 / 32) = 19 batches per epoch, two epochs.
        QCOMPARE(m_fractions.size(), size_t(38));
        QVERIFY(std::is_sorted(m_fractions.begin(), m_fractions.end()));
        QCOMPARE(m_fractions.back(), 1.0);
    }

    void sameSeedGivesBitwiseIdenticalParameters()
    {
        TrainReport again;
        auto second = trainModel(data(tinyConfig(1)), tinyConfig(1), JobContext{}, again);
        const auto a = m_trained.named_parameters();
        const auto b = second.named_parameters();
        QCOMPARE(a.size(), b.size());
        auto ia = a.begin();
        for (auto ib = b.begin(); ib != b.end(); ++ia, ++ib) {
            QCOMPARE((*ia).name, (*ib).name);
            QVERIFY2(torch::equal((*ia).value, (*ib).value), (*ia).name.c_str());
        }
        const auto bufferA = m_trained.named_buffers();
        const auto bufferB = second.named_buffers();
        QCOMPARE(bufferA.size(), bufferB.size());
        auto ja = bufferA.begin();
        for (auto jb = bufferB.begin(); jb != bufferB.end(); ++ja, ++jb)
            QVERIFY2(torch::equal((*ja).value, (*jb).value), (*ja).name.c_str());
        QCOMPARE(again.testAccuracy, m_report.testAccuracy);

        TrainReport other;
        auto different = trainModel(data(tinyConfig(2)), tinyConfig(2), JobContext{}, other);
        QVERIFY(!torch::equal(convWeight(different), convWeight(m_trained)));
    }

    void saveModelWritesModelAndCardAtomically()
    {
        const std::string dir = test::makeTempDir("trainer-save") + "/models/new";
        const TrainConfig config = tinyConfig(1);
        const ModelCard card = trainedModelCard(data(config), config);
        TrainReport report = m_report;
        saveModel(m_trained, card, dir, "tiny", report);
        QCOMPARE(report.modelPath, dir + "/tiny.pt");
        QCOMPARE(report.cardPath, dir + "/tiny.json");
        QCOMPARE(test::entries(dir), (std::vector<std::string>{"tiny.json", "tiny.pt"}));
        // Saving again over the first files replaces them, still without leftovers.
        saveModel(m_trained, card, dir, "tiny", report);
        QCOMPARE(test::entries(dir), (std::vector<std::string>{"tiny.json", "tiny.pt"}));

        auto model = Model::load(report.modelPath);
        QCOMPARE(model->numClasses(), 10);
        QCOMPARE(model->card().labels, card.labels);
        QCOMPARE(model->card().camLayer, std::string("features.block2"));
        QCOMPARE(model->defaultCamLayer(), std::string("features.block2"));
        QCOMPARE(model->card().mean.size(), size_t(1));
        QCOMPARE(model->card().inputHeight, 28);
        QVERIFY(model->warnings().empty());
        const auto input = sampleBatch(model->card());
        torch::NoGradGuard noGrad;
        const auto expected = m_trained.forward({input}).toTensor();
        QVERIFY(torch::allclose(model->predict(input), expected, 1e-6, 1e-6));
    }

    void savedModelLoadsInPythonTorchWithTheSameLogits()
    {
        if (!test::pythonCanImport("torch"))
            QSKIP("Debian's python3-torch is not installed");
        const std::string dir = test::makeTempDir("trainer-python");
        TrainReport report;
        const ModelCard card = trainedModelCard(data(tinyConfig(1)), tinyConfig(1));
        saveModel(m_trained, card, dir, "tiny", report);
        const auto input = sampleBatch(card);
        torch::NoGradGuard noGrad;
        const auto logits = m_trained.forward({input}).toTensor();
        writeNpy(dir + "/input.npy", tensorToMap(input.reshape({4 * 28, -1})));
        writeNpy(dir + "/logits.npy", tensorToMap(logits.reshape({4, -1})));
        const std::string script = R"(
import sys, numpy, torch
m = torch.jit.load(sys.argv[1])
m.eval()
x = torch.from_numpy(numpy.load(sys.argv[2])).reshape(4, 1, 28, 28)
expected = torch.from_numpy(numpy.load(sys.argv[3]))
with torch.no_grad():
    y = m(x)
assert y.shape == (4, 10), y.shape
print("max difference", float((y - expected).abs().max()))
sys.exit(0 if torch.allclose(y, expected, atol=1e-5, rtol=1e-5) else 1)
)";
        QString output;
        const int code = test::runPython(script,
                                         {QString::fromStdString(report.modelPath),
                                          QString::fromStdString(dir + "/input.npy"),
                                          QString::fromStdString(dir + "/logits.npy")},
                                         &output);
        QVERIFY2(code == 0, qPrintable(output));
    }

    void cancelledTokenMakesTrainingThrow()
    {
        CancelToken before;
        before.cancel();
        TrainReport report;
        bool cancelled = false;
        try {
            trainModel(data(tinyConfig(1)), tinyConfig(1), JobContext({}, before), report);
        } catch (const Cancelled &) {
            cancelled = true;
        }
        QVERIFY(cancelled);

        // Cancelled from the first progress report: stops at the next batch.
        CancelToken during;
        int reports = 0;
        JobContext ctx(
            [&](const ProgressUpdate &) {
                ++reports;
                during.cancel();
            },
            during);
        cancelled = false;
        try {
            trainModel(data(tinyConfig(1)), tinyConfig(1), ctx, report);
        } catch (const Cancelled &) {
            cancelled = true;
        }
        QVERIFY(cancelled);
        QCOMPARE(reports, 1);
        QVERIFY(report.modelPath.empty());
    }
};

QTEST_GUILESS_MAIN(TrainerTest)
#include "test_trainer.moc"
