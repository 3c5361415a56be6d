// slurm_array_script_explains_and_merges_on_a_single_node_cluster: the example job array script
// (resources/cluster/explain-array.sbatch) runs on a real single-node Slurm that the test starts
// itself (Debian's slurm-wlm and munge: munged, slurmctld and slurmd on localhost, no cgroups,
// on ports of their own), each array task explains its shard, and heatlens-cli merge combines the
// shards into the files of one run. Where the daemons cannot start the test says why and skips.
#include "core/model/Zoo.h"
#include "tests/support/TestSupport.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QStandardPaths>
#include <QTest>
#include <QThread>

#include <filesystem>
#include <fstream>
#include <memory>

#include <unistd.h>

using heatlens::test::ProgramRun;

namespace {

QString tool(const char *name)
{
    return QStandardPaths::findExecutable(QString::fromLatin1(name),
                                          {"/usr/sbin", "/usr/bin", "/sbin", "/bin"});
}

QString tail(const QString &path, int lines = 6)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return QStringLiteral("(no log at %1)").arg(path);
    const QStringList all = QString::fromUtf8(file.readAll()).split('\n', Qt::SkipEmptyParts);
    return all.mid(std::max<qsizetype>(0, all.size() - lines)).join('\n');
}

std::string bytes(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
}

} // namespace

class SlurmArrayTest : public QObject
{
    Q_OBJECT

public:
    ~SlurmArrayTest() override { stop(); }

private Q_SLOTS:
    void cleanupTestCase() { stop(); }

