// groups_tab_shows_attributions_interactions_and_known_answers: the Groups tab groups the Explain
// tab's image as the options say, shows the plan (calls, time) before a costly estimate and runs
// cheap ones at once, draws the attributions, a selected group's interactions, the strongest
// pairs, the matrix and the hierarchy, matches core's estimate of the same request, and for
// demo-groups-additive scores the estimate against the model's exact answers.
#include "core/groups/Estimators.h"
#include "core/model/InputImage.h"
#include "core/model/Zoo.h"
#include "tests/support/TestSupport.h"
#include "ui/GroupsSession.h"
#include "ui/GroupsView.h"
#include "ui/JobRunner.h"
#include "ui/MainWindow.h"
#include "ui/Session.h"

#include <QComboBox>
#include <QLabel>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTest>
#include <QTreeWidget>

#define signals Q_SIGNALS
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef foreach
#undef signals

using namespace heatlens;
using heatlens::ui::GroupsSession;
using heatlens::ui::GroupsView;
using heatlens::ui::MainWindow;
using heatlens::ui::Session;

namespace {

constexpr int kTimeout = 60000; // four waits stay under QtTest's 300 s function limit

void choose(QComboBox *box, const QString &data)
{
    const int index = box->findData(data);
    QVERIFY2(index >= 0, qPrintable(data));
    box->setCurrentIndex(index);
}

// What the document shows, for a wait that times out.
QString stateOf(const GroupsSession *document, const char *step)
{
    const auto &r = document->result();
    return QString("%1: key %2, result %3, computed %4, grouping %5, in flight %6")
        .arg(step, QString::fromStdString(document->key()), r ? "yes" : "no",
             document->isComputed() ? "yes" : "no",
             r ? QString::fromStdString(r->grouping.method) : QString("-"),
             document->session()->runner()->isInFlight(QStringLiteral("groups")) ? "yes" : "no");
}

} // namespace

class GroupsViewTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        if (const auto missing = heatlens::test::missingDemoData(); !missing.empty())
            QFAIL(missing.c_str());
    }

    void groupsOfTheDemoCnnAndTheAdditiveModelsExactAnswers()
    {
        MainWindow window;
        window.resize(1500, 950);
        window.show();
        Session *session = window.session();
        window.openDemo();
        QTRY_VERIFY2_WITH_TIMEOUT(session->outcome().has_value(), "the Explain tab's outcome",
                                  kTimeout);
        GroupsView *view = window.groupsView();
        GroupsSession *document = view->document();
        // ArchDetect on 16 superpixels: cheap, so it runs as soon as the tab shows.
        choose(view->methodBox(), QStringLiteral("archdetect"));
        view->countBox()->setValue(16);
        auto *tabs = window.findChild<QTabWidget *>();
        tabs->setCurrentWidget(view);
        QTRY_VERIFY2_WITH_TIMEOUT(document->isComputed(),
                                  qPrintable(stateOf(document, "archdetect")), kTimeout);
        const heatlens::ui::GroupsResult r =
            *document->result(); // a copy: the document may move on
        QVERIFY(std::abs(r.grouping.count - 16) <= 2);
        QCOMPARE(r.interactions.estimator, std::string("archdetect"));
        QCOMPARE(int(r.interactions.singles.size()), r.grouping.count);
        // Core computes the same estimate for the same request.
        const auto input = session->model()->preprocess(session->image());
        const Grouping g = makeGrouping(inputToRgb8(input, session->model()->card()),
                                        document->grouping(), &session->model()->card());
        QCOMPARE(cv::countNonZero(g.labels != r.grouping.labels), 0);
        CoalitionGame game(session->model(), input, g, {});
        const auto core = estimateInteractions(game, r.target, document->estimate());
        for (size_t i = 0; i < core.pairs.size(); ++i)
            QVERIFY(std::abs(core.pairs[i] - r.interactions.pairs[i]) <=
                    1e-4 * (1 + std::abs(core.pairs[i])));
        QCOMPARE(view->matrixPlot()->plottableCount(), 1);
        QVERIFY(view->treeView()->topLevelItemCount() >= 1);
        QVERIFY(view->statsLabel()->text().contains("calls"));
        // Behind the strongest pair: the images without either group and their logits, which
        // are the coalition engine's values for the same sets.
        const auto [si, sj] = *std::max_element(
            r.interactions.estimatedPairs.begin(), r.interactions.estimatedPairs.end(),
            [&](const auto &a, const auto &b) {
                return std::abs(r.interactions.pair(a.first, a.second)) <
                       std::abs(r.interactions.pair(b.first, b.second));
            });
        QVERIFY(view->showBehind(sj, si));
        QVERIFY(!view->behindLabel()->pixmap().isNull());
        const PlayerSet without = PlayerSet::all(r.grouping.count).remove(si).remove(sj);
        game.evaluate({without});
        QVERIFY(std::abs(r.leaveOut.at({si, sj}) - game.value(without, r.target)) < 1e-4);
        QVERIFY(!view->showBehind(-1, 0));
        // A selected group shows its interactions; the slider sets how many pairs are drawn.
        view->mapView()->setSelectedGroup(0);
        Q_EMIT view->mapView()->groupClicked(0);
        view->topKSlider()->setValue(5);
        window.grab().save(QString(HEATLENS_BINARY_DIR) + "/test-groups-view.png");
        // Archipelago's view: the five strongest pairs merged into sets, each scored alone
        // against the empty coalition, as core computes it on the same game.
        choose(view->treeModeBox(), QStringLiteral("topk"));
        int merged = 0;
        for (const auto &set : topKSets(r.interactions, 5))
            merged += set.size() > 1;
        QCOMPARE(view->treeView()->topLevelItemCount(), merged);
        const auto importance = topKSetImportance(game, r.target, r.interactions, 5);
        for (int t = 0; t < merged; ++t) {
            const auto *item = view->treeView()->topLevelItem(t);
            std::vector<int> set;
            for (const auto &v : item->data(0, Qt::UserRole).toList())
                set.push_back(v.toInt());
            QVERIFY(importance.count(set));
            QVERIFY2(std::abs(item->text(1).toDouble() - importance.at(set)) <=
                         1e-3 * (1 + std::abs(importance.at(set))),
                     qPrintable(item->text(1)));
        }
        view->treeView()->setCurrentItem(view->treeView()->topLevelItem(0));
        window.grab().save(QString(HEATLENS_BINARY_DIR) + "/test-groups-topk.png");
        choose(view->treeModeBox(), QStringLiteral("acd"));

        // Exact mode is 2^p calls: shown as a plan or run, as the expected time says.
        const int all = 1 << r.grouping.count;
        choose(view->methodBox(), QStringLiteral("exact"));
        QTRY_VERIFY2_WITH_TIMEOUT(document->result().has_value(),
                                  qPrintable(stateOf(document, "exact plan")), kTimeout);
        QCOMPARE(document->result()->plannedCalls, all);
        if (!document->isComputed()) {
            QVERIFY(view->statsLabel()->text().contains(QString::number(all)));
            view->runButton()->click();
            QTRY_VERIFY2_WITH_TIMEOUT(document->isComputed(),
                                      qPrintable(stateOf(document, "exact run")), kTimeout);
        }
        QCOMPARE(document->result()->interactions.calls, all);

        // The additive feature-group model: its own groups, and the exact answers to score.
        window.openDemo(QStringLiteral("demo-groups-additive"));
        QTRY_VERIFY2_WITH_TIMEOUT(session->outcome().has_value() &&
                                      session->model()->card().groupGridRows == 4,
                                  qPrintable(stateOf(document, "additive model")), kTimeout);
        // Exact mode still: computed at once when this machine does 65,536 calls in 10 s, else
        // planned until Run (a loaded machine).
        QTRY_VERIFY2_WITH_TIMEOUT(document->result().has_value() &&
                                      document->result()->grouping.method == "model",
                                  qPrintable(stateOf(document, "additive plan")), kTimeout);
        if (!document->isComputed())
            view->runButton()->click();
        QTRY_VERIFY2_WITH_TIMEOUT(document->isComputed(),
                                  qPrintable(stateOf(document, "additive estimate")), kTimeout);
        QVERIFY(document->result()->recovery.has_value());
        QVERIFY(document->result()->recovery->mse < 1e-6);
        QVERIFY(view->statsLabel()->text().contains("exact answers"));
        // An order-2 additive model: a pair's leave-two-out difference is its exact interaction.
        const heatlens::ui::GroupsResult a = *document->result();
        const int p = a.grouping.count;
        for (const auto &[i, j] : a.interactions.estimatedPairs) {
            const double delta = a.leaveOut.at({-1, -1}) - a.leaveOut.at({i, i}) -
                                 a.leaveOut.at({j, j}) + a.leaveOut.at({i, j});
            QVERIFY2(std::abs(delta - a.exactPairs[size_t(i * p + j)]) < 1e-3,
                     qPrintable(QString("%1, %2").arg(i).arg(j)));
        }
        QVERIFY(view->showBehind(5, 6));
        QVERIFY(view->behindLabel()->accessibleDescription().contains("exact"));
        window.grab().save(QString(HEATLENS_BINARY_DIR) + "/test-groups-additive.png");
    }

    void aCancelledSamplingRunKeepsItsLatestEstimate()
    {
        MainWindow window;
        window.resize(1500, 950);
        window.show();
        Session *session = window.session();
        window.openDemo();
        QTRY_VERIFY2_WITH_TIMEOUT(session->outcome().has_value(), "the Explain tab's outcome",
                                  kTimeout);
        GroupsView *view = window.groupsView();
        GroupsSession *document = view->document();
        view->countBox()->setValue(16);
        choose(view->methodBox(), QStringLiteral("permutation"));
        view->budgetBox()->setValue(1000000); // about 40 s here: a plan until Run
        window.findChild<QTabWidget *>()->setCurrentWidget(view);
        QTRY_VERIFY2_WITH_TIMEOUT(document->result().has_value(),
                                  qPrintable(stateOf(document, "permutation plan")), kTimeout);
        if (!document->isComputed())
            view->runButton()->click();
        // The estimate of the first eighth of the budget arrives while the rest runs.
        QTRY_VERIFY2_WITH_TIMEOUT(document->result() && document->result()->partial,
                                  qPrintable(stateOf(document, "a streamed step")), kTimeout);
        const auto streamed = document->result()->interactions;
        QVERIFY2(streamed.stopReason.rfind("so far: budget 125000 of 1000000", 0) == 0,
                 streamed.stopReason.c_str());
        QVERIFY(view->statsLabel()->text().contains("so far"));
        QCOMPARE(view->matrixPlot()->plottableCount(), 1);
        session->runner()->cancel(QStringLiteral("groups"));
        QTRY_VERIFY2_WITH_TIMEOUT(
            document->result() &&
                document->result()->interactions.stopReason.rfind("interrupted at", 0) == 0,
            qPrintable(stateOf(document, "interrupted")), kTimeout);
        QVERIFY(document->result()->partial);
        QVERIFY(view->statsLabel()->text().contains("interrupted at"));
        window.grab().save(QString(HEATLENS_BINARY_DIR) + "/test-groups-interrupted.png");
        QVERIFY(!session->runner()->isInFlight(QStringLiteral("groups")));
    }
};

QTEST_MAIN(GroupsViewTest)
#include "test_groups_view.moc"
