#include "core/io/Csv.h"
#include "core/model/Zoo.h"
#include "tests/support/TestSupport.h"

#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonObject>
#include <QProcess>
#include <QTest>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include <signal.h>

using heatlens::test::ProgramRun;

namespace {

ProgramRun cli(const QStringList &args)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const char *name : {"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"})
        env.remove(name); // a test run inside a cluster job is not a shard
    return heatlens::test::runProgram(HEATLENS_CLI, args, env);
}

QString demoModel()
{
    return QString::fromStdString(heatlens::demoModelPath("demo-cnn"));
}

QString testImages()
{
    return QString::fromStdString(heatlens::demoDatasetPath() + "/t10k-images-idx3-ubyte.gz");
}

// Data lines of a CSV file (header excluded), each split into fields.
std::vector<std::vector<std::string>> csvRows(const QString &path)
{
    std::ifstream in(path.toStdString());
    std::string line;
    std::getline(in, line);
    std::vector<std::vector<std::string>> rows;
    while (std::getline(in, line))
        if (auto fields = heatlens::parseCsvLine(line))
            rows.push_back(*fields);
    return rows;
}

std::set<std::pair<std::string, std::string>> imageMethodPairs(const QString &csv)
{
    std::set<std::pair<std::string, std::string>> pairs;
    for (const auto &row : csvRows(csv))
        pairs.insert({row.at(0), row.at(6)});
    return pairs;
}

QStringList evaluateArgs(const QString &out, const QString &indices)
{
    return {"evaluate",
            "--model",
            demoModel(),
            "--dataset",
            testImages(),
            "--indices",
            indices,
            "--methods",
            "saliency,random",
            "--metrics",
            "deletion,insertion,road,accuracy-drop,localisation,complexity,sanity",
            "--steps",
            "20",
            "--sanity-images",
            "2",
            "--out",
            out};
}

} // namespace

class CliEvaluateTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        if (!std::filesystem::exists(demoModel().toStdString()))
            QFAIL(qPrintable("demo model missing: run heatlens-cli zoo (" + demoModel() + ")"));
    }

    void writesPerImageRowsSummaryAndPlots()
    {
        const QString out = QString::fromStdString(heatlens::test::makeTempDir("evaluate"));
        const ProgramRun run = cli(evaluateArgs(out, "0-5"));
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        QCOMPARE(int(csvRows(out + "/per_image.csv").size()), 12); // 6 images x 2 methods
        const QJsonObject summary = heatlens::test::readJsonObject(out + "/summary.json");
        QCOMPARE(summary["images"].toInt(), 6);
        const QJsonObject saliency = summary["methods"].toObject()["saliency"].toObject();
        const QJsonObject deletion = saliency["deletion_auc"].toObject();
        QCOMPARE(deletion["n"].toInt(), 6);
        QVERIFY(deletion["mean"].toDouble() > 0.0 && deletion["mean"].toDouble() < 1.0);
        QVERIFY(deletion["ci95"].toDouble() > 0.0);
        QCOMPARE(saliency["sanity_pass"].toObject()["n"].toInt(), 2); // --sanity-images 2
        const QJsonObject random = summary["methods"].toObject()["random"].toObject();
        QCOMPARE(random["sanity_pass"].toObject()["n"].toInt(), 0); // no model to randomise
        QCOMPARE(random["correct_at_0"].toObject()["n"].toInt(), 6);
        // Mean curves: 21 points for 20 steps, starting at the unperturbed probability.
        const QJsonObject curve =
            summary["curves"].toObject()["saliency"].toObject()["deletion"].toObject();
        QCOMPARE(curve["x"].toArray().size(), 21);
        QCOMPARE(curve["images"].toInt(), 6);
        for (const char *png : {"deletion", "insertion", "road", "accuracy_drop", "sanity"}) {
            const QImage image(out + "/" + png + ".png");
            QVERIFY2(!image.isNull() && image.width() >= 600, png);
        }
        QVERIFY2(run.out.contains("saliency") && run.out.contains("deletion_auc"),
                 qPrintable(run.out));
    }

    void resumesAfterACutRowAndRefusesOtherOptions()
    {
        const QString out = QString::fromStdString(heatlens::test::makeTempDir("evaluate-resume"));
        QVERIFY(cli(evaluateArgs(out, "0-3")).exitCode == 0);
        const auto complete = csvRows(out + "/per_image.csv");
        QCOMPARE(int(complete.size()), 8);
        // Keep images 0 and 1, one row of image 2 and half a row: an interrupted write.
        std::string text, line;
        {
            std::ifstream in((out + "/per_image.csv").toStdString());
            for (int i = 0; i < 6 && std::getline(in, line); ++i)
                text += line + "\n";
            std::getline(in, line);
            text += line.substr(0, line.size() / 2);
        }
        heatlens::test::writeBytes((out + "/per_image.csv").toStdString(), text);
        const ProgramRun again = cli(evaluateArgs(out, "0-3"));
        QVERIFY2(again.exitCode == 0, qPrintable(again.err));
        QVERIFY2(again.err.contains("2 already in"), qPrintable(again.err));
        const auto resumed = csvRows(out + "/per_image.csv");
        QCOMPARE(int(resumed.size()), 8);
        QCOMPARE(int(imageMethodPairs(out + "/per_image.csv").size()), 8);
        QCOMPARE(resumed[0], complete[0]); // kept rows are untouched
        // Same seeds: the images done again give the same values (timing column aside), up to
        // the last digits: predict() may run the module or its frozen copy (chosen by timing),
        // whose logits agree to 1e-4 relative, not bitwise.
        for (size_t i = 4; i < 8; ++i) {
            QCOMPARE(resumed[i].size(), complete[i].size());
            for (size_t f = 0; f < resumed[i].size(); ++f) {
                if (f == 7)
                    continue;
                const std::string &a = resumed[i][f], &b = complete[i][f];
                char *endA = nullptr, *endB = nullptr;
                const double x = std::strtod(a.c_str(), &endA), y = std::strtod(b.c_str(), &endB);
                if (a.empty() || b.empty() || *endA || *endB)
                    QCOMPARE(a, b);
                else
                    QVERIFY2(std::abs(x - y) <= 1e-3 * (1.0 + std::abs(y)),
                             (a + " vs " + b).c_str());
            }
        }
        // Other options into the same folder: refused, nothing replaced.
        auto other = evaluateArgs(out, "0-3");
        other[other.indexOf("20")] = "30";
        const ProgramRun refused = cli(other);
        QCOMPARE(refused.exitCode, 2);
        QVERIFY2(refused.err.contains("run.json") && refused.err.contains("steps"),
                 qPrintable(refused.err));
        QCOMPARE(int(csvRows(out + "/per_image.csv").size()), 8);
    }

    void interruptedRunGoesOnWhereItStopped()
    {
        const QString out = QString::fromStdString(heatlens::test::makeTempDir("evaluate-ctrl-c"));
        const QStringList args = {"evaluate", "--model",    demoModel(), "--dataset", testImages(),
                                  "--limit",  "400",        "--methods", "occlusion", "--metrics",
                                  "deletion", "--no-plots", "--out",     out};
        QProcess process;
        process.start(HEATLENS_CLI, args);
        QVERIFY(process.waitForStarted());
        QElapsedTimer timer;
        timer.start();
        while (csvRows(out + "/per_image.csv").size() < 3 && timer.elapsed() < 60000)
            QTest::qWait(100);
        ::kill(pid_t(process.processId()), SIGINT);
        QVERIFY(process.waitForFinished(60000));
        const QString err = QString::fromUtf8(process.readAllStandardError());
        QCOMPARE(process.exitCode(), 130);
        QVERIFY2(err.contains("run the same command again"), qPrintable(err));
        const size_t done = csvRows(out + "/per_image.csv").size();
        QVERIFY2(done >= 3 && done < 400, qPrintable(QString::number(done)));
        const ProgramRun rest = cli(args);
        QVERIFY2(rest.exitCode == 0, qPrintable(rest.err));
        QCOMPARE(int(imageMethodPairs(out + "/per_image.csv").size()), 400);
        QCOMPARE(int(csvRows(out + "/per_image.csv").size()), 400);
    }

    // Three shards and their merge give the files of one process: the same rows (but for their
    // seconds) and curves, the same run.json, the same means and intervals (but for timings),
    // and the sanity check on the run's first images, which shard 0 holds.
    void shardsMergeIntoTheRunOfOneProcess()
    {
        const QString dir = QString::fromStdString(heatlens::test::makeTempDir("evaluate-shards"));
        QVERIFY(cli(evaluateArgs(dir + "/single", "0-6")).exitCode == 0);
        for (int i = 0; i < 3; ++i) {
            const ProgramRun shard = cli(evaluateArgs(dir + "/sharded", "0-6")
                                         << "--shard" << QStringLiteral("%1/3").arg(i));
            QVERIFY2(shard.exitCode == 0, qPrintable(shard.err));
        }
        QVERIFY(
            std::filesystem::exists((dir + "/sharded/shard-2-of-3/summary.json").toStdString()));
        const ProgramRun merged = cli({"merge", dir + "/sharded", "--out", dir + "/merged"});
        QVERIFY2(merged.exitCode == 0, qPrintable(merged.err));
        auto withoutSeconds = [](std::vector<std::vector<std::string>> rows) {
            for (auto &row : rows)
                row.at(7).clear(); // the seconds column
            return rows;
        };
        QCOMPARE(withoutSeconds(csvRows(dir + "/merged/per_image.csv")),
                 withoutSeconds(csvRows(dir + "/single/per_image.csv")));
        QCOMPARE(heatlens::test::readAll((dir + "/merged/curves.csv").toStdString()),
                 heatlens::test::readAll((dir + "/single/curves.csv").toStdString()));
        QCOMPARE(heatlens::test::readAll((dir + "/merged/run.json").toStdString()),
                 heatlens::test::readAll((dir + "/single/run.json").toStdString()));
        QJsonObject a = heatlens::test::readJsonObject(dir + "/merged/summary.json");
        QJsonObject b = heatlens::test::readJsonObject(dir + "/single/summary.json");
        QJsonObject ma = a["methods"].toObject(), mb = b["methods"].toObject();
        for (const QString &method : {QStringLiteral("saliency"), QStringLiteral("random")}) {
            QJsonObject x = ma[method].toObject(), y = mb[method].toObject();
            x.remove(QStringLiteral("seconds"));
            y.remove(QStringLiteral("seconds"));
            QCOMPARE(x, y);
        }
        QCOMPARE(a["curves"], b["curves"]);
        const auto sanity = csvRows(dir + "/merged/per_image.csv");
        int sanityRows = 0;
        for (const auto &row : sanity)
            sanityRows += row.at(6) == "saliency" && !row.back().empty();
        QCOMPARE(sanityRows, 2); // --sanity-images 2: images 0 and 1 only
        QVERIFY(std::filesystem::exists((dir + "/merged/deletion.png").toStdString()));
    }

    void badMethodsAndMetricsAreNamed()
    {
        const QString out = QString::fromStdString(heatlens::test::makeTempDir("evaluate-bad"));
        const ProgramRun attention =
            cli({"evaluate", "--model", demoModel(), "--dataset", testImages(), "--methods",
                 "attention-rollout", "--out", out});
        QCOMPARE(attention.exitCode, 2);
        QVERIFY2(attention.err.contains("attention-rollout") && attention.err.contains("attention"),
                 qPrintable(attention.err));
        const ProgramRun metric =
            cli({"evaluate", "--model", demoModel(), "--dataset", testImages(), "--methods",
                 "saliency", "--metrics", "deletion,vibes", "--out", out});
        QCOMPARE(metric.exitCode, 2);
        QVERIFY2(metric.err.contains("\"vibes\""), qPrintable(metric.err));
        const ProgramRun param =
            cli({"evaluate", "--model", demoModel(), "--dataset", testImages(), "--methods",
                 "grad-cam", "--param", "layer=features", "--out", out});
        QCOMPARE(param.exitCode, 2);
        QVERIFY2(param.err.contains("method.name=value"), qPrintable(param.err));
    }
};

QTEST_GUILESS_MAIN(CliEvaluateTest)
#include "test_cli_evaluate.moc"