    void arrayTasksExplainTheirShardsAndMergeIntoOneRun()
    {
        for (const char *name : {"munged", "mungekey", "slurmctld", "slurmd", "sbatch", "sinfo"})
            if (tool(name).isEmpty())
                QSKIP(qPrintable(QString("%1 is not installed (Debian's slurm-wlm and munge; "
                                         "./setup.sh test installs them)")
                                     .arg(name)));
        m_dir = QString::fromStdString(heatlens::test::makeTempDir("slurm"));
        const QString d = m_dir;
        QDir().mkpath(d + "/state");
        QDir().mkpath(d + "/spool");
        // munge: a key and a daemon of our own, on a socket of our own.
        if (QProcess::execute(tool("mungekey"), {"-c", "-k", d + "/munge.key"}) != 0)
            QSKIP("mungekey could not make a key here");
        QFile::setPermissions(d + "/munge.key", QFile::ReadOwner | QFile::WriteOwner);
        const int munged = QProcess::execute(
            tool("munged"), {"--key-file=" + d + "/munge.key", "--socket=" + d + "/munge.socket",
                             "--pid-file=" + d + "/munged.pid", "--log-file=" + d + "/munged.log",
                             "--seed-file=" + d + "/munge.seed", "--force"});
        if (munged != 0)
            QSKIP(qPrintable("munged could not start here:\n" + tail(d + "/munged.log")));
        // Slurm on this host alone, as this user, on ports from this process's id.
        char name[256] = {};
        gethostname(name, sizeof(name) - 1);
        const QString host = QString::fromLocal8Bit(name).section('.', 0, 0);
        const int port = 20000 + int(getpid() % 20000);
        const QString user = qEnvironmentVariable("USER", "root");
        QFile conf(d + "/slurm.conf");
        QVERIFY(conf.open(QIODevice::WriteOnly));
        conf.write(QString("ClusterName=heatlens\nSlurmctldHost=%1\nSlurmUser=%2\nSlurmdUser=%2\n"
                           "SlurmctldPort=%3\nSlurmdPort=%4\nAuthType=auth/munge\n"
                           "AuthInfo=socket=%5/munge.socket\nCredType=cred/munge\n"
                           "StateSaveLocation=%5/state\nSlurmdSpoolDir=%5/spool\n"
                           "SlurmctldPidFile=%5/slurmctld.pid\nSlurmdPidFile=%5/slurmd.pid\n"
                           "SlurmctldLogFile=%5/slurmctld.log\nSlurmdLogFile=%5/slurmd.log\n"
                           "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n"
                           "JobAcctGatherType=jobacct_gather/none\n"
                           "AccountingStorageType=accounting_storage/none\n"
                           "SelectType=select/cons_tres\nSelectTypeParameters=CR_CPU\n"
                           "MpiDefault=none\nSwitchType=switch/none\nReturnToService=2\n"
                           "NodeName=%1 CPUs=2 State=UNKNOWN\n"
                           "PartitionName=test Nodes=%1 Default=YES MaxTime=INFINITE State=UP\n")
                       .arg(host, user)
                       .arg(port)
                       .arg(port + 1)
                       .arg(d)
                       .toUtf8());
        conf.close();
        m_env = QProcessEnvironment::systemEnvironment();
        m_env.insert("SLURM_CONF", d + "/slurm.conf");
        for (const char *name : {"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "SLURM_JOB_ID"})
            m_env.remove(name);
        for (const char *daemon : {"slurmctld", "slurmd"}) {
            auto process = std::make_unique<QProcess>();
            process->setProcessEnvironment(m_env);
            process->start(tool(daemon), {"-D", "-f", d + "/slurm.conf"});
            QVERIFY(process->waitForStarted());
            m_daemons.push_back(std::move(process));
            QThread::msleep(1500);
        }
        bool idle = false;
        for (int t = 0; t < 40 && !idle; ++t) {
            QProcess sinfo;
            sinfo.setProcessEnvironment(m_env);
            sinfo.start(tool("sinfo"), {"-h", "-o", "%T"});
            sinfo.waitForFinished(5000);
            idle = sinfo.readAllStandardOutput().trimmed() == "idle";
            if (!idle)
                QThread::msleep(500);
        }
        if (!idle)
            QSKIP(qPrintable("the Slurm daemons did not start on this machine:\n" +
                             tail(d + "/slurmctld.log") + "\n" + tail(d + "/slurmd.log")));

        // The example script as a 3-task array, as a user submits it; --wait returns when done.
        const QString model = QString::fromStdString(heatlens::demoModelPath("demo-cnn"));
        const QString images =
            QString::fromStdString(heatlens::demoDatasetPath() + "/t10k-images-idx3-ubyte.gz");
        QProcessEnvironment job = m_env;
        job.insert("HEATLENS_CLI", HEATLENS_CLI);
        job.insert("METHODS", "saliency,grad-cam");
        const ProgramRun sbatch = heatlens::test::runProgram(
            tool("sbatch"),
            {"--wait", "--array=0-2", "--mem=0", "--chdir=" + d,
             QString(HEATLENS_SOURCE_DIR) + "/resources/cluster/explain-array.sbatch", model,
             images, d + "/out", "--limit", "45"},
            job);
        QVERIFY2(sbatch.exitCode == 0,
                 qPrintable(sbatch.out + sbatch.err + "\n" + tail(d + "/slurmctld.log")));
        for (int i = 0; i < 3; ++i)
            QVERIFY2(QFile::exists(QString("%1/out/shard-%2-of-3/index.csv").arg(d).arg(i)),
                     qPrintable(QDir(d).entryList().join(' ')));
        const ProgramRun merged =
            heatlens::test::runProgram(HEATLENS_CLI, {"merge", d + "/out", "--out", d + "/merged"});
        QVERIFY2(merged.exitCode == 0, qPrintable(merged.err));
        // One process over the same images writes the same stacks and run.json.
        QProcessEnvironment plain = QProcessEnvironment::systemEnvironment();
        plain.remove("SLURM_ARRAY_TASK_ID");
        plain.remove("JOB_COMPLETION_INDEX");
        const ProgramRun single = heatlens::test::runProgram(
            HEATLENS_CLI,
            {"explain", "--model", model, "--dataset", images, "--methods", "saliency,grad-cam",
             "--threads", "2", "--out", d + "/single", "--limit", "45"},
            plain);
        QVERIFY2(single.exitCode == 0, qPrintable(single.err));
        const std::string root = d.toStdString();
        for (const char *file : {"saliency.npy", "grad-cam.npy", "run.json"})
            QVERIFY2(bytes(root + "/single/" + file) == bytes(root + "/merged/" + file), file);
        // The tasks' logs, kept beside the results (the note quotes one).
        QVERIFY(!QDir(d).entryList({"heatlens-explain-*.log"}).isEmpty());
    }

private:
    void stop()
    {
        for (auto &process : m_daemons) {
            process->terminate();
            if (!process->waitForFinished(5000))
                process->kill();
        }
        m_daemons.clear();
        QFile pid(m_dir + "/munged.pid");
        if (!m_dir.isEmpty() && pid.open(QIODevice::ReadOnly))
            QProcess::execute("kill", {QString::fromUtf8(pid.readAll()).trimmed()});
    }

    QString m_dir;
    QProcessEnvironment m_env;
    std::vector<std::unique_ptr<QProcess>> m_daemons;
};

QTEST_MAIN(SlurmArrayTest)
#include "test_slurm_array.moc"
