#include "core/model/Threads.h"
#include "core/model/TorchRuntime.h"

#include <ATen/Parallel.h>

#include <QTest>

#include <cstdlib>
#include <thread>

using namespace heatlens;

class ThreadsTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void cgroupQuotasAreParsed()
    {
        QVERIFY(!quotaFromCpuMax("max 100000\n"));
        QCOMPARE(*quotaFromCpuMax("150000 100000\n"), 1.5);
        QCOMPARE(*quotaFromCpuMax("50000 100000"), 0.5);
        QVERIFY(!quotaFromCpuMax(""));
        QVERIFY(!quotaFromCpuMax("garbage"));
        QVERIFY(!quotaFromCpuMax("100000 0"));
        QVERIFY(!quotaFromCfs("-1\n", "100000\n")); // v1: no quota
        QCOMPARE(*quotaFromCfs("200000\n", "100000\n"), 2.0);
        QVERIFY(!quotaFromCfs("", ""));
    }

    void cgroupPathsAreFoundPerController()
    {
        const std::string v2 = "0::/user.slice/session-3.scope\n";
        QCOMPARE(*cgroupPath(v2, ""), std::string("/user.slice/session-3.scope"));
        QVERIFY(!cgroupPath(v2, "cpu"));
        const std::string v1 = "12:cpuset:/\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/x\n";
        QCOMPARE(*cgroupPath(v1, "cpu"), std::string("/docker/abc"));
        QVERIFY(!cgroupPath(v1, "")); // no unified line
        QVERIFY(!cgroupPath(v1, "memory"));
        QVERIFY(!cgroupPath("garbage", "cpu"));
    }

    void budgetIsBetweenOneAndTheAffinityMask()
    {
        const CpuBudget budget = cpuBudget();
        QVERIFY(budget.affinity >= 1);
        QVERIFY(budget.usable >= 1 && budget.usable <= budget.affinity);
        if (budget.quota > 0)
            QVERIFY(budget.usable <= int(budget.quota) + 1);
        QVERIFY(budget.describe().find("usable") != std::string::npos);
    }

    void configuringSetsLibTorchAndBlasThreads()
    {
        ThreadSettings one = configureThreads(1);
        QCOMPARE(one.intraOp, 1);
        QVERIFY(one.requested);
        QCOMPARE(at::get_num_threads(), 1);
        QVERIFY2(one.describe().find("1 thread (as set)") != std::string::npos,
                 one.describe().c_str());
        if (blasThreads() >= 0)
            QCOMPARE(blasThreads(), 1);

        ThreadSettings automatic = configureThreads(0);
        QVERIFY(!automatic.requested);
        QCOMPARE(automatic.intraOp, cpuBudget().usable);
        QCOMPARE(at::get_num_threads(), automatic.intraOp);
        // The test environment lets idle OpenMP threads sleep, as the launchers do; then
        // OpenBLAS gets as many threads as LibTorch, else one.
        QCOMPARE(automatic.passiveWait, openMpWaitIsPassive());
        if (blasThreads() >= 0)
            QCOMPARE(blasThreads(), automatic.passiveWait ? automatic.intraOp : 1);
        QCOMPARE(currentThreadSettings().intraOp, automatic.intraOp);
    }

    void aRequestReachesAWorkerThreadBeforeItsNextJob()
    {
        configureThreads(2);
        int before = 0, after = 0;
        std::thread worker([&] {
            applyThreadSettingsHere();
            before = at::get_num_threads();
            requestThreads(1); // as the viewer's menu does, from another thread
            applyThreadSettingsHere();
            after = at::get_num_threads();
        });
        worker.join();
        QCOMPARE(before, 2);
        QCOMPARE(after, 1);
        QCOMPARE(at::get_num_threads(), 2); // this thread has not applied it yet
        applyThreadSettingsHere();
        QCOMPARE(at::get_num_threads(), 1);
        configureThreads(0);
    }
};

QTEST_GUILESS_MAIN(ThreadsTest)
#include "test_threads.moc"
