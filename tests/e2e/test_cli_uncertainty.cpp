// cli_uncertainty_writes_maps_tables_and_resumes: heatlens-cli uncertainty on one image writes
// the maps core computes (npy), the overlays and the JSON summary per method and source, with
// banded curves and the sanity of the uncertainty when asked; sources that cannot sample the
// model are named and skipped; over a dataset it writes per_image.csv and summary.json, resumes
// after a cut write or Ctrl-C, and refuses a folder holding a run with other options.
#include "core/data/Dataset.h"
#include "core/io/Csv.h"
#include "core/io/Npy.h"
#include "core/model/Zoo.h"
#include "core/uncertainty/Uncertainty.h"
#include "tests/support/TestSupport.h"

#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonObject>
#include <QProcess>
#include <QProcessEnvironment>
#include <QTest>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <signal.h>

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

QString demoModel(const std::string &name = "demo-cnn")
{
    return QString::fromStdString(heatlens::demoModelPath(name));
}

QString testImages()
{
    return QString::fromStdString(heatlens::demoDatasetPath() + "/t10k-images-idx3-ubyte.gz");
}

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

QStringList datasetArgs(const QString &out, const QString &limit)
{
    return {"uncertainty", "--model",   demoModel(), "--dataset",   testImages(),     "--limit",
            limit,         "--methods", "saliency",  "--sources",   "mc-dropout,tta", "--samples",
            "6",           "--out",     out,         "--no-figures"};
}

} // namespace

class CliUncertaintyTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        if (!std::filesystem::exists(demoModel().toStdString()))
            QFAIL("the demo CNN is not trained: run heatlens-cli zoo");
    }

    void oneImageWritesWhatCoreComputes()
    {
        const QString out = QString::fromStdString(heatlens::test::makeTempDir("unc-one"));
        const ProgramRun run = cli({"uncertainty",
                                    "--model",
                                    demoModel(),
                                    "--dataset",
                                    testImages(),
                                    "--index",
                                    "3",
                                    "--methods",
                                    "saliency,grad-cam",
                                    "--sources",
                                    "mc-dropout,tta",
                                    "--samples",
                                    "12",
                                    "--target-error",
                                    "0",
                                    "--curves",
                                    "deletion",
                                    "--curve-samples",
                                    "4",
                                    "--save-samples",
                                    "--out",
                                    out});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        for (const char *method : {"saliency", "grad-cam"})
            for (const char *source : {"mc-dropout", "tta"}) {
                const QString stem = out + "/t10k-3-" + method + "-" + source;
                for (const char *suffix :
                     {"-mean.npy", "-std.npy", "-cv.npy", "-snr.npy", "-samples.npy", "-mean.png",
                      "-std.png", "-cv.png", "-vsup.png", ".json"})
                    QVERIFY2(QFile::exists(stem + suffix), qPrintable(stem + suffix));
                const QJsonObject j = heatlens::test::readJsonObject(stem + ".json");
                QCOMPARE(j["samples"].toInt(), 12);
                QVERIFY(j["curves"].toObject()["per_sample"].toObject().contains("auc_p5"));
                QCOMPARE(heatlens::readNpy((stem + "-mean.npy").toStdString()).size(),
                         cv::Size(28, 28));
            }
        QVERIFY2(run.out.contains("confident-uncertain delta"), qPrintable(run.out));

        // The mean map on disk is what core computes for the same request.
        const auto model = heatlens::Model::load(demoModel().toStdString());
        const auto dataset = heatlens::openDataset(testImages().toStdString());
        heatlens::UncertaintyRequest r;
        r.model = model;
        r.input = model->preprocess(dataset->load(3).image);
        r.methodId = "saliency";
        r.sourceId = "mc-dropout";
        r.options.maxSamples = 12;
        r.options.targetError = 0.0;
        const auto core = heatlens::explainUncertainty(r, {});
        const cv::Mat written =
            heatlens::readNpy((out + "/t10k-3-saliency-mc-dropout-mean.npy").toStdString());
        QVERIFY(cv::norm(written, core.mean, cv::NORM_INF) <=
                1e-5 * cv::norm(core.mean, cv::NORM_INF));

        // The same files again: refused unless --force.
        const ProgramRun again = cli({"uncertainty", "--model", demoModel(), "--dataset",
                                      testImages(), "--index", "3", "--methods", "saliency",
                                      "--sources", "mc-dropout", "--samples", "12", "--out", out});
        QCOMPARE(again.exitCode, 1);
        QVERIFY2(again.err.contains("exists") && again.err.contains("--force"),
                 qPrintable(again.err));
    }

    void sanityOfTheUncertaintyIsInTheSummary()
    {
        const QString out = QString::fromStdString(heatlens::test::makeTempDir("unc-sanity"));
        const ProgramRun run =
            cli({"uncertainty", "--model", demoModel(), "--dataset", testImages(), "--index", "0",
                 "--methods", "guided-backprop", "--sources", "mc-dropout", "--samples", "6",
                 "--sanity", "--out", out});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const QJsonObject sanity = heatlens::test::readJsonObject(
                                       out + "/t10k-0-guided-backprop-mc-dropout.json")["sanity"]
                                       .toObject();
        QVERIFY(sanity["steps"].toArray().size() >= 2);
        QVERIFY(sanity["verdict"].toString().contains("weights"));
        QVERIFY2(run.out.contains("sanity"), qPrintable(run.out));
    }

    void sourcesThatCannotSampleTheModelAreNamed()
    {
        const QString out = QString::fromStdString(heatlens::test::makeTempDir("unc-skip"));
        const ProgramRun skip =
            cli({"uncertainty", "--model", demoModel(), "--dataset", testImages(), "--index", "0",
                 "--methods", "saliency", "--sources", "ensemble,flipout,noise", "--samples", "4",
                 "--out", out});
        QVERIFY2(skip.exitCode == 0, qPrintable(skip.err));
        QVERIFY2(skip.err.contains("skipping ensemble") && skip.err.contains("not an ensemble"),
                 qPrintable(skip.err));
        QVERIFY2(skip.err.contains("skipping flipout"), qPrintable(skip.err));
        QVERIFY(QFile::exists(out + "/t10k-0-saliency-noise.json"));
        const ProgramRun none =
            cli({"uncertainty", "--model", demoModel(), "--dataset", testImages(), "--index", "0",
                 "--methods", "saliency", "--sources", "flipout", "--out", out});
        QCOMPARE(none.exitCode, 2);
        QVERIFY2(none.err.contains("none of the sources"), qPrintable(none.err));
        const ProgramRun unknown =
            cli({"uncertainty", "--model", demoModel(), "--dataset", testImages(), "--index", "0",
                 "--methods", "saliency", "--sources", "bayes", "--out", out});
        QVERIFY(unknown.exitCode != 0);
        QVERIFY2(unknown.err.contains("unknown uncertainty source \"bayes\""),
                 qPrintable(unknown.err));
    }

    void datasetRunResumesAfterACutWriteAndRefusesOtherOptions()
    {
        const QString out = QString::fromStdString(heatlens::test::makeTempDir("unc-resume"));
        const ProgramRun first = cli(datasetArgs(out, "4"));
        QVERIFY2(first.exitCode == 0, qPrintable(first.err));
        QVERIFY2(first.out.contains("saliency|mc-dropout") && first.out.contains("mean_cv"),
                 qPrintable(first.out));
        const auto complete = csvRows(out + "/per_image.csv");
        QCOMPARE(int(complete.size()), 8); // 4 images x 2 sources
        const QJsonObject summary = heatlens::test::readJsonObject(out + "/summary.json");
        QCOMPARE(summary["images"].toInt(), 4);
        QVERIFY(summary["combinations"]
                    .toObject()["saliency|tta"]
                    .toObject()["mean_cv"]
                    .toObject()
                    .contains("ci95"));
        // Keep two images, one row of the third and half a row: an interrupted write.
        std::string text, line;
        {
            std::ifstream in((out + "/per_image.csv").toStdString());
            for (int i = 0; i < 6 && std::getline(in, line); ++i)
                text += line + "\n";
            std::getline(in, line);
            text += line.substr(0, line.size() / 2);
        }
        heatlens::test::writeBytes((out + "/per_image.csv").toStdString(), text);
        const ProgramRun again = cli(datasetArgs(out, "4"));
        QVERIFY2(again.exitCode == 0, qPrintable(again.err));
        QVERIFY2(again.err.contains("2 already in"), qPrintable(again.err));
        const auto resumed = csvRows(out + "/per_image.csv");
        QCOMPARE(int(resumed.size()), 8);
        QCOMPARE(resumed[0], complete[0]);
        // Other options: refused, nothing replaced.
        auto other = datasetArgs(out, "4");
        other[other.indexOf("6")] = "7";
        const ProgramRun refused = cli(other);
        QCOMPARE(refused.exitCode, 2);
        QVERIFY2(refused.err.contains("run.json"), qPrintable(refused.err));
        QCOMPARE(int(csvRows(out + "/per_image.csv").size()), 8);
    }

    void ctrlCKeepsTheImagesDoneAndTheSameCommandGoesOn()
    {
        const QString out = QString::fromStdString(heatlens::test::makeTempDir("unc-ctrl-c"));
        QStringList args = datasetArgs(out, "120");
        args[args.indexOf("saliency")] = "integrated-gradients";
        QProcess process;
        process.start(HEATLENS_CLI, args);
        QVERIFY(process.waitForStarted());
        QElapsedTimer timer;
        timer.start();
        while (csvRows(out + "/per_image.csv").size() < 4 && timer.elapsed() < 120000)
            QTest::qWait(100);
        ::kill(pid_t(process.processId()), SIGINT);
        QVERIFY(process.waitForFinished(60000));
        const QString err = QString::fromUtf8(process.readAllStandardError());
        QCOMPARE(process.exitCode(), 130);
        QVERIFY2(err.contains("run the same command again"), qPrintable(err));
        const size_t done = csvRows(out + "/per_image.csv").size();
        QVERIFY2(done >= 4 && done < 240 && done % 2 == 0, qPrintable(QString::number(done)));
    }

    void shardsMergeIntoTheSummaryOfOneRun()
    {
        const QString root = QString::fromStdString(heatlens::test::makeTempDir("unc-shards"));
        const QStringList run = {"uncertainty", "--model",     demoModel(), "--dataset",
                                 testImages(),  "--limit",     "5",         "--methods",
                                 "saliency",    "--sources",   "noise",     "--samples",
                                 "4",           "--no-figures"};
        const ProgramRun single = cli(QStringList(run) << "--out" << root + "/single");
        QVERIFY2(single.exitCode == 0, qPrintable(single.err));
        for (const char *shard : {"0/2", "1/2"}) {
            const ProgramRun part =
                cli(QStringList(run) << "--shard" << shard << "--out" << root + "/parts");
            QVERIFY2(part.exitCode == 0, qPrintable(part.err));
        }
        const ProgramRun merged = cli({"merge", root + "/parts", "--out", root + "/merged"});
        QVERIFY2(merged.exitCode == 0, qPrintable(merged.err));
        // The rows but for their timings, and every statistic of the summary recomputed from
        // them, equal one process's; run.json is a whole run's.
        const auto one = csvRows(root + "/single/per_image.csv"),
                   combined = csvRows(root + "/merged/per_image.csv");
        QCOMPARE(combined.size(), one.size());
        for (size_t r = 0; r < one.size(); ++r)
            QVERIFY(std::equal(one[r].begin(), one[r].end() - 2, combined[r].begin()));
        const QJsonObject a = heatlens::test::readJsonObject(root + "/single/summary.json"),
                          b = heatlens::test::readJsonObject(root + "/merged/summary.json");
        QCOMPARE(b["images"].toInt(), 5);
        QJsonObject sa = a["combinations"].toObject()["saliency|noise"].toObject(),
                    sb = b["combinations"].toObject()["saliency|noise"].toObject();
        sa.remove("seconds");
        sb.remove("seconds");
        QVERIFY(!sa.isEmpty());
        QCOMPARE(sb, sa);
        QCOMPARE(heatlens::test::readJsonObject(root + "/merged/run.json"),
                 heatlens::test::readJsonObject(root + "/single/run.json"));
    }
};

QTEST_GUILESS_MAIN(CliUncertaintyTest)
#include "test_cli_uncertainty.moc"
