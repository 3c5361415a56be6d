#include "core/metrics/Sanity.h"
#include "core/model/Zoo.h"
#include "tests/support/TestSupport.h"
#include "ui/MainWindow.h"
#include "ui/SanityView.h"
#include "ui/Session.h"

#include <QComboBox>
#include <QLabel>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTest>

// qcustomplot.h needs Qt's keywords, which Heatlens' targets turn off (QT_NO_KEYWORDS).
#define signals Q_SIGNALS
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef foreach
#undef signals

#include <filesystem>

using heatlens::ui::MainWindow;
using heatlens::ui::SanityView;
using heatlens::ui::Session;

namespace {

constexpr int kTimeout = 120000;

void showSanityTab(MainWindow &window)
{
    auto *tabs = window.findChild<QTabWidget *>();
    QVERIFY(tabs);
    tabs->setCurrentWidget(window.sanityView());
}

} // namespace

class SanityViewTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        if (const auto missing = heatlens::test::missingDemoData(); !missing.empty())
            QFAIL(missing.c_str());
    }

    void cascadingCheckShowsEveryStepAndTheCoreVerdict()
    {
        MainWindow window;
        window.resize(1300, 900);
        window.show();
        Session *session = window.session();
        window.openDemo();
        QTRY_VERIFY_WITH_TIMEOUT(session->outcome().has_value(), kTimeout);
        SanityView *view = window.sanityView();
        showSanityTab(window);
        QTRY_VERIFY_WITH_TIMEOUT(view->isComplete(), kTimeout);
        const auto &shown = *view->result();
        QCOMPARE(shown.methodId, std::string("saliency"));
        QVERIFY(shown.steps.size() >= 2);
        // Original + one thumbnail per step; the plot has the original point (1) and each step.
        QCOMPARE(view->thumbnailCount(), int(shown.steps.size()) + 1);
        QCOMPARE(view->plot()->graphCount(), 4);
        QCOMPARE(view->plot()->graph(0)->dataCount(), int(shown.steps.size()) + 1);
        QCOMPARE(view->plot()->graph(0)->data()->at(0)->value, 1.0);
        QCOMPARE(view->plot()->graph(0)->data()->at(1)->value, shown.steps[0].spearmanAbs);
        QVERIFY(view->verdictLabel()->text().contains(shown.passed ? "passes" : "fails"));

        // The same check run directly in core gives the same numbers.
        const auto &o = *session->outcome();
        const auto input = session->model()->preprocess(session->image());
        const auto core =
            heatlens::sanityCheck(session->model(), input, o.explanation.target, "saliency",
                                  o.explanation.params, {}, heatlens::JobContext{});
        QCOMPARE(core.steps.size(), shown.steps.size());
        QCOMPARE(core.steps.back().label, shown.steps.back().label);
        QVERIFY(std::abs(core.steps.back().spearmanAbs - shown.steps.back().spearmanAbs) < 1e-9);
        QCOMPARE(core.passed, shown.passed);
        window.grab().save(QString(HEATLENS_BINARY_DIR) + "/test-sanity-view.png");

        // Independent mode: each step randomises only the layers its cascade step added.
        const auto cascade = shown.steps;
        view->modeBox()->setCurrentIndex(view->modeBox()->findData("independent"));
        QTRY_VERIFY_WITH_TIMEOUT(view->isComplete() && view->result()->mode == "independent",
                                 kTimeout);
        const auto &independent = view->result()->steps;
        QCOMPARE(independent.size(), cascade.size());
        for (size_t i = 0; i < independent.size(); ++i) {
            const size_t before = i ? cascade[i - 1].layers.size() : 0;
            const std::vector<std::string> added(cascade[i].layers.begin() + long(before),
                                                 cascade[i].layers.end());
            QCOMPARE(independent[i].layers, added);
        }
    }
};

QTEST_MAIN(SanityViewTest)
#include "test_sanity_view.moc"
