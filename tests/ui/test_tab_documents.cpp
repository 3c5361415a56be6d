// The tabs' documents work without a window: a Session, a JobRunner and the Compare, Curves,
// Sanity and Uncertainty documents compute, stream and cache what the views would draw, charged
// to one budget.
#include "core/explain/ExplainJob.h"
#include "core/jobs/ResultCache.h"
#include "core/metrics/Comparison.h"
#include "core/model/Zoo.h"
#include "tests/support/TestSupport.h"
#include "ui/CompareSession.h"
#include "ui/CurvesSession.h"
#include "ui/JobRunner.h"
#include "ui/SanitySession.h"
#include "ui/Session.h"
#include "ui/UncertaintySession.h"

#include <QSignalSpy>
#include <QStandardPaths>
#include <QTest>

using namespace heatlens;
using namespace heatlens::ui;

namespace {

constexpr int kTimeout = 120000;

bool allComplete(const CurvesSession &curves)
{
    const auto lines = curves.lines();
    if (lines.empty())
        return false;
    for (const auto &line : lines)
        if (!line.stored || !line.stored->complete)
            return false;
    return true;
}

} // namespace

class TabDocumentsTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        if (const auto missing = test::missingDemoData(); !missing.empty())
            QFAIL(missing.c_str());
    }

    void documentsComputeCacheAndShareOneBudgetWithoutAWindow()
    {
        JobRunner runner;
        auto budget = std::make_shared<CacheBudget>();
        Session session(&runner, budget);
        CompareSession compare(&session);
        CurvesSession curves(&session);
        SanitySession sanity(&session);
        session.openModel(QString::fromStdString(demoModelPath("demo-cnn")));
        session.openDataset(QString::fromStdString(demoDatasetPath()));
        QTRY_VERIFY_WITH_TIMEOUT(session.outcome().has_value(), kTimeout);
        const auto &outcome = *session.outcome();

        // Inactive documents compute nothing.
        QTest::qWait(100);
        QVERIFY(!runner.isBusy());
        QVERIFY(!sanity.result());

        CurvesSession::Settings settings;
        settings.steps = 10;
        curves.setSettings(settings);
        curves.setCompared("random", true); // the registry's control
        curves.setActive(true);
        QTRY_VERIFY_WITH_TIMEOUT(allComplete(curves), kTimeout);
        const auto lines = curves.lines();
        QCOMPARE(lines.size(), size_t(4)); // saliency and the control, deletion and insertion
        QVERIFY(lines[0].current && !lines[0].control && lines[3].control);
        // The document's curve is core's curve of the same map.
        const auto input = session.model()->preprocess(session.image());
        const Curve direct =
            perturbationCurve(*session.model(), input, outcome.explanation.target,
                              outcome.explanation.map, curves.options("deletion"), JobContext{});
        QCOMPARE(lines[0].mode, std::string("deletion"));
        QCOMPARE(lines[0].stored->curve.probabilities.size(), direct.probabilities.size());
        for (size_t i = 0; i < direct.probabilities.size(); ++i)
            QVERIFY(std::abs(lines[0].stored->curve.probabilities[i] - direct.probabilities[i]) <
                    1e-6);
        curves.setActive(false);

        compare.setMethods({"saliency", "grad-cam"});
        compare.setActive(true);
        QTRY_VERIFY_WITH_TIMEOUT(compare.isComplete(), kTimeout);
        QCOMPARE(compare.rowCount(), 1);
        QCOMPARE(compare.cellsComputed(), 2);
        QVERIFY(compare.agreementOf(0, 1).has_value());
        QVERIFY(compare.consensus(2) != nullptr); // all cells
        QCOMPARE(compare.consensus(2)->maps, 2);
        compare.setActive(false);

        QSignalSpy ready(&sanity, &SanitySession::sanityReady);
        sanity.setActive(true);
        QTRY_VERIFY_WITH_TIMEOUT(sanity.isComplete(), kTimeout);
        QCOMPARE(ready.count(), 1);
        QCOMPARE(sanity.result()->methodId, std::string("saliency"));

        // Everything is cached in the one budget: explanations, maps, curves, cells, the check.
        QVERIFY(budget->entries() >= size_t(1 + 2 + 4 + 2 + 1));
        QVERIFY(budget->used() > 0 && budget->used() <= budget->limit());

        // Asking again computes nothing: the results come from the cache at once.
        sanity.setActive(false);
        QTRY_VERIFY(!runner.isBusy());
        sanity.setOptions(sanity.options());
        sanity.setActive(true);
        QVERIFY(sanity.isComplete());
        QVERIFY(!runner.isInFlight(QStringLiteral("sanity")));
        QCOMPARE(ready.count(), 1);
        // Run again drops the cached check and computes it anew.
        sanity.runAgain();
        QVERIFY(runner.isInFlight(QStringLiteral("sanity")));
        QTRY_COMPARE_WITH_TIMEOUT(ready.count(), 2, kTimeout);
        sanity.setActive(false);

        // The Uncertainty document: nothing while inactive; streamed partial results, then the
        // complete distribution, its banded curves, and the cache on the way back.
        UncertaintySession uncertainty(&session);
        QTest::qWait(200);
        QVERIFY(!uncertainty.result());
        QSignalSpy changed(&uncertainty, &UncertaintySession::resultChanged);
        QSignalSpy sampled(&uncertainty, &UncertaintySession::uncertaintyReady);
        UncertaintyOptions o;
        o.maxSamples = 12;
        o.targetError = 0.0;
        o.batchRows = 4; // three batches: two partial results before the complete one
        uncertainty.setOptions(o);
        uncertainty.setActive(true);
        QTRY_VERIFY_WITH_TIMEOUT(uncertainty.isComplete(), kTimeout);
        QCOMPARE(uncertainty.result()->samples, 12);
        QVERIFY(changed.count() >= 3);
        QTRY_VERIFY_WITH_TIMEOUT(uncertainty.curvesComplete(), kTimeout);
        uncertainty.setActive(false);
        QTRY_VERIFY(!runner.isBusy());
        uncertainty.setActive(true);
        QVERIFY(uncertainty.isComplete() && uncertainty.curvesComplete());
        QVERIFY(!runner.isInFlight(QStringLiteral("uncertainty")));
        QCOMPARE(sampled.count(), 1);
    }
};

QTEST_MAIN(TabDocumentsTest)
#include "test_tab_documents.moc"
