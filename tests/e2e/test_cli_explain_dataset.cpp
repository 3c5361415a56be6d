// cli_explains_a_dataset_into_stacks_and_resumes: heatlens-cli explain over many images writes one
// [N, H, W] float32 stack per method whose maps are those of one-image runs, an index.csv row per
// image, overlays on request; a run cut mid-file (a partial last row) resumes where it stopped
// without redoing or losing a map; a folder of another run is refused by name, --force starts over.
#include "core/io/Csv.h"
#include "core/io/Npy.h"
#include "core/model/Zoo.h"
#include "tests/support/TestSupport.h"

#include <QFile>
#include <QProcess>
#include <QProcessEnvironment>
#include <QTest>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>

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

QString demoCnn()
{
    return QString::fromStdString(heatlens::demoModelPath("demo-cnn"));
}

QString testImages()
{
    return QString::fromStdString(heatlens::demoDatasetPath() + "/t10k-images-idx3-ubyte.gz");
}

std::vector<std::vector<std::string>> csvRows(const std::string &path)
{
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    std::vector<std::vector<std::string>> rows;
    while (std::getline(in, line))
        if (auto fields = heatlens::parseCsvLine(line))
            rows.push_back(*fields);
    return rows;
}

double maxDifference(const cv::Mat &a, const cv::Mat &b)
{
    return a.size() == b.size() ? cv::norm(a, b, cv::NORM_INF) : INFINITY;
}

} // namespace

class CliExplainDatasetTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        if (!std::filesystem::exists(demoCnn().toStdString()))
            QFAIL("demo-cnn is not trained: run heatlens-cli zoo");
    }

    void stacksIndexOverlaysAndAResumedRun()
    {
        const std::string out = heatlens::test::makeTempDir("explain-many");
        const QStringList args = {"explain",    "--model",    demoCnn(),
                                  "--dataset",  testImages(), "--indices",
                                  "3,7,20-29",  "--methods",  "saliency,grad-cam",
                                  "--overlays", "--out",      QString::fromStdString(out)};
        const ProgramRun first = cli(args);
        QVERIFY2(first.exitCode == 0, qPrintable(first.err));
        const std::string index = out + "/index.csv";
        auto rows = csvRows(index);
        QCOMPARE(int(rows.size()), 12);
        QCOMPARE(rows[1][0], std::string("1")); // position 1 is dataset index 7
        QCOMPARE(rows[1][1], std::string("7"));
        QCOMPARE(rows[1][2], std::string("t10k/7"));
        // Every map is the one a one-image run writes.
        const std::string one = heatlens::test::makeTempDir("explain-one");
        for (const char *method : {"saliency", "grad-cam"}) {
            size_t count = 0;
            const cv::Mat stacked =
                heatlens::readNpyStackMap(out + "/" + method + ".npy", 1, &count);
            QCOMPARE(count, size_t(12));
            const ProgramRun single =
                cli({"explain", "--model", demoCnn(), "--dataset", testImages(), "--index", "7",
                     "--method", method, "--out", QString::fromStdString(one)});
            QVERIFY2(single.exitCode == 0, qPrintable(single.err));
            const cv::Mat alone = heatlens::readNpy(one + "/t10k-7-" + method + ".npy");
            QVERIFY2(maxDifference(stacked, alone) < 1e-6, method);
            QVERIFY(
                QFile::exists(QString::fromStdString(out + "/overlays/t10k-7-" + method + ".png")));
        }
        const cv::Mat before = heatlens::readNpyStackMap(out + "/saliency.npy", 11);

        // A cut run: the last two rows gone and a partial one left; the same command goes on.
        {
            std::ifstream in(index);
            std::string text((std::istreambuf_iterator<char>(in)), {});
            for (int cut = 0; cut < 2; ++cut)
                text.erase(text.rfind('\n', text.size() - 2) + 1);
            text += "10,27,t10k/2"; // no line break: cut while writing
            std::ofstream(index, std::ios::trunc) << text;
        }
        const ProgramRun resumed = cli(args);
        QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.err));
        QVERIFY2(resumed.err.contains("10 already in"), qPrintable(resumed.err));
        QVERIFY2(resumed.out.contains("explained 2 images"), qPrintable(resumed.out));
        rows = csvRows(index);
        QCOMPARE(int(rows.size()), 12);
        QCOMPARE(rows.back()[1], std::string("29"));
        QCOMPARE(maxDifference(heatlens::readNpyStackMap(out + "/saliency.npy", 11), before), 0.0);

        // Another run in the same folder is refused, naming run.json; --force starts over.
        QStringList other = args;
        other[other.indexOf("saliency,grad-cam")] = "saliency";
        const ProgramRun refused = cli(other);
        QVERIFY(refused.exitCode != 0);
        QVERIFY2(refused.err.contains("run.json"), qPrintable(refused.err));
        const ProgramRun forced = cli(other << "--force");
        QVERIFY2(forced.exitCode == 0, qPrintable(forced.err));
        QVERIFY(!std::filesystem::exists(out + "/grad-cam.npy"));
        QCOMPARE(int(csvRows(index).size()), 12);
        // Options of many images without a dataset are named.
        const ProgramRun wrong =
            cli({"explain", "--model", demoCnn(), "--dataset", testImages(), "--index", "3",
                 "--methods", "saliency", "--out", QString::fromStdString(one)});
        QVERIFY(wrong.exitCode != 0);
        QVERIFY2(wrong.err.contains("--methods"), qPrintable(wrong.err));
    }

    void shardsFromEveryLauncherMergeIntoTheFilesOfOneRun()
    {
        const std::string dir = heatlens::test::makeTempDir("explain-shards");
        const QString root = QString::fromStdString(dir);
        const QStringList run = {"explain",   "--model",    demoCnn(),
                                 "--dataset", testImages(), "--limit",
                                 "30",        "--methods",  "saliency,grad-cam"};
        const ProgramRun single = cli(QStringList(run) << "--out" << root + "/single");
        QVERIFY2(single.exitCode == 0, qPrintable(single.err));
        // Three shards as three concurrent processes: --shard, a Slurm array task (ids 4..6)
        // and a Kubernetes indexed job, all given the same --out.
        const QString parts = root + "/parts";
        QProcessEnvironment plain = QProcessEnvironment::systemEnvironment();
        for (const char *name : {"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"})
            plain.remove(name);
        QProcessEnvironment slurm = plain;
        slurm.insert("SLURM_ARRAY_TASK_ID", "5");
        slurm.insert("SLURM_ARRAY_TASK_MIN", "4");
        slurm.insert("SLURM_ARRAY_TASK_MAX", "6");
        QProcessEnvironment kubernetes = plain;
        kubernetes.insert("JOB_COMPLETION_INDEX", "2");
        std::vector<std::unique_ptr<QProcess>> processes;
        for (const auto &[extra, env] : std::vector<std::pair<QStringList, QProcessEnvironment>>{
                 {{"--shard", "0/3"}, plain}, {{}, slurm}, {{"--shards", "3"}, kubernetes}}) {
            auto process = std::make_unique<QProcess>();
            process->setProcessEnvironment(env);
            process->start(HEATLENS_CLI, QStringList(run) << extra << "--out" << parts);
            processes.push_back(std::move(process));
        }
        for (auto &p : processes) {
            QVERIFY(p->waitForFinished(300000));
            QVERIFY2(p->exitCode() == 0, p->readAllStandardError().constData());
        }
        for (int i = 0; i < 3; ++i)
            QVERIFY(std::filesystem::exists(dir + "/parts/shard-" + std::to_string(i) +
                                            "-of-3/index.csv"));
        const ProgramRun merged = cli({"merge", parts, "--out", root + "/merged"});
        QVERIFY2(merged.exitCode == 0, qPrintable(merged.err));
        // Exactly the files of one run: the same stacks and run.json byte for byte, the same
        // index.csv but for the timings.
        auto bytes = [](const std::string &path) {
            std::ifstream in(path, std::ios::binary);
            return std::string((std::istreambuf_iterator<char>(in)), {});
        };
        for (const char *file : {"saliency.npy", "grad-cam.npy", "run.json"})
            QVERIFY2(bytes(dir + "/single/" + file) == bytes(dir + "/merged/" + file), file);
        const auto one = csvRows(dir + "/single/index.csv"),
                   combined = csvRows(dir + "/merged/index.csv");
        QCOMPARE(combined.size(), one.size());
        for (size_t r = 0; r < one.size(); ++r)
            QVERIFY(std::equal(one[r].begin(), one[r].begin() + 7, combined[r].begin()));

        // Shards of another run, and a missing shard, are refused by name.
        const ProgramRun other =
            cli({"explain", "--model", demoCnn(), "--dataset", testImages(), "--limit", "30",
                 "--methods", "saliency", "--shard", "1/3", "--out", root + "/other"});
        QVERIFY2(other.exitCode == 0, qPrintable(other.err));
        const ProgramRun mixed =
            cli({"merge", parts + "/shard-0-of-3", root + "/other/shard-1-of-3",
                 parts + "/shard-2-of-3", "--out", root + "/mixed"});
        QVERIFY(mixed.exitCode != 0);
        QVERIFY2(mixed.err.contains("methods"), qPrintable(mixed.err));
        const ProgramRun missing =
            cli({"merge", parts + "/shard-0-of-3", parts + "/shard-2-of-3", "--out", root + "/m"});
        QVERIFY(missing.exitCode != 0);
        QVERIFY2(missing.err.contains("shard 1 of 3 is missing"), qPrintable(missing.err));
    }
};

QTEST_MAIN(CliExplainDatasetTest)
#include "test_cli_explain_dataset.moc"
