// cli_interactions_recovers_known_answers_and_resumes: heatlens-cli interactions on one image
// writes the label map and a JSON per estimate in the documented layout, recovers the exact
// answers of demo-groups-additive (exact mode and ArchDetect), groups superpixels of the demo CNN,
// decomposes the CNN contextually, runs over a dataset with a resumable table, reports the rank
// agreement with demo-groups' gate weights, and names what it cannot do (CD of a transformer).
#include "core/io/Csv.h"
#include "core/model/Zoo.h"
#include "tests/support/TestSupport.h"

#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonObject>
#include <QProcessEnvironment>
#include <QSet>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

using heatlens::test::ProgramRun;

namespace {

// Runs heatlens-cli as a whole run even inside a Slurm array or an indexed job.
ProgramRun cli(const QStringList &args)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const char *name : {"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"})
        env.remove(name);
    return heatlens::test::runProgram(HEATLENS_CLI, args, env);
}

QString zooModel(const std::string &name)
{
    return QString::fromStdString(heatlens::demoModelPath(name));
}

QString testImages()
{
    return QString::fromStdString(heatlens::demoDatasetPath() + "/t10k-images-idx3-ubyte.gz");
}

// The rows of a CSV file after its header (given back in `header` when asked).
std::vector<std::vector<std::string>> csvRows(const QString &path,
                                              std::vector<std::string> *header = nullptr)
{
    std::ifstream in(path.toStdString());
    std::string line;
    std::getline(in, line);
    if (header)
        *header = heatlens::parseCsvLine(line).value_or(std::vector<std::string>{});
    std::vector<std::vector<std::string>> rows;
    while (std::getline(in, line))
        if (auto fields = heatlens::parseCsvLine(line))
            rows.push_back(*fields);
    return rows;
}

} // namespace

class CliInteractionsTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        for (const char *name : {"demo-groups-additive", "demo-groups", "demo-cnn", "demo-vit"})
            if (!std::filesystem::exists(zooModel(name).toStdString()))
                QFAIL(qPrintable(QString("%1 is not trained: run heatlens-cli zoo").arg(name)));
    }

    void oneImageRecoversTheAdditiveModelsExactAnswers()
    {
        const QString out = QString::fromStdString(heatlens::test::makeTempDir("int-one"));
        const ProgramRun run =
            cli({"interactions", "--model", zooModel("demo-groups-additive"), "--dataset",
                 testImages(), "--index", "2", "--groups", "model", "--method", "exact,archdetect",
                 "--index", "sii", "--out", out});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        QVERIFY2(run.err.contains("65536 calls") && run.err.contains("274 calls"),
                 qPrintable(run.err));
        for (const char *file : {"t10k-2-exact-sii.json", "t10k-2-archdetect-archdetect.json"}) {
            const QJsonObject j = heatlens::test::readJsonObject(out + "/" + file);
            QCOMPARE(j["players"].toInt(), 16);
            QCOMPARE(j["max_order"].toInt(), 2);
            QCOMPARE(j["values"].toArray().size(), 16 + 120);
            QVERIFY(j["recovery"].toObject()["mse"].toDouble() < 1e-8);
            QCOMPARE(j["recovery"].toObject()["precision_at_10"].toDouble(), 1.0);
            QVERIFY(j.contains("empty_value") && j.contains("full_value"));
            // Archipelago's sets of the 10 strongest pairs, disjoint, each scored alone.
            const QJsonArray sets = j["archipelago_sets"].toArray();
            QVERIFY(!sets.isEmpty());
            QSet<int> seen;
            for (const auto &set : sets) {
                const QJsonArray players = set.toObject()["players"].toArray();
                QVERIFY(players.size() >= 2 && players.size() <= 11);
                for (const auto &g : players) {
                    QVERIFY(!seen.contains(g.toInt()));
                    seen.insert(g.toInt());
                }
                QVERIFY(set.toObject()["importance"].isDouble());
            }
        }
        for (const char *figure : {"t10k-2-exact-sii.png", "t10k-2-exact-sii-matrix.png",
                                   "t10k-2-archdetect-archdetect-matrix.png"})
            QVERIFY2(QImage(out + "/" + figure).width() >= 256, figure);
        QVERIFY(QFile::exists(out + "/t10k-2-groups.npy"));
        QVERIFY(QFile::exists(out + "/t10k-2-groups.png"));
    }

    void superpixelsOfTheDemoCnn()
    {
        const QString out = QString::fromStdString(heatlens::test::makeTempDir("int-slic"));
        const ProgramRun run =
            cli({"interactions", "--model", zooModel("demo-cnn"), "--dataset", testImages(),
                 "--index", "0", "--groups", "slico:16", "--method", "permutation,regression",
                 "--budget", "300", "--repeats", "2", "--baseline", "blur", "--out", out});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const QJsonObject j =
            heatlens::test::readJsonObject(out + "/t10k-0-permutation-sii-b300.json");
        const int p = j["players"].toInt();
        QVERIFY2(p >= 14 && p <= 18, qPrintable(QString::number(p)));
        QVERIFY(j["values"].toArray().at(0).toObject().contains("std_error"));
        QVERIFY(!j.contains("recovery")); // no known answers for the CNN
        // Contextual decomposition of the same CNN: one decomposition per group and pair.
        const ProgramRun cd =
            cli({"interactions", "--model", zooModel("demo-cnn"), "--dataset", testImages(),
                 "--index", "0", "--groups", "grid:3", "--method", "cd", "--out", out});
        QVERIFY2(cd.exitCode == 0, qPrintable(cd.err));
        QVERIFY2(cd.err.contains("cd (cd): 47 calls"), qPrintable(cd.err)); // 9 + 36 + 2
        const QJsonObject c = heatlens::test::readJsonObject(out + "/t10k-0-cd-cd.json");
        QCOMPARE(c["players"].toInt(), 9);
        QCOMPARE(c["values"].toArray().size(), 9 + 36);
    }

    void datasetTableResumesAndReportsGateAgreement()
    {
        const QString out = QString::fromStdString(heatlens::test::makeTempDir("int-data"));
        const QStringList args = {"interactions",
                                  "--model",
                                  zooModel("demo-groups-additive"),
                                  "--dataset",
                                  testImages(),
                                  "--limit",
                                  "3",
                                  "--groups",
                                  "model",
                                  "--method",
                                  "archdetect,regression",
                                  "--budget",
                                  "200",
                                  "--out",
                                  out};
        const ProgramRun first = cli(args);
        QVERIFY2(first.exitCode == 0, qPrintable(first.err));
        QCOMPARE(int(csvRows(out + "/per_image.csv").size()), 6);
        QVERIFY2(first.out.contains("archdetect|archdetect|0") &&
                     first.out.contains("precision_at_10"),
                 qPrintable(first.out));
        const QJsonObject summary = heatlens::test::readJsonObject(out + "/summary.json");
        QCOMPARE(summary["images"].toInt(), 3);
        const ProgramRun again = cli(args);
        QVERIFY2(again.exitCode == 0 && again.err.contains("3 already in"), qPrintable(again.err));
        // The gated model: no exact answers, but the gate weights to compare ranks with.
        const QString gated = QString::fromStdString(heatlens::test::makeTempDir("int-gated"));
        const ProgramRun weights =
            cli({"interactions", "--model", zooModel("demo-groups"), "--dataset", testImages(),
                 "--limit", "2", "--groups", "model", "--method", "archdetect", "--out", gated});
        QVERIFY2(weights.exitCode == 0, qPrintable(weights.err));
        std::vector<std::string> header;
        const auto rows = csvRows(gated + "/per_image.csv", &header);
        QCOMPARE(int(rows.size()), 2);
        const auto column = std::find(header.begin(), header.end(), "weights_spearman");
        QVERIFY(column != header.end());
        QVERIFY(!rows[0].at(size_t(column - header.begin())).empty());
    }

    void whatItCannotDoIsNamed()
    {
        const QString out = QString::fromStdString(heatlens::test::makeTempDir("int-bad"));
        const ProgramRun exact =
            cli({"interactions", "--model", zooModel("demo-cnn"), "--dataset", testImages(),
                 "--index", "0", "--groups", "grid:7", "--method", "exact", "--out", out});
        QCOMPARE(exact.exitCode, 1);
        QVERIFY2(exact.err.contains("49 groups") && exact.err.contains("estimator"),
                 qPrintable(exact.err));
        const ProgramRun grouping =
            cli({"interactions", "--model", zooModel("demo-cnn"), "--dataset", testImages(),
                 "--index", "0", "--groups", "quickshift:10", "--out", out});
        QCOMPARE(grouping.exitCode, 2);
        QVERIFY2(grouping.err.contains("\"quickshift:10\""), qPrintable(grouping.err));
        const ProgramRun tokens =
            cli({"interactions", "--model", zooModel("demo-cnn"), "--dataset", testImages(),
                 "--index", "0", "--groups", "tokens", "--method", "archdetect", "--out", out});
        QCOMPARE(tokens.exitCode, 1);
        QVERIFY2(tokens.err.contains("patch grid"), qPrintable(tokens.err));
        // A transformer has operators contextual decomposition has no rule for: named first.
        const ProgramRun vit =
            cli({"interactions", "--model", zooModel("demo-vit"), "--dataset", testImages(),
                 "--index", "0", "--groups", "tokens", "--method", "cd", "--out", out});
        QCOMPARE(vit.exitCode, 2);
        QVERIFY2(vit.err.contains("no rule for aten::layer_norm"), qPrintable(vit.err));
    }

    void shardsMergeIntoTheTableOfOneRun()
    {
        const QString root = QString::fromStdString(heatlens::test::makeTempDir("int-shards"));
        const QStringList run = {"interactions",
                                 "--model",
                                 zooModel("demo-groups-additive"),
                                 "--dataset",
                                 testImages(),
                                 "--limit",
                                 "5",
                                 "--groups",
                                 "model",
                                 "--method",
                                 "archdetect,regression",
                                 "--budget",
                                 "300"};
        const ProgramRun single = cli(QStringList(run) << "--out" << root + "/single");
        QVERIFY2(single.exitCode == 0, qPrintable(single.err));
        for (const char *shard : {"0/3", "1/3", "2/3"}) {
            const ProgramRun part =
                cli(QStringList(run) << "--shard" << shard << "--out" << root + "/parts");
            QVERIFY2(part.exitCode == 0, qPrintable(part.err));
        }
        const ProgramRun merged = cli({"merge", root + "/parts", "--out", root + "/merged"});
        QVERIFY2(merged.exitCode == 0, qPrintable(merged.err));
        // Every statistic but the timings equals one process's (up to the last bits of the
        // regression's solve: its MSE is ~1e-12 and differs at 1e-20).
        const QJsonObject a = heatlens::test::readJsonObject(root + "/single/summary.json")
                                  .value("combinations")
                                  .toObject(),
                          b = heatlens::test::readJsonObject(root + "/merged/summary.json")
                                  .value("combinations")
                                  .toObject();
        QCOMPARE(b.keys(), a.keys());
        int compared = 0;
        for (const QString &key : a.keys())
            for (const QString &column : a[key].toObject().keys()) {
                if (column == "seconds")
                    continue;
                for (const char *field : {"mean", "ci95", "n"}) {
                    const double x = a[key].toObject()[column].toObject()[field].toDouble(),
                                 y = b[key].toObject()[column].toObject()[field].toDouble();
                    QVERIFY2(std::abs(x - y) <= 1e-9 * (1 + std::abs(x)),
                             qPrintable(key + " " + column + " " + field));
                    ++compared;
                }
            }
        QVERIFY(compared > 20);
        QCOMPARE(heatlens::test::readJsonObject(root + "/merged/run.json"),
                 heatlens::test::readJsonObject(root + "/single/run.json"));
    }
};

QTEST_GUILESS_MAIN(CliInteractionsTest)
#include "test_cli_interactions.moc"
