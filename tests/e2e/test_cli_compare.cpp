#include "core/io/Csv.h"
#include "core/model/Zoo.h"
#include "tests/support/TestSupport.h"

#include <QElapsedTimer>
#include <QImage>
#include <QJsonArray>
#include <QJsonObject>
#include <QProcess>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

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

QString testImages()
{
    return QString::fromStdString(heatlens::demoDatasetPath() + "/t10k-images-idx3-ubyte.gz");
}

// A CSV file as rows of named fields.
struct CsvTable
{
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;

    explicit CsvTable(const QString &path)
    {
        std::ifstream in(path.toStdString());
        std::string line;
        if (std::getline(in, line))
            header = heatlens::parseCsvLine(line).value_or(std::vector<std::string>{});
        while (std::getline(in, line))
            if (auto fields = heatlens::parseCsvLine(line))
                rows.push_back(*fields);
    }
    const std::string &at(size_t row, const std::string &column) const
    {
        const auto it = std::find(header.begin(), header.end(), column);
        if (it == header.end())
            throw std::out_of_range("no column " + column);
        return rows.at(row).at(size_t(it - header.begin()));
    }
    double number(size_t row, const std::string &column) const
    {
        const std::string &text = at(row, column);
        return text.empty() ? std::nan("") : std::strtod(text.c_str(), nullptr);
    }
};

QStringList compareArgs(const QString &models, const QString &methods, int limit,
                        const QString &out)
{
    return {"compare",    "--models", models,
            "--methods",  methods,    "--dataset",
            testImages(), "--limit",  QString::number(limit),
            "--out",      out};
}

// The object of pair (a, b) in summary.json's "pairs".
QJsonObject pairOf(const QJsonObject &summary, const QString &a, const QString &b)
{
    for (const auto &value : summary["pairs"].toArray()) {
        const QJsonObject pair = value.toObject();
        if (pair["a"].toString() == a && pair["b"].toString() == b)
            return pair;
    }
    return {};
}

int groupCount(const QJsonObject &pair, const QString &group)
{
    return pair["groups"].toObject()[group].toObject()["spearman"].toObject()["n"].toInt();
}

} // namespace

class CliCompareTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        if (const std::string why = heatlens::test::missingDemoData(); !why.empty())
            QSKIP(why.c_str());
        if (!std::filesystem::exists(heatlens::demoModelPath("demo-vit")))
            QSKIP("demo-vit is not trained (heatlens-cli zoo)");
    }

    void writesTablesSummaryAndFigures()
    {
        const QString out = QString::fromStdString(heatlens::test::makeTempDir("compare"));
        const QStringList args =
            compareArgs("demo-cnn,demo-vit", "saliency,grad-cam,attention-rollout", 5, out);
        const ProgramRun run = cli(args);
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));

        // 5 images x 6 cells, model-major; attention rollout cannot explain the CNN.
        const CsvTable cells(out + "/cells.csv");
        QCOMPARE(int(cells.rows.size()), 30);
        int cnnRollout = 0;
        for (size_t r = 0; r < cells.rows.size(); ++r) {
            const bool rollout = cells.at(r, "method") == "attention-rollout";
            const bool cnn = cells.at(r, "model") == "demo-cnn";
            QCOMPARE(cells.at(r, "model"), std::string(r % 6 < 3 ? "demo-cnn" : "demo-vit"));
            if (cnn && rollout) {
                ++cnnRollout;
                QCOMPARE(cells.at(r, "ok"), std::string("0"));
                QVERIFY2(cells.at(r, "error").find("attention") != std::string::npos,
                         cells.at(r, "error").c_str());
            } else {
                QVERIFY2(cells.at(r, "ok") == "1", cells.at(r, "error").c_str());
                QCOMPARE(cells.at(r, "target"), cells.at(r, "label")); // --target label
                const double p = cells.number(r, "probability_predicted");
                QVERIFY(p > 0.0 && p <= 1.0);
            }
        }
        QCOMPARE(cnnRollout, 5);

        // 5 images x the 10 pairs of the 5 cells with maps.
        const CsvTable pairs(out + "/pairs.csv");
        QCOMPARE(int(pairs.rows.size()), 50);
        double sum = 0.0;
        int saliencyRows = 0;
        for (size_t r = 0; r < pairs.rows.size(); ++r) {
            QVERIFY(pairs.at(r, "cell_a") != "demo-cnn/attention-rollout");
            QVERIFY(pairs.at(r, "cell_b") != "demo-cnn/attention-rollout");
            for (const char *metric : {"spearman", "pearson", "cosine", "top_k_iou"}) {
                const double v = pairs.number(r, metric);
                QVERIFY2(v >= -1.0 - 1e-9 && v <= 1.0 + 1e-9, metric);
            }
            if (pairs.at(r, "cell_a") == "demo-cnn/saliency" &&
                pairs.at(r, "cell_b") == "demo-vit/saliency") {
                sum += pairs.number(r, "spearman");
                ++saliencyRows;
            }
        }
        QCOMPARE(saliencyRows, 5);

        const QJsonObject summary = heatlens::test::readJsonObject(out + "/summary.json");
        QCOMPARE(summary["interrupted"].toBool(), false);
        QCOMPARE(summary["images"].toObject()["compared"].toInt(), 5);
        QCOMPARE(summary["pairs"].toArray().size(), 15); // every pair of the 6 cells
        const QJsonObject saliency = pairOf(summary, "demo-cnn/saliency", "demo-vit/saliency");
        QVERIFY(!saliency.isEmpty());
        QVERIFY(!saliency["same_model"].toBool() && saliency["same_method"].toBool());
        const QJsonObject all = saliency["groups"].toObject()["all"].toObject();
        QCOMPARE(all["spearman"].toObject()["n"].toInt(), 5);
        QVERIFY2(std::abs(all["spearman"].toObject()["mean"].toDouble() - sum / 5) < 1e-9,
                 qPrintable(QString::number(sum / 5)));
        QVERIFY(all["spearman"].toObject()["ci95"].toDouble() > 0.0);
        QCOMPARE(groupCount(saliency, "correct") + groupCount(saliency, "incorrect") +
                     groupCount(saliency, "mixed"),
                 5);
        // The pair with the CNN's empty cell has no values, and the cell says why.
        const QJsonObject empty =
            pairOf(summary, "demo-cnn/attention-rollout", "demo-vit/attention-rollout");
        QVERIFY(empty["groups"].toObject().isEmpty());
        const QJsonObject cell = summary["cells"].toArray()[2].toObject();
        QCOMPARE(cell["name"].toString(), QString("demo-cnn/attention-rollout"));
        QCOMPARE(cell["ok"].toInt(), 0);
        QVERIFY(cell["error"].toString().contains("attention"));
        const double accuracy =
            summary["accuracy"].toObject()["demo-cnn"].toObject()["mean"].toDouble();
        QVERIFY(accuracy >= 0.0 && accuracy <= 1.0);

        const QImage matrix(out + "/matrix_spearman.png");
        QVERIFY(!matrix.isNull() && matrix.width() >= 400 && matrix.height() >= 300);
        const QImage histogram(out + "/histogram_demo-cnn_vs_demo-vit.png");
        QVERIFY(!histogram.isNull() && histogram.width() >= 800 && histogram.height() >= 500);
        QVERIFY2(run.out.contains("demo-cnn vs demo-vit") && run.out.contains("saliency") &&
                     run.out.contains("spearman"),
                 qPrintable(run.out));

        // The same folder again: refused without --force, the results left as they were.
        const std::string before = heatlens::test::readAll((out + "/summary.json").toStdString());
        const ProgramRun refused = cli(args);
        QCOMPARE(refused.exitCode, 2);
        QVERIFY2(refused.err.contains("summary.json") && refused.err.contains("--force"),
                 qPrintable(refused.err));
        QCOMPARE(heatlens::test::readAll((out + "/summary.json").toStdString()), before);
        const ProgramRun forced = cli(QStringList(args) << "--force"
                                                        << "--no-plots");
        QVERIFY2(forced.exitCode == 0, qPrintable(forced.err));
    }

    // Three shards and their merge give the files of one process: the same cells (but for their
    // seconds) and pairs, the same run.json, the same summary but for its timings.
    void shardsMergeIntoTheComparisonOfOneProcess()
    {
        const QString dir = QString::fromStdString(heatlens::test::makeTempDir("compare-shards"));
        const QString models = QStringLiteral("demo-cnn,demo-vit");
        const QString methods = QStringLiteral("saliency,grad-cam");
        QVERIFY(cli(compareArgs(models, methods, 7, dir + "/single") << "--no-plots").exitCode ==
                0);
        for (int i = 0; i < 3; ++i) {
            const ProgramRun shard = cli(compareArgs(models, methods, 7, dir + "/sharded")
                                         << "--no-plots"
                                         << "--shard" << QStringLiteral("%1/3").arg(i));
            QVERIFY2(shard.exitCode == 0, qPrintable(shard.err));
        }
        const ProgramRun merged = cli({"merge", dir + "/sharded", "--out", dir + "/merged"});
        QVERIFY2(merged.exitCode == 0, qPrintable(merged.err));
        CsvTable a(dir + "/merged/cells.csv"), b(dir + "/single/cells.csv");
        QCOMPARE(a.header, b.header);
        QCOMPARE(a.rows.size(), size_t(7 * 4));
        for (auto *table : {&a, &b})
            for (auto &row : table->rows)
                row.back().clear(); // seconds
        QCOMPARE(a.rows, b.rows);
        QCOMPARE(heatlens::test::readAll((dir + "/merged/pairs.csv").toStdString()),
                 heatlens::test::readAll((dir + "/single/pairs.csv").toStdString()));
        QCOMPARE(heatlens::test::readAll((dir + "/merged/run.json").toStdString()),
                 heatlens::test::readAll((dir + "/single/run.json").toStdString()));
        QJsonObject x = heatlens::test::readJsonObject(dir + "/merged/summary.json");
        QJsonObject y = heatlens::test::readJsonObject(dir + "/single/summary.json");
        for (const QString &key : {QStringLiteral("pairs"), QStringLiteral("accuracy"),
                                   QStringLiteral("options"), QStringLiteral("images")})
            QVERIFY2(x[key] == y[key], qPrintable(key));
        QVERIFY(std::filesystem::exists((dir + "/merged/matrix_spearman.png").toStdString()));
        // A shard of other options is refused, naming what differs.
        const ProgramRun other =
            cli(compareArgs(models, QStringLiteral("saliency"), 7, dir + "/other") << "--no-plots"
                                                                                   << "--shard"
                                                                                   << "0/3");
        QVERIFY(other.exitCode == 0);
        const ProgramRun refused =
            cli({"merge", dir + "/other/shard-0-of-3", dir + "/sharded/shard-1-of-3",
                 dir + "/sharded/shard-2-of-3", "--out", dir + "/bad"});
        QVERIFY(refused.exitCode != 0);
        QVERIFY2(refused.err.contains(QLatin1String("methods")), qPrintable(refused.err));
    }

    void aModelAgreesWithItself()
    {
        const QString out = QString::fromStdString(heatlens::test::makeTempDir("compare-self"));
        const ProgramRun run = cli(compareArgs("demo-cnn,demo-cnn", "saliency", 3, out));
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const CsvTable pairs(out + "/pairs.csv");
        QCOMPARE(int(pairs.rows.size()), 3);
        for (size_t r = 0; r < pairs.rows.size(); ++r) {
            QCOMPARE(pairs.at(r, "cell_b"), std::string("demo-cnn#2/saliency"));
            QVERIFY2(std::abs(pairs.number(r, "spearman") - 1.0) < 1e-9,
                     pairs.at(r, "spearman").c_str());
            QVERIFY(std::abs(pairs.number(r, "top_k_iou") - 1.0) < 1e-9);
        }
    }

    void badInputIsNamed()
    {
        const QString out = QString::fromStdString(heatlens::test::makeTempDir("compare-bad"));
        const ProgramRun method = cli(compareArgs("demo-cnn,demo-vit", "saliency,vibes", 2, out));
        QCOMPARE(method.exitCode, 2);
        QVERIFY2(method.err.contains("\"vibes\""), qPrintable(method.err));

        const std::string garbage = (out + "/garbage.pt").toStdString();
        heatlens::test::writeBytes(garbage, "this is not a TorchScript archive");
        const ProgramRun notTorch =
            cli(compareArgs("demo-cnn," + QString::fromStdString(garbage), "saliency", 2, out));
        QVERIFY(notTorch.exitCode != 0 && notTorch.exitCode != -1);
        QVERIFY2(notTorch.err.contains("garbage.pt"), qPrintable(notTorch.err));

        const ProgramRun limit = cli(compareArgs("demo-cnn,demo-vit", "saliency", 0, out));
        QCOMPARE(limit.exitCode, 2);
        QVERIFY2(limit.err.contains("--limit"), qPrintable(limit.err));

        const ProgramRun topK =
            cli(compareArgs("demo-cnn,demo-vit", "saliency", 2, out) << "--top-k"
                                                                     << "2");
        QCOMPARE(topK.exitCode, 2);
        QVERIFY2(topK.err.contains("--top-k") && topK.err.contains("(0, 1]"), qPrintable(topK.err));

        const ProgramRun unknown = cli(compareArgs("demo-cnn,no-such-model", "saliency", 2, out));
        QCOMPARE(unknown.exitCode, 2);
        QVERIFY2(unknown.err.contains("no-such-model"), qPrintable(unknown.err));
        QVERIFY(!std::filesystem::exists((out + "/summary.json").toStdString()));
    }

    void interruptionWritesTheImagesDone()
    {
        const QString out = QString::fromStdString(heatlens::test::makeTempDir("compare-ctrl-c"));
        QProcess process;
        process.start(HEATLENS_CLI,
                      compareArgs("demo-cnn,demo-vit", "integrated-gradients", 2000, out)
                          << "--no-plots");
        QVERIFY(process.waitForStarted());
        QString err;
        QElapsedTimer timer;
        timer.start();
        while (!err.contains("compare [") && timer.elapsed() < 60000) {
            process.waitForReadyRead(100);
            err += QString::fromUtf8(process.readAllStandardError());
        }
        QTest::qWait(1500);
        ::kill(pid_t(process.processId()), SIGINT);
        QVERIFY(process.waitForFinished(60000));
        err += QString::fromUtf8(process.readAllStandardError());
        QCOMPARE(process.exitCode(), 130);
        QVERIFY2(err.contains("interrupted after") && err.contains(out), qPrintable(err));
        const QJsonObject summary = heatlens::test::readJsonObject(out + "/summary.json");
        QCOMPARE(summary["interrupted"].toBool(), true);
        const int compared = summary["images"].toObject()["compared"].toInt();
        QVERIFY2(compared < 2000, qPrintable(QString::number(compared)));
        QCOMPARE(int(CsvTable(out + "/cells.csv").rows.size()), compared * 2);
        QCOMPARE(int(CsvTable(out + "/pairs.csv").rows.size()), compared);
    }
};

QTEST_GUILESS_MAIN(CliCompareTest)
#include "test_cli_compare.moc"
