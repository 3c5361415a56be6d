// viewer_stays_responsive_and_bounded: the GUI thread keeps up while the Compare grid fills and
// curves stream, "Predict all images" over the 70,000 Fashion-MNIST images adds memory bounded by
// its batch (not by the dataset), and a storm of 1,000 re-requests ends on the last one's result
// without growing resident memory. The figures are printed (qInfo) for the benchmark notes; the
// asserted bounds are generous because these machines are shared and noisy.
#include "core/explain/MethodRegistry.h"
#include "core/model/Zoo.h"
#include "tests/support/TestSupport.h"
#include "ui/CompareView.h"
#include "ui/CurvesView.h"
#include "ui/ExplainView.h"
#include "ui/HeatmapView.h"
#include "ui/JobRunner.h"
#include "ui/MainWindow.h"
#include "ui/Session.h"

#include <QAction>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QMenu>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTest>
#include <QTimer>

#include <algorithm>
#include <fstream>
#include <random>
#include <string>

using namespace heatlens;
using heatlens::ui::CompareView;
using heatlens::ui::CurvesView;
using heatlens::ui::MainWindow;
using heatlens::ui::Session;

namespace {

constexpr int kTimeout = 180000;

// A field of /proc/self/status in MiB ("VmRSS", "VmHWM").
double statusMiB(const char *field)
{
    std::ifstream in("/proc/self/status");
    const std::string prefix = std::string(field) + ":";
    for (std::string line; std::getline(in, line);)
        if (line.rfind(prefix, 0) == 0)
            return std::stod(line.substr(prefix.size())) / 1024.0; // kB
    return -1.0;
}

// Resets VmHWM (the peak resident size) to the current size.
bool resetPeakResident()
{
    std::ofstream out("/proc/self/clear_refs");
    out << "5";
    return bool(out);
}

// Measures the GUI thread's stalls: a 1 ms precise timer on the GUI thread records the time
// between its ticks; the longest gap is the longest time the event loop could not run.
class StallWatchdog : public QObject
{
public:
    StallWatchdog()
    {
        m_timer.setTimerType(Qt::PreciseTimer);
        m_timer.setInterval(1);
        QObject::connect(&m_timer, &QTimer::timeout, this, [this] {
            const qint64 now = m_clock.nsecsElapsed();
            if (m_last >= 0)
                m_gaps.push_back(double(now - m_last) / 1e6);
            m_last = now;
        });
    }
    void start()
    {
        m_gaps.clear();
        m_last = -1;
        m_clock.start();
        m_timer.start();
    }
    void stop() { m_timer.stop(); }
    double longestMs() const
    {
        return m_gaps.empty() ? 0.0 : *std::max_element(m_gaps.begin(), m_gaps.end());
    }
    // The gap that `fraction` of all gaps stay below.
    double percentileMs(double fraction) const
    {
        if (m_gaps.empty())
            return 0.0;
        std::vector<double> sorted = m_gaps;
        std::sort(sorted.begin(), sorted.end());
        return sorted[std::min(sorted.size() - 1, size_t(fraction * double(sorted.size())))];
    }
    size_t gapsOver(double ms) const
    {
        return size_t(
            std::count_if(m_gaps.begin(), m_gaps.end(), [ms](double g) { return g > ms; }));
    }
    size_t ticks() const { return m_gaps.size(); }

private:
    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_last = -1;
    std::vector<double> m_gaps;
};

// Runs the event loop as the application does until `done()` holds or `timeoutMs` pass; true if
// it holds. (QTRY_VERIFY's qWait sleeps 10 ms between event batches, which a watchdog would
// count as stalls.)
template<typename Predicate> bool runUntil(Predicate done, int timeoutMs)
{
    QEventLoop loop;
    QTimer poll;
    QElapsedTimer clock;
    clock.start();
    QObject::connect(&poll, &QTimer::timeout, &loop, [&] {
        if (done() || clock.elapsed() > timeoutMs)
            loop.quit();
    });
    poll.start(2);
    if (!done())
        loop.exec();
    return done();
}

// Shows the window at this size and opens the demo model and data in it.
Session *showDemo(MainWindow &window, int width, int height)
{
    window.resize(width, height);
    window.show();
    window.openDemo();
    return window.session();
}

QTabWidget *tabsOf(MainWindow &window)
{
    return qobject_cast<QTabWidget *>(window.centralWidget());
}

void report(const char *what, const StallWatchdog &watchdog)
{
    qInfo("%s: longest GUI-thread stall %.1f ms, 99th percentile %.1f ms, %zu of %zu ticks over "
          "16 ms",
          what, watchdog.longestMs(), watchdog.percentileMs(0.99), watchdog.gapsOver(16.0),
          watchdog.ticks());
}

// Stalls above this fail the test. The target is 16 ms (one frame); a shared 2-core machine
// preempts the GUI thread for longer than that now and then without any fault of ours, so the
// test bounds what a person would call a freeze and the printed figure is the one to read.
// ThreadSanitizer slows every instrumented memory access several times over: its bound only
// catches a real freeze.
#if defined(__SANITIZE_THREAD__)
constexpr double kFreezeMs = 2500.0;
#else
constexpr double kFreezeMs = 250.0;
#endif

// AddressSanitizer keeps freed memory in quarantine and pads every block, so under it resident
// memory grows with what is allocated, not with what is kept: its bounds are looser.
// ThreadSanitizer's shadow memory grows with the memory touched.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr double kMemorySlack = 4.0;
#else
constexpr double kMemorySlack = 1.0;
#endif

} // namespace

class ResponsivenessTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        if (const auto missing = heatlens::test::missingDemoData(); !missing.empty())
            QFAIL(missing.c_str());
        if (!QFileInfo::exists(QString::fromStdString(demoModelPath("demo-vit"))))
            QFAIL("the demo ViT is not trained: run heatlens-cli zoo");
    }

    void guiThreadKeepsUpWhileCompareFillsAndCurvesStream()
    {
        MainWindow window;
        Session *session = showDemo(window, 1500, 950);
        QTRY_VERIFY_WITH_TIMEOUT(session->outcome().has_value(), kTimeout);
        const auto vit = Model::load(demoModelPath("demo-vit"));

        // Compare: 2 models x 4 methods, filled cell by cell while the watchdog runs.
        CompareView *compare = window.compareView();
        compare->document()->setMethods({QStringLiteral("saliency"), QStringLiteral("grad-cam"),
                                         QStringLiteral("integrated-gradients"),
                                         QStringLiteral("occlusion")});
        compare->document()->addModel(vit);
        StallWatchdog watchdog;
        watchdog.start();
        tabsOf(window)->setCurrentWidget(compare);
        QVERIFY(runUntil([&] { return compare->document()->isComplete(); }, kTimeout));
        watchdog.stop();
        report("Compare grid (2 models x 4 methods)", watchdog);
        QVERIFY2(watchdog.ticks() > 2, "the watchdog did not run");
        QVERIFY2(watchdog.longestMs() < kFreezeMs,
                 qPrintable(QStringLiteral("the GUI thread froze for %1 ms while the Compare grid "
                                           "filled")
                                .arg(watchdog.longestMs(), 0, 'f', 1)));

        // Curves: deletion and insertion streamed point by point, the current method's with
        // Grad-CAM's and the random control's overlaid (default steps).
        CurvesView *curves = window.curvesView();
        auto overlay = [&](auto wanted) {
            for (QAction *action : curves->compareMenu()->actions())
                if (action->isCheckable() && action->isChecked() != wanted(action))
                    action->trigger();
        };
        overlay([](QAction *a) {
            return a->data().toString() == QLatin1String("grad-cam") ||
                   a->data().toString() == QLatin1String("random");
        });
        watchdog.start();
        QElapsedTimer curvesClock;
        curvesClock.start();
        tabsOf(window)->setCurrentWidget(curves);
        QVERIFY(
            runUntil([&] { return curves->isComplete() && !curves->series().empty(); }, kTimeout));
        watchdog.stop();
        const qint64 curvesMs = curvesClock.elapsed();
        auto curvesReport = [&] {
            return QStringLiteral("Curves (deletion + insertion of %1 maps, %2 steps)")
                .arg(curves->series().size() / 2)
                .arg(curves->stepsBox()->value());
        };
        report(qPrintable(curvesReport()), watchdog);
        QVERIFY2(curves->series().size() == 6, qPrintable(curvesReport()));
        // A fast machine streams these curves within a few ticks; the GUI thread cannot have
        // stalled for longer than the whole run, so a short run needs no ticks to pass.
        QVERIFY2(watchdog.ticks() > 2 || curvesMs < kFreezeMs,
                 qPrintable(QStringLiteral("the watchdog ticked %1 times in %2 ms")
                                .arg(watchdog.ticks())
                                .arg(curvesMs)));
        QVERIFY2(watchdog.longestMs() < kFreezeMs,
                 qPrintable(QStringLiteral("the GUI thread froze for %1 ms while curves streamed")
                                .arg(watchdog.longestMs(), 0, 'f', 1)));

        // The heaviest plot a person can ask for: every method overlaid, 500 steps. One replot of
        // 40-odd dense curves takes tens of milliseconds, so this bound is looser; before the
        // redraws were coalesced the GUI thread was blocked for the whole job (90 s).
        overlay([](QAction *) { return true; });
        curves->stepsBox()->setValue(500);
        watchdog.start();
        QVERIFY(runUntil([&] { return curves->isComplete() && curves->series().size() > 6; },
                         kTimeout));
        watchdog.stop();
        report(qPrintable(curvesReport()), watchdog);
        QVERIFY2(watchdog.longestMs() < 4 * kFreezeMs,
                 qPrintable(QStringLiteral("the GUI thread froze for %1 ms while %2 streamed")
                                .arg(watchdog.longestMs(), 0, 'f', 1)
                                .arg(curvesReport())));
    }

    void predictAllSeventyThousandImagesAddsMemoryBoundedByTheBatch()
    {
        MainWindow window;
        Session *session = showDemo(window, 1200, 800);
        QTRY_VERIFY_WITH_TIMEOUT(session->outcome().has_value(), kTimeout);
        QCOMPARE(session->dataset()->size(), size_t(70000));
        // Every split's pixels decoded once (they are the dataset, kept in memory by design), so
        // what is measured next is what predicting adds.
        for (size_t i : {size_t(0), size_t(69999)})
            session->dataset()->load(i);
        QTest::qWait(200);
        const double before = statusMiB("VmRSS");
        QVERIFY(resetPeakResident());
        QSignalSpy done(session, &Session::predictionsChanged);
        QElapsedTimer clock;
        clock.start();
        StallWatchdog watchdog;
        watchdog.start();
        session->predictAll();
        QVERIFY(runUntil([&] { return done.count() == 1; }, 20 * 60000));
        watchdog.stop();
        const double seconds = clock.elapsed() / 1000.0;
        const double peak = statusMiB("VmHWM");
        qInfo("Predict all: 70000 images in %.1f s (%.0f images/s); resident %.0f MiB before, peak "
              "%.0f MiB (+%.0f MiB)",
              seconds, 70000 / seconds, before, peak, peak - before);
        report("Predict all", watchdog);
        int predicted = 0;
        for (int i = 0; i < 70000; ++i)
            predicted += session->predictionFor(i) >= 0;
        QCOMPARE(predicted, 70000);
        // What predicting 70,000 images may add: batches of 256 through the model and their
        // tensors (well under 64 MiB for the demo CNN) plus 4 bytes per image for the answers.
        // Were images or inputs kept per image, 70,000 x 28 x 28 floats would add 210 MiB.
        const double bound = kMemorySlack * 64.0 + 70000 * 4 / 1048576.0;
        QVERIFY2(peak - before < bound,
                 qPrintable(QStringLiteral("Predict all added %1 MiB (bound %2 MiB)")
                                .arg(peak - before, 0, 'f', 0)
                                .arg(bound, 0, 'f', 0)));
        QVERIFY2(watchdog.longestMs() < kFreezeMs, "the GUI thread froze during Predict all");
    }

    void stormOfAThousandRequestsEndsOnTheLastOneWithoutGrowing()
    {
        MainWindow window;
        Session *session = showDemo(window, 1200, 800);
        QTRY_VERIFY_WITH_TIMEOUT(session->outcome().has_value(), kTimeout);
        const std::vector<QString> methods = {
            QStringLiteral("saliency"), QStringLiteral("grad-cam"),
            QStringLiteral("integrated-gradients"), QStringLiteral("smoothgrad"),
            QStringLiteral("occlusion")};
        std::mt19937 random(13);
        auto storm = [&](int requests) {
            for (int i = 0; i < requests; ++i) {
                switch (random() % 3) {
                case 0:
                    session->setCurrentIndex(int(random() % 70000));
                    break;
                case 1:
                    session->setMethod(methods[random() % methods.size()]);
                    break;
                default: { // a different value of the method's first integer parameter
                    Params params = session->params();
                    for (const auto &spec :
                         MethodRegistry::instance().get(session->methodId().toStdString()).params())
                        if (spec.type == ParamType::Int) {
                            const int span = int(std::min(spec.max, spec.min + 30) - spec.min);
                            params.set(spec.name, int(spec.min) + int(random() % (span + 1)));
                            break;
                        }
                    session->setParams(params);
                }
                }
                if (i % 7 == 0)
                    QCoreApplication::processEvents(); // a person clicks between frames
            }
        };
        auto settle = [&] {
            QTRY_VERIFY_WITH_TIMEOUT(!session->runner()->isBusy() && session->outcome().has_value(),
                                     kTimeout);
            QTest::qWait(100);
        };
        storm(200); // warm-up: caches, allocator arenas, the model's inference copies
        settle();
        const double warm = statusMiB("VmRSS");
        storm(1000);
        settle();
        const double after = statusMiB("VmRSS");
        qInfo("Storm of 1000 requests: resident %.0f MiB after warm-up, %.0f MiB after (%+.0f MiB)",
              warm, after, after - warm);
        QVERIFY2(after - warm < kMemorySlack * 48.0,
                 qPrintable(QStringLiteral("resident memory grew by %1 MiB over 1000 requests")
                                .arg(after - warm, 0, 'f', 0)));

        // On screen: the last request's explanation, not an earlier one's.
        const auto &outcome = *session->outcome();
        QCOMPARE(QString::fromStdString(outcome.explanation.methodId), session->methodId());
        QCOMPARE(outcome.explanation.params.canonical(), session->params().canonical());
        const Sample last = session->dataset()->load(size_t(session->currentIndex()));
        QCOMPARE(cv::norm(last.image, session->image(), cv::NORM_INF), 0.0);
        const auto *heatmap = window.explainView()->heatmap();
        QVERIFY(heatmap->hasMap());
        QCOMPARE(cv::norm(heatmap->map(), outcome.nativeMap, cv::NORM_INF), 0.0);
    }
};

QTEST_MAIN(ResponsivenessTest)
#include "test_responsiveness.moc"
