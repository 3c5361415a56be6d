#include "ui/JobRunner.h"
#include "ui/ThreadsMenu.h"

#include "core/model/Threads.h"

#include <ATen/Parallel.h>

#include <QElapsedTimer>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTest>

#include <atomic>
#include <chrono>
#include <thread>

using heatlens::Cancelled;
using heatlens::JobContext;
using heatlens::ui::JobRunner;

namespace {

// Work that runs until cancelled (or ~5 s), reporting progress.
std::any spinUntilCancelled(const JobContext &ctx, std::atomic<bool> &started)
{
    started = true;
    for (int i = 0; i < 500; ++i) {
        ctx.throwIfCancelled();
        ctx.report(i / 500.0, "spinning");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::string("finished");
}

} // namespace

class JobRunnerTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true); // keep the user's settings out of it
    }

    void threadSettingReachesTheWorkerAndIsSaved()
    {
        JobRunner runner;
        QObject context;
        heatlens::ui::ThreadsMenu menu;
        QSignalSpy messages(&menu, &heatlens::ui::ThreadsMenu::message);
        int seen = 0; // at::get_num_threads() on the worker
        auto probe = [&] {
            seen = 0;
            runner.submit({"slot",
                           "threads",
                           [](const JobContext &) -> std::any { return at::get_num_threads(); },
                           &context,
                           [&](std::any r) { seen = std::any_cast<int>(r); },
                           {}});
        };
        menu.choose(1);
        probe();
        QTRY_COMPARE(seen, 1);
        QCOMPARE(messages.count(), 1);
        QVERIFY2(messages[0][0].toString().contains("1 thread (as set)"),
                 qPrintable(messages[0][0].toString()));
        QCOMPARE(QSettings().value("compute/threads").toInt(), 1);
        int checked = -1;
        for (QAction *a : menu.actions())
            if (a->isChecked())
                checked = a->data().toInt();
        QCOMPARE(checked, 1);
        menu.choose(0); // automatic: one per usable CPU
        probe();
        QTRY_COMPARE(seen, heatlens::cpuBudget().usable);
        QVERIFY(heatlens::ui::ThreadsMenu::applySaved().contains("one per usable CPU"));
    }

    void deliversResultOnTheGuiThread()
    {
        JobRunner runner;
        QObject context;
        QThread *deliveredOn = nullptr;
        int value = 0;
        runner.submit({"slot",
                       "answer",
                       [](const JobContext &) -> std::any { return 42; },
                       &context,
                       [&](std::any r) {
                           value = std::any_cast<int>(r);
                           deliveredOn = QThread::currentThread();
                       },
                       {}});
        QTRY_COMPARE(value, 42);
        QCOMPARE(deliveredOn, QThread::currentThread());
    }

    void newJobInSameSlotSupersedesRunningOne()
    {
        JobRunner runner;
        QObject context;
        QSignalSpy cancelled(&runner, &JobRunner::cancelled);
        std::atomic<bool> started{false};
        bool firstDone = false;
        int second = 0;
        runner.submit({"explain",
                       "first",
                       [&](const JobContext &ctx) { return spinUntilCancelled(ctx, started); },
                       &context,
                       [&](std::any) { firstDone = true; },
                       {}});
        QTRY_VERIFY(started.load());
        runner.submit({"explain",
                       "second",
                       [](const JobContext &) -> std::any { return 2; },
                       &context,
                       [&](std::any r) { second = std::any_cast<int>(r); },
                       {}});
        QTRY_COMPARE(second, 2);
        QVERIFY(!firstDone);
        QTRY_COMPARE(cancelled.count(), 1);
        QCOMPARE(cancelled.at(0).at(0).toString(), QString("first"));
    }

    void jobsInOtherSlotsAreNotCancelled()
    {
        JobRunner runner;
        QObject context;
        int done = 0;
        for (const char *slot : {"a", "b", "c"})
            runner.submit({slot,
                           slot,
                           [](const JobContext &) -> std::any { return 1; },
                           &context,
                           [&](std::any) { ++done; },
                           {}});
        QTRY_COMPARE(done, 3);
    }

    void cancelAllStopsTheRunningJob()
    {
        JobRunner runner;
        QObject context;
        std::atomic<bool> started{false};
        bool done = false;
        QSignalSpy busy(&runner, &JobRunner::busyChanged);
        runner.submit({"x",
                       "spin",
                       [&](const JobContext &ctx) { return spinUntilCancelled(ctx, started); },
                       &context,
                       [&](std::any) { done = true; },
                       {}});
        QTRY_VERIFY(started.load());
        runner.cancelAll();
        QTRY_VERIFY(!runner.isBusy());
        QTRY_VERIFY(busy.count() >= 2); // busy, then idle
        QCOMPARE(busy.last().at(0).toBool(), false);
        QVERIFY(!done);
    }

    void errorsReachTheFailureHandlerWithTheMessage()
    {
        JobRunner runner;
        QObject context;
        QString message;
        runner.submit({"x", "failing",
                       [](const JobContext &) -> std::any {
                           throw std::runtime_error("model.pt: not a TorchScript archive");
                       },
                       &context, [](std::any) {}, [&](const QString &m) { message = m; }});
        QTRY_COMPARE(message, QString("model.pt: not a TorchScript archive"));
    }

    void resultIsDroppedWhenTheReceiverIsGone()
    {
        JobRunner runner;
        auto *context = new QObject;
        std::atomic<bool> release{false};
        bool delivered = false;
        runner.submit({"x",
                       "slow",
                       [&](const JobContext &) -> std::any {
                           while (!release)
                               std::this_thread::sleep_for(std::chrono::milliseconds(5));
                           return 1;
                       },
                       context,
                       [&](std::any) { delivered = true; },
                       {}});
        delete context;
        release = true;
        QTRY_VERIFY(!runner.isBusy());
        QTest::qWait(50);
        QVERIFY(!delivered);
    }

    // The worker must never touch a receiver the GUI thread deletes while its job ends: posting
    // results to the receiver itself crashed once in CI (invokeMethod on the deleted object).
    void receiverDeletedWhileItsJobEndsIsNeverTouched()
    {
        JobRunner runner;
        int delivered = 0, failedCount = 0;
        for (int i = 0; i < 300; ++i) {
            auto *context = new QObject;
            const bool fails = i % 3 == 0;
            const auto spin = std::chrono::microseconds((i * 37) % 400);
            runner.submit({QString::number(i % 4), "short",
                           [fails, spin](const JobContext &) -> std::any {
                               const auto end = std::chrono::steady_clock::now() + spin;
                               while (std::chrono::steady_clock::now() < end) {
                               }
                               if (fails)
                                   throw std::runtime_error("fails on purpose");
                               return 1;
                           },
                           context, [&](std::any) { ++delivered; },
                           [&](const QString &) { ++failedCount; }});
            std::this_thread::sleep_for(spin); // delete about when the job ends
            delete context;
            if (i % 10 == 0)
                QCoreApplication::processEvents();
        }
        QTRY_VERIFY(!runner.isBusy());
        QTest::qWait(50);
        QCOMPARE(delivered, 0); // every receiver was deleted before the GUI thread saw a result
        QCOMPARE(failedCount, 0);
    }

    void progressIsReported()
    {
        JobRunner runner;
        QObject context;
        QSignalSpy progress(&runner, &JobRunner::progress);
        bool done = false;
        runner.submit({"x",
                       "steps",
                       [](const JobContext &ctx) -> std::any {
                           for (int i = 1; i <= 5; ++i) {
                               ctx.report(i / 5.0, "step");
                               std::this_thread::sleep_for(std::chrono::milliseconds(40));
                           }
                           return 0;
                       },
                       &context,
                       [&](std::any) { done = true; },
                       {}});
        QTRY_VERIFY(done);
        QVERIFY(progress.count() >= 2);
        QCOMPARE(progress.last().at(1).toDouble(), 1.0);
    }

    void destructorCancelsAndJoinsTheWorker()
    {
        std::atomic<bool> started{false};
        QElapsedTimer timer;
        {
            JobRunner runner;
            QObject context;
            runner.submit({"x",
                           "spin",
                           [&](const JobContext &ctx) { return spinUntilCancelled(ctx, started); },
                           &context,
                           [](std::any) {},
                           {}});
            QTRY_VERIFY(started.load());
            timer.start();
        }
        // The job would run 5 s if it were not cancelled; joining must not wait for that.
        QVERIFY2(timer.elapsed() < 3000, qPrintable(QString::number(timer.elapsed())));
    }
};

QTEST_MAIN(JobRunnerTest)
#include "test_job_runner.moc"
