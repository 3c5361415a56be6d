// The files that heatlens-cli explain writes for a fixed model and image equal what the viewer's
// File > Export writes for the same request, and both equal the golden files under
// tests/data/golden. The model and the image are made here from closed forms (weights in
// eighths, exact in float), so the goldens hold on any processor.
//
// After an intended change to the rendering, rewrite the goldens and review the diff:
//   HEATLENS_UPDATE_GOLDEN=1 ctest --test-dir build -R golden
#include "core/io/Npy.h"
#include "core/model/Model.h"
#include "core/model/ModelCard.h"
#include "core/report/ExplanationExport.h"
#include "tests/support/KnownModels.h"
#include "tests/support/TestSupport.h"
#include "ui/MainWindow.h"
#include "ui/Session.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <QDir>
#include <QFile>
#include <QJsonObject>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTest>

#include <filesystem>

using namespace heatlens;
using heatlens::ui::MainWindow;
using heatlens::ui::Session;
namespace fs = std::filesystem;

namespace {

constexpr int kTimeout = 60000;

std::string goldenDir()
{
    return HEATLENS_SOURCE_DIR "/tests/data/golden";
}

bool updating()
{
    return qEnvironmentVariableIsSet("HEATLENS_UPDATE_GOLDEN");
}

// The golden file's image equals `actual`: the map's bytes exactly; the overlay's pixels within
// one level (OpenCV's blend may round differently on another processor's SIMD path).
void compareToGolden(const std::string &png, const std::string &npy)
{
    const cv::Mat goldenOverlay = cv::imread(goldenDir() + "/explanation.png", cv::IMREAD_COLOR);
    const cv::Mat overlay = cv::imread(png, cv::IMREAD_COLOR);
    QVERIFY2(!goldenOverlay.empty(), "tests/data/golden/explanation.png missing: see the header");
    QCOMPARE(overlay.size(), goldenOverlay.size());
    QVERIFY2(cv::norm(overlay, goldenOverlay, cv::NORM_INF) <= 1.0,
             ("overlay differs from the golden: " + png).c_str());
    QVERIFY(test::bitwiseEqual(readNpy(npy), readNpy(goldenDir() + "/explanation.npy")));
}

} // namespace

class GoldenExportsTest : public QObject
{
    Q_OBJECT

private:
    std::string m_dir;
    QString m_model, m_images;

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        m_dir = test::makeTempDir("golden");
        fs::create_directories(m_dir + "/images");
        const std::string input = m_dir + "/images/input.png";
        if (updating()) {
            fs::create_directories(goldenDir());
            QVERIFY(cv::imwrite(goldenDir() + "/input.png", test::goldenInput()));
        }
        // The committed input is the one drawn here (the PNG codec is lossless).
        const cv::Mat committed = cv::imread(goldenDir() + "/input.png", cv::IMREAD_UNCHANGED);
        QVERIFY2(test::bitwiseEqual(committed, test::goldenInput()), "tests/data/golden/input.png");
        fs::copy_file(goldenDir() + "/input.png", input);
        test::goldenModule().save(m_dir + "/golden.pt");
        ModelCard card;
        card.name = "golden linear";
        card.inputChannels = 1;
        card.inputHeight = 28;
        card.inputWidth = 28;
        card.mean = {0.5f};
        card.std = {0.25f};
        test::writeBytes(m_dir + "/golden.json", modelCardToJson(card));
        m_model = QString::fromStdString(m_dir + "/golden.pt");
        m_images = QString::fromStdString(m_dir + "/images");
    }

    void cliAndViewerExportTheGoldenOverlayAndMap()
    {
        const QString cliOut = QString::fromStdString(m_dir + "/cli");
        const auto run = test::runProgram(HEATLENS_CLI, {"explain", "--model", m_model, "--image",
                                                         m_images + "/input.png", "--method",
                                                         "saliency", "--out", cliOut});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const std::vector<std::string> files = test::entries(cliOut.toStdString());
        QVERIFY2(files.size() == 3, (std::to_string(files.size()) + " files").c_str());
        std::string cliStem;
        for (const auto &f : files)
            if (f.size() > 4 && f.substr(f.size() - 4) == ".png")
                cliStem = f.substr(0, f.size() - 4);
        QVERIFY(!cliStem.empty());

        MainWindow window;
        window.resize(1000, 700);
        window.show();
        Session *session = window.session();
        session->openModel(m_model);
        session->openDataset(m_images);
        QTRY_VERIFY_WITH_TIMEOUT(session->outcome().has_value(), kTimeout);
        QCOMPARE(session->outcome()->explanation.methodId, std::string("saliency"));
        const QString viewerOut = QString::fromStdString(m_dir + "/viewer");
        QVERIFY(QDir().mkpath(viewerOut));
        QVERIFY(window.exportExplanationTo(viewerOut));

        const std::string c = cliOut.toStdString() + "/" + cliStem;
        const std::string v = viewerOut.toStdString() + "/" + cliStem;
        std::string named;
        for (const auto &f : test::entries(viewerOut.toStdString()))
            named += " " + f;
        QVERIFY2(fs::exists(v + ".png"), ("the viewer names its files otherwise:" + named).c_str());
        // The same request gives the same files, byte for byte (the summaries differ only in
        // their timings).
        QCOMPARE(test::readAll(v + ".png"), test::readAll(c + ".png"));
        QCOMPARE(test::readAll(v + ".npy"), test::readAll(c + ".npy"));
        const QJsonObject cj = test::readJsonObject(QString::fromStdString(c + ".json"));
        const QJsonObject vj = test::readJsonObject(QString::fromStdString(v + ".json"));
        for (const char *key : {"method", "params", "target", "prediction", "model"})
            QVERIFY2(cj.value(key) == vj.value(key) && !cj.value(key).isUndefined(), key);
        QCOMPARE(cj.value("target").toObject().value("class").toInt(-1), 3);

        if (updating()) {
            fs::copy_file(c + ".png", goldenDir() + "/explanation.png",
                          fs::copy_options::overwrite_existing);
            fs::copy_file(c + ".npy", goldenDir() + "/explanation.npy",
                          fs::copy_options::overwrite_existing);
            qInfo("golden files rewritten in %s", goldenDir().c_str());
        }
        compareToGolden(c + ".png", c + ".npy");
        // Saliency of a linear model is |w| of the target class: the golden map is the weights.
        const cv::Mat map = readNpy(c + ".npy");
        QCOMPARE(map.size(), cv::Size(28, 28));
        QCOMPARE(map.at<float>(0, 5), std::abs(float((5 * 37 + 3 * 11) % 23 - 11) / 8.0f));
    }

    void oneImageGetsOneFileNameFromEveryEntryPoint()
    {
        QCOMPARE(safeStem("/photos/chelsea.png"), std::string("chelsea")); // --image F
        QCOMPARE(safeStem("chelsea.png"), std::string("chelsea"));         // a folder's image
        QCOMPARE(safeStem("cat/001.JPG"), std::string("cat-001"));         // in a class folder
        QCOMPARE(safeStem("train/12"), std::string("train-12"));           // an IDX sample
        QCOMPARE(safeStem("notes.v2"), std::string("notes.v2"));           // not an image suffix
        QCOMPARE(safeStem("a b?c"), std::string("a-b-c"));
        QCOMPARE(safeStem(""), std::string("image"));
    }
};

QTEST_MAIN(GoldenExportsTest)
#include "test_golden_exports.moc"
