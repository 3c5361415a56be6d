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
#include <string>
#include <thread>
#include <vector>

using heatlens::Cancelled;
using heatlens::JobContext;
using heatlens::ui::JobRunner;

namespace {

// Work that runs until cancelled (or ~5 s), reporting progress.
std::string spinUntilCancelled(const JobContext &ctx, std::atomic<bool> &started)
{
    started = true;
    for (int i = 0; i < 500; ++i) {
        ctx.throwIfCancelled();
        ctx.report(i / 500.0, "spinning");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return "finished";
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
            runner.request<int>("slot", "threads", &context)
                .work([](const JobContext &) { return at::get_num_threads(); })
                .onDone([&](int threads) { seen = threads; })
                .submit();
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

    void deliversTheTypedResultOnTheGuiThread()
    {
        JobRunner runner;
        QObject context;
        QThread *deliveredOn = nullptr;
        std::vector<int> value;
        runner.request<std::vector<int>>("slot", "answer", &context)
            .work([](const JobContext &) {
                return std::vector<int>{4, 2};
            })
            .onDone([&](std::vector<int> r) {
                value = std::move(r);
                deliveredOn = QThread::currentThread();
            })
            .submit();
        QTRY_COMPARE(value, (std::vector<int>{4, 2}));
        QCOMPARE(deliveredOn, QThread::currentThread());
    }

    void typedPartialResultsArriveBeforeTheResultAndOthersAreIgnored()
    {
        JobRunner runner;
        QObject context;
        std::vector<std::string> seen;
        bool done = false;
        runner.request<void>("slot", "partials", &context)
            .work([](const JobContext &ctx) {
                ctx.reportPartialResult(0.3, std::string("first"));
                ctx.reportPartialResult(0.5, 12); // another type: not for this handler
                ctx.reportPartialResult(0.7, std::string("second"));
            })
            .onPartial<std::string>([&](const std::string &p) { seen.push_back(p); })
            .onDone([&] { done = true; })
            .submit();
        QTRY_VERIFY(done);
        QCOMPARE(seen, (std::vector<std::string>{"first", "second"}));
    }

    void aKeyInFlightIsNotSubmittedAgainAndAnotherKeySupersedesIt()
    {
        JobRunner runner;
        QObject context;
        std::atomic<bool> started{false};
        std::atomic<int> runs{0};
        std::string firstResult;
        auto spin = [&](const std::string &key) {
            return runner.request<std::string>("curves", QString::fromStdString(key), &context)
                .key(key)
                .work([&](const JobContext &ctx) {
                    ++runs;
                    return spinUntilCancelled(ctx, started);
                })
                .onDone([&](std::string r) { firstResult = r; })
                .submit();
        };
        QVERIFY(!runner.isInFlight("curves"));
        QVERIFY(spin("a"));
        QVERIFY(runner.isInFlight("curves", "a"));
        QTRY_VERIFY(started.load());
        QVERIFY(!spin("a")); // computing exactly this already
        QCOMPARE(runs.load(), 1);
        QVERIFY(runner.isInFlight("curves", "a"));
        QVERIFY(!runner.isInFlight("curves", "b"));
        QVERIFY(!runner.isInFlight("other"));

        int second = 0;
        QVERIFY(runner.request<int>("curves", "b", &context)
                    .key("b")
                    .work([](const JobContext &) { return 2; })
                    .onDone([&](int r) { second = r; })
                    .submit());
        QVERIFY(!runner.isInFlight("curves", "a"));
        QVERIFY(runner.isInFlight("curves", "b"));
        QTRY_COMPARE(second, 2);
        QVERIFY(firstResult.empty()); // cancelled, never delivered
        QVERIFY(!runner.isInFlight("curves"));

        QVERIFY(spin("a"));
        runner.cancel("curves");
        QVERIFY(!runner.isInFlight("curves")); // at once, even if the job lingers a moment
        QTRY_VERIFY(!runner.isBusy());
        QVERIFY(firstResult.empty());
    }

    void aFailedKeyedJobIsNoLongerInFlight()
    {
        JobRunner runner;
        QObject context;
        QString message;
        runner.request<int>("x", "failing", &context)
            .key("k")
            .work([](const JobContext &) -> int { throw std::runtime_error("no"); })
            .onFailed([&](const QString &m) { message = m; })
            .submit();
        QTRY_COMPARE(message, QString("no"));
        QVERIFY(!runner.isInFlight("x", "k"));
    }

    void newJobInSameSlotSupersedesRunningOne()
    {
        JobRunner runner;
        QObject context;
        QSignalSpy cancelled(&runner, &JobRunner::cancelled);
        std::atomic<bool> started{false};
        bool firstDone = false;
        int second = 0;
        runner.request<std::string>("explain", "first", &context)
            .work([&](const JobContext &ctx) { return spinUntilCancelled(ctx, started); })
            .onDone([&](std::string) { firstDone = true; })
            .submit();
        QTRY_VERIFY(started.load());
        runner.request<int>("explain", "second", &context)
            .work([](const JobContext &) { return 2; })
            .onDone([&](int r) { second = r; })
            .submit();
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
            runner.request<int>(slot, slot, &context)
                .work([](const JobContext &) { return 1; })
                .onDone([&](int) { ++done; })
                .submit();
        QTRY_COMPARE(done, 3);
    }

    void cancelAllStopsTheRunningJob()
    {
        JobRunner runner;
        QObject context;
        std::atomic<bool> started{false};
        bool done = false;
        QSignalSpy busy(&runner, &JobRunner::busyChanged);
        runner.request<std::string>("x", "spin", &context)
            .work([&](const JobContext &ctx) { return spinUntilCancelled(ctx, started); })
            .onDone([&](std::string) { done = true; })
            .submit();
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
        runner.request<int>("x", "failing", &context)
            .work([](const JobContext &) -> int {
                throw std::runtime_error("model.pt: not a TorchScript archive");
            })
            .onFailed([&](const QString &m) { message = m; })
            .submit();
        QTRY_COMPARE(message, QString("model.pt: not a TorchScript archive"));
    }

    void resultIsDroppedWhenTheReceiverIsGone()
    {
        JobRunner runner;
        auto *context = new QObject;
        std::atomic<bool> release{false};
        bool delivered = false;
        runner.request<int>("x", "slow", context)
            .work([&](const JobContext &) {
                while (!release)
                    std::this_thread::sleep_for(std::chrono::milliseconds(5));
                return 1;
            })
            .onDone([&](int) { delivered = true; })
            .submit();
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
            runner.request<int>(QString::number(i % 4), "short", context)
                .work([fails, spin](const JobContext &) {
                    const auto end = std::chrono::steady_clock::now() + spin;
                    while (std::chrono::steady_clock::now() < end) {
                    }
                    if (fails)
                        throw std::runtime_error("fails on purpose");
                    return 1;
                })
                .onDone([&](int) { ++delivered; })
                .onFailed([&](const QString &) { ++failedCount; })
                .submit();
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
        runner.request<void>("x", "steps", &context)
            .work([](const JobContext &ctx) {
                for (int i = 1; i <= 5; ++i) {
                    ctx.report(i / 5.0, "step");
                    std::this_thread::sleep_for(std::chrono::milliseconds(40));
                }
            })
            .onDone([&] { done = true; })
            .submit();
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
            runner.request<std::string>("x", "spin", &context)
                .work([&](const JobContext &ctx) { return spinUntilCancelled(ctx, started); })
                .submit();
            QTRY_VERIFY(started.load());
            timer.start();
        }
        // The job would run 5 s if it were not cancelled; joining must not wait for that.
        QVERIFY2(timer.elapsed() < 3000, qPrintable(QString::number(timer.elapsed())));
    }
};

QTEST_MAIN(JobRunnerTest)
#include "test_job_runner.moc"
