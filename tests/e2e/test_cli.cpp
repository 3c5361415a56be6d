#include "core/io/Npy.h"
#include "core/model/Zoo.h"
#include "tests/support/TestSupport.h"

#include <opencv2/core.hpp>

#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTest>

#include <filesystem>

namespace {

struct Run
{
    int exitCode = -1;
    QString out, err;
};

Run cli(const QStringList &args)
{
    QProcess process;
    process.start(HEATLENS_CLI, args);
    process.waitForFinished(300000);
    return {process.exitCode(), QString::fromUtf8(process.readAllStandardOutput()),
            QString::fromUtf8(process.readAllStandardError())};
}

QJsonObject readJson(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(file.readAll()).object();
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
        // t10k/0 is an ankle boot, which a 90% model predicts.
        QCOMPARE(summary["prediction"].toObject()["label"].toString(), QString("Ankle boot"));
        if (method == "integrated-gradients")
            QVERIFY(summary["stats"].toObject().contains("completeness_gap"));
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
