#include "core/data/Dataset.h"
#include "core/explain/ExplainJob.h"
#include "core/io/Npy.h"
#include "core/model/Model.h"
#include "core/model/Threads.h"
#include "core/model/Zoo.h"
#include "tests/support/TestSupport.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QProcessEnvironment>
#include <QTest>

#include <filesystem>

#include <signal.h>

namespace {

using Run = heatlens::test::ProgramRun;

Run cli(const QStringList &args, const QProcessEnvironment &env = {})
{
    return heatlens::test::runProgram(HEATLENS_CLI, args, env);
}

QJsonObject readJson(const QString &path)
{
    return heatlens::test::readJsonObject(path);
}

QString demoModel()
{
    return QString::fromStdString(heatlens::demoModelPath("demo-cnn"));
}
QString demoData()
{
    return QString::fromStdString(heatlens::demoDatasetPath());
}

} // namespace

class CliTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        if (!std::filesystem::exists(demoModel().toStdString()))
            QFAIL(qPrintable("demo model missing: run heatlens-cli zoo (" + demoModel() + ")"));
    }

    void explainWritesOverlayRawMapAndSummary_data()
    {
        QTest::addColumn<QString>("method");
        QTest::addColumn<QStringList>("params");
        QTest::newRow("saliency") << "saliency" << QStringList{};
        QTest::newRow("integrated-gradients")
            << "integrated-gradients" << QStringList{"--param", "steps=32"};
        QTest::newRow("grad-cam") << "grad-cam" << QStringList{"--param", "layer=features.block2"};
        QTest::newRow("multi-layer grad-cam")
            << "grad-cam" << QStringList{"--param", "layer=features.block2,features.block3"};
        // Baselines drawn from --dataset.
        QTest::newRow("gradient-shap") << "gradient-shap" << QStringList{"--param", "samples=16"};
        QTest::newRow("guided-backprop") << "guided-backprop" << QStringList{};
        QTest::newRow("rise") << "rise" << QStringList{"--param", "masks=200"};
    }

    void explainWritesOverlayRawMapAndSummary()
    {
        QFETCH(QString, method);
        QFETCH(QStringList, params);
        const QString out = QString::fromStdString(heatlens::test::makeTempDir("cli"));
        Run run = cli(QStringList{"explain", "--model", demoModel(), "--dataset", demoData(),
                                  "--index", "60000", "--method", method, "--out", out} +
                      params);
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const QString stem = out + "/t10k-0-" + method;
        QImage overlay(stem + ".png");
        QVERIFY(!overlay.isNull());
        QVERIFY(overlay.width() >= 256); // 28x28 enlarged to be legible
        cv::Mat map = heatlens::readNpy((stem + ".npy").toStdString());
        QCOMPARE(map.rows, 28);
        QCOMPARE(map.cols, 28);
        QVERIFY(cv::checkRange(map));
        QJsonObject summary = readJson(stem + ".json");
        QCOMPARE(summary["method"].toString(), method);
        QCOMPARE(summary["prediction"].toObject()["top5"].toArray().size(), 5);
        QVERIFY(summary["timings_seconds"].toObject().contains("explain"));
        // The prediction core makes of the same image with the same model (top-5 labels; the
        // probabilities to 1e-3: each process picks the module or its frozen copy by timing).
        const auto model = heatlens::Model::load(demoModel().toStdString());
        const auto sample = heatlens::openDataset(demoData().toStdString())->load(60000);
        const auto expected = heatlens::predictInput(*model, model->preprocess(sample.image));
        const QJsonObject prediction = summary["prediction"].toObject();
        QCOMPARE(prediction["label"].toString(),
                 QString::fromStdString(model->label(expected.predicted)));
        const QJsonArray top = prediction["top5"].toArray();
        const auto order = expected.topK(5);
        for (int i = 0; i < 5; ++i) {
            const double p = expected.probabilities[size_t(order[size_t(i)])];
            QCOMPARE(top[i].toObject()["class"].toInt(), order[size_t(i)]);
            QVERIFY(std::abs(top[i].toObject()["probability"].toDouble() - p) < 1e-3);
        }
        if (method == "integrated-gradients" || method == "gradient-shap")
            QVERIFY(summary["stats"].toObject().contains("completeness_gap"));
        if (method == "gradient-shap")
            QCOMPARE(summary["stats"].toObject()["references"].toDouble(), 64.0);
    }

    void explainTargetByLabelAndRefusesToOverwrite()
    {
        const QString out = QString::fromStdString(heatlens::test::makeTempDir("cli"));
        const QStringList args{"explain", "--model", demoModel(), "--dataset", demoData(),
                               "--index", "0",       "--method",  "saliency",  "--target",
                               "Sneaker", "--out",   out};
        Run first = cli(args);
        QVERIFY2(first.exitCode == 0, qPrintable(first.err));
        QCOMPARE(readJson(out + "/train-0-saliency.json")["target"].toObject()["label"].toString(),
                 QString("Sneaker"));
        Run second = cli(args);
        QCOMPARE(second.exitCode, 1);
        QVERIFY2(second.err.contains("already exists"), qPrintable(second.err));
        Run forced = cli(args + QStringList{"--force"});
        QCOMPARE(forced.exitCode, 0);
    }

    void errorsExitNonZeroWithOneLineNamingTheProblem_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("code");
        QTest::addColumn<QString>("mentions");
        const QString notModel = QString(HEATLENS_SOURCE_DIR) + "/README.md";
        QTest::newRow("not torchscript")
            << QStringList{"explain",  "--model",  notModel, "--image", notModel,
                           "--method", "saliency", "--out",  "/tmp"}
            << 1 << "README.md";
        QTest::newRow("unknown method")
            << QStringList{"explain", "--model",  demoModel(), "--dataset", demoData(), "--index",
                           "0",       "--method", "nope",      "--out",     "/tmp"}
            << 1 << "unknown method \"nope\"";
        QTest::newRow("bad param") << QStringList{"explain",   "--model",  demoModel(),
                                                  "--dataset", demoData(), "--index",
                                                  "0",         "--method", "integrated-gradients",
                                                  "--param",   "steps=0",  "--out",
                                                  "/tmp"}
                                   << 1 << "steps";
        QTest::newRow("index out of range")
            << QStringList{"explain", "--model",  demoModel(), "--dataset", demoData(), "--index",
                           "70000",   "--method", "saliency",  "--out",     "/tmp"}
            << 2 << "--index";
        QTest::newRow("unknown option") << QStringList{"explain", "--bogus"} << 2 << "--bogus";
        QTest::newRow("unknown command") << QStringList{"frobnicate"} << 2 << "frobnicate";
    }

    void errorsExitNonZeroWithOneLineNamingTheProblem()
    {
        QFETCH(QStringList, args);
        QFETCH(int, code);
        QFETCH(QString, mentions);
        Run run = cli(args);
        QCOMPARE(run.exitCode, code);
        QVERIFY2(run.err.contains(mentions), qPrintable(run.err));
        QCOMPARE(run.err.trimmed().count('\n'), 0);
    }

    void listMethodsShowsIdsAndParameters()
    {
        Run run = cli({"--list-methods"});
        QCOMPARE(run.exitCode, 0);
        for (const char *id : {"saliency", "integrated-gradients", "grad-cam"})
            QVERIFY2(run.out.contains(QString(id) + "  ["), id);
        QVERIFY(run.out.contains("steps (int, default 50"));
        // The random ranking is listed, but apart from the methods: it explains nothing.
        const int controls = run.out.indexOf("Controls (");
        QVERIFY(controls > 0);
        QVERIFY(run.out.indexOf("random  [control]") > controls);
    }

    void trainsEveryArchitectureAndEnsemblesFromTheCommandLine()
    {
        const QString out = QString::fromStdString(heatlens::test::makeTempDir("cli-train"));
        const QStringList common{"--dataset", demoData(), "--limit",   "400", "--test-limit", "200",
                                 "--epochs",  "1",        "--threads", "1",   "--out",        out};
        for (const char *arch : {"cnn", "vit", "groups"}) {
            Run run = cli(QStringList{"train", "--arch", arch} + common);
            QVERIFY2(run.exitCode == 0, qPrintable(run.err));
            QVERIFY2(run.out.contains("test accuracy"), qPrintable(run.out));
            const QString stem = out + "/model-" + arch;
            QVERIFY(QFile::exists(stem + ".pt") && QFile::exists(stem + ".json"));
            Run inspect = cli({"inspect", "--model", stem + ".pt"});
            QCOMPARE(inspect.exitCode, 0);
            QVERIFY(inspect.out.contains(QString("\"family\": \"") + arch + "\""));
        }
        Run guided = cli(QStringList{"train", "--arch", "cnn", "--saliency-guided", "0.5",
                                     "--kl-weight", "0.5"} +
                         common);
        QVERIFY2(guided.exitCode == 0, qPrintable(guided.err));
        QVERIFY(readJson(out + "/model-cnn-sg.json")["description"].toString().contains(
            "saliency-guided: k = 50%, lambda = 0.5"));
        Run ensemble = cli(QStringList{"train", "--ensemble", "2", "--name", "pair"} + common);
        QVERIFY2(ensemble.exitCode == 0, qPrintable(ensemble.err));
        QVERIFY2(ensemble.out.contains("ensemble test accuracy"), qPrintable(ensemble.out));
        QVERIFY(QFile::exists(out + "/pair/ensemble.json"));
        Run inspect = cli({"inspect", "--model", out + "/pair"});
        QVERIFY2(inspect.out.contains("deep ensemble of 2 members"), qPrintable(inspect.out));
        // The same command again refuses to replace the ensemble.
        Run again = cli(QStringList{"train", "--ensemble", "2", "--name", "pair"} + common);
        QCOMPARE(again.exitCode, 1);
        QVERIFY2(again.err.contains("already exists"), qPrintable(again.err));
    }

    void trainRejectsBadOptionsAsUsageErrors()
    {
        Run arch = cli({"train", "--arch", "rnn", "--dataset", demoData(), "--out", "/tmp/x"});
        QCOMPARE(arch.exitCode, 2);
        QVERIFY2(arch.err.contains("rnn") && arch.err.contains("cnn, vit or groups"),
                 qPrintable(arch.err));
        Run k =
            cli({"train", "--saliency-guided", "1.5", "--dataset", demoData(), "--out", "/tmp/x"});
        QCOMPARE(k.exitCode, 2);
        QVERIFY2(k.err.contains("--saliency-guided"), qPrintable(k.err));
        Run patch = cli(
            {"train", "--arch", "vit", "--patch", "5", "--dataset", demoData(), "--out", "/tmp/x"});
        QCOMPARE(patch.exitCode, 2);
    }

    void interruptedTrainingLeavesNoFile()
    {
        const QString out = QString::fromStdString(heatlens::test::makeTempDir("cli-interrupt"));
        QProcess process;
        process.start(HEATLENS_CLI, {"train", "--arch", "vit", "--dataset", demoData(), "--epochs",
                                     "5", "--threads", "1", "--out", out});
        QVERIFY(process.waitForStarted());
        // Wait until training reports progress, then press "Ctrl-C".
        QString err;
        QElapsedTimer timer;
        timer.start();
        while (!err.contains("epoch") && timer.elapsed() < 180000) { // slow under ASan
            process.waitForReadyRead(500);
            err += QString::fromUtf8(process.readAllStandardError());
        }
        QVERIFY2(err.contains("epoch"), qPrintable(err));
        ::kill(pid_t(process.processId()), SIGINT);
        QVERIFY(process.waitForFinished(30000));
        QCOMPARE(process.exitCode(), 130);
        err += QString::fromUtf8(process.readAllStandardError());
        QVERIFY2(err.contains("nothing was written"), qPrintable(err));
        QCOMPARE(heatlens::test::entries(out.toStdString()), std::vector<std::string>{});
    }

    void zooTrainsEveryModelOnceThenSkipsThem()
    {
        // A small image folder stands in for Fashion-MNIST: 10 classes of 28 x 28 images whose
        // brightness band depends on the class.
        const std::string data = heatlens::test::makeTempDir("zoo-data");
        cv::RNG rng(5);
        for (int c = 0; c < 10; ++c) {
            std::filesystem::create_directories(data + "/c" + std::to_string(c));
            for (int i = 0; i < 8; ++i) {
                cv::Mat image(28, 28, CV_8UC1);
                rng.fill(image, cv::RNG::UNIFORM, 0, 60);
                image.rowRange(c * 2, c * 2 + 6) += cv::Scalar(180);
                cv::imwrite(data + "/c" + std::to_string(c) + "/" + std::to_string(i) + ".png",
                            image);
            }
        }
        const QString zoo = QString::fromStdString(heatlens::test::makeTempDir("zoo-models"));
        auto env = QProcessEnvironment::systemEnvironment();
        env.insert("HEATLENS_ZOO", zoo);
        env.insert("HEATLENS_DEMO_DATA", QString::fromStdString(data));
        Run first = cli({"zoo"}, env);
        QVERIFY2(first.exitCode == 0, qPrintable(first.err));
        for (const char *name :
             {"demo-cnn", "demo-vit", "demo-groups", "demo-cnn-sg", "demo-vit-sg",
              "demo-cnn-ensemble", "demo-vit-ensemble", "demo-cnn-flipout", "demo-groups-additive"})
            QVERIFY2(first.out.contains(QString(name).leftJustified(20) + " trained in"), name);
        QVERIFY(QFile::exists(zoo + "/demo-vit-ensemble/ensemble.json"));
        QVERIFY(QFile::exists(zoo + "/demo-groups.pt"));
        for (const auto &entry : heatlens::test::entries(zoo.toStdString()))
            QVERIFY2(!heatlens::test::contains(entry, "partial") &&
                         !heatlens::test::contains(entry, ".tmp"),
                     entry.c_str());
        Run second = cli({"zoo"}, env);
        QCOMPARE(second.exitCode, 0);
        const int models = int(heatlens::zooRecipes().size());
        QCOMPARE(second.out.count("up to date"), models);
        Run list = cli({"zoo", "--list"}, env);
        QCOMPARE(list.out.count("ready"), models);
        Run inspect = cli({"inspect", "--model", zoo + "/demo-cnn-ensemble"}, env);
        QVERIFY2(inspect.out.contains("deep ensemble of 5 members"), qPrintable(inspect.out));
    }

    void interruptedZooLeavesNoHalfWrittenModel()
    {
        const QString zoo = QString::fromStdString(heatlens::test::makeTempDir("zoo-interrupt"));
        auto env = QProcessEnvironment::systemEnvironment();
        env.insert("HEATLENS_ZOO", zoo);
        QProcess process;
        process.setProcessEnvironment(env);
        process.start(HEATLENS_CLI, {"zoo", "--only", "demo-cnn,demo-groups"});
        QVERIFY(process.waitForStarted());
        // Interrupted while both workers train: once their progress shows, long before either
        // model is saved (demo-groups, the quicker, trains for ~15 s here).
        QByteArray progress;
        QElapsedTimer waited;
        waited.start();
        while (!progress.contains("demo-groups") && waited.elapsed() < 60000) {
            process.waitForReadyRead(200);
            progress += process.readAllStandardOutput() + process.readAllStandardError();
        }
        QVERIFY2(progress.contains("demo-groups"), progress.constData());
        QTest::qWait(500);
        ::kill(pid_t(process.processId()), SIGINT);
        QVERIFY(process.waitForFinished(60000));
        const QString err = QString::fromUtf8(process.readAllStandardError());
        QCOMPARE(process.exitCode(), 130);
        QVERIFY2(err.contains("nothing was written"), qPrintable(err));
        for (const auto &entry : heatlens::test::entries(zoo.toStdString()))
            QVERIFY2(!heatlens::test::contains(entry, ".pt") &&
                         !heatlens::test::contains(entry, "partial"),
                     entry.c_str());
    }

    void zooListsItsModels()
    {
        Run run = cli({"zoo", "--list"});
        QCOMPARE(run.exitCode, 0);
        for (const char *name :
             {"demo-cnn", "demo-vit", "demo-groups", "demo-cnn-sg", "demo-vit-sg",
              "demo-cnn-ensemble", "demo-vit-ensemble", "demo-cnn-flipout", "demo-groups-additive"})
            QVERIFY2(run.out.contains(name), name);
        Run bad = cli({"zoo", "--only", "demo-rnn"});
        QCOMPARE(bad.exitCode, 2);
    }

    void threadsAreSetFromTheCpuBudgetOrByTheOption()
    {
        const QString model = QString::fromStdString(heatlens::demoModelPath("demo-cnn"));
        QProcessEnvironment unset = QProcessEnvironment::systemEnvironment();
        unset.remove("OMP_WAIT_POLICY");
        Run automatic = cli({"inspect", "--model", model}, unset);
        QCOMPARE(automatic.exitCode, 0);
        const int usable = heatlens::cpuBudget().usable;
        QVERIFY2(automatic.out.contains(QString("threads: %1 thread").arg(usable)) &&
                     automatic.out.contains("(one per usable CPU)"),
                 qPrintable(automatic.out));
        // The launcher lets idle OpenMP threads sleep, unless the environment says otherwise.
        QVERIFY2(automatic.out.contains("idle OpenMP threads sleep"), qPrintable(automatic.out));
        // ... and starts it with malloc on huge pages where the kernel has them, saying so.
        QFile thp("/sys/kernel/mm/transparent_hugepage/enabled");
        const bool thpOff = thp.open(QIODevice::ReadOnly) && thp.readAll().contains("[never]");
        QVERIFY2(automatic.out.contains(thpOff ? "malloc: 4 KiB pages (glibc.malloc.hugetlb is set"
                                               : "malloc: huge pages (GLIBC_TUNABLES="),
                 qPrintable(automatic.out));
        QProcessEnvironment ownTunables = QProcessEnvironment::systemEnvironment();
        ownTunables.insert("GLIBC_TUNABLES", "glibc.malloc.hugetlb=0");
        Run declined = cli({"inspect", "--model", model}, ownTunables); // the user's choice stands
        QVERIFY2(declined.out.contains("malloc: 4 KiB pages (GLIBC_TUNABLES does not ask"),
                 qPrintable(declined.out));
        Run one = cli({"inspect", "--threads", "1", "--model", model});
        QVERIFY2(one.out.contains("threads: 1 thread (as set)"), qPrintable(one.out));
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("OMP_WAIT_POLICY", "ACTIVE");
        Run spinning = cli({"inspect", "--threads=2", "--model", model}, env);
        QVERIFY2(spinning.out.contains("threads: 2 threads (as set)") &&
                     spinning.out.contains("idle OpenMP threads spin"),
                 qPrintable(spinning.out));
        if (spinning.out.contains("OpenBLAS")) // spinning OpenMP starves OpenBLAS's threads
            QVERIFY2(spinning.out.contains("OpenBLAS, 1 thread;"), qPrintable(spinning.out));
        for (const char *bad : {"0", "x", "2.5"}) {
            Run refused = cli({"inspect", "--threads", bad, "--model", model});
            QCOMPARE(refused.exitCode, 2);
            QVERIFY2(refused.err.contains("--threads must be a whole number"),
                     qPrintable(refused.err));
        }
    }

    void everyCommandHasHelp()
    {
        for (const char *command : {"explain", "train", "inspect", "zoo"}) {
            Run run = cli({command, "--help"});
            QCOMPARE(run.exitCode, 0);
            QVERIFY2(run.out.startsWith("usage: heatlens-cli"), command);
        }
    }
};

QTEST_GUILESS_MAIN(CliTest)
#include "test_cli.moc"
