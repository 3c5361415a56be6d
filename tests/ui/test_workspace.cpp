// workspaces_restore_the_window_and_name_missing_paths: File > Save workspace writes the
// documented JSON (format, version, model, dataset, image, method, parameters, class, tab, the
// Compare, Groups and Uncertainty tabs' state); opening it in a new window restores all of it;
// paths that no longer exist give a message naming them while the rest is restored; a file that
// is not a workspace is named, not fatal.
#include "core/model/Zoo.h"
#include "tests/support/TestSupport.h"
#include "ui/CompareSession.h"
#include "ui/CurvesSession.h"
#include "ui/CurvesView.h"
#include "ui/GroupsSession.h"
#include "ui/GroupsView.h"
#include "ui/MainWindow.h"
#include "ui/SanitySession.h"
#include "ui/SanityView.h"
#include "ui/Session.h"
#include "ui/UncertaintySession.h"
#include "ui/UncertaintyView.h"
#include "ui/Workspace.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMessageBox>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTest>

#include <set>

using namespace heatlens;
using heatlens::ui::MainWindow;
using heatlens::ui::Session;

namespace {

constexpr int kTimeout = 60000;

QString demo(const char *name)
{
    return QString::fromStdString(demoModelPath(name));
}

QString errorText(const MainWindow &window)
{
    const auto *box = window.findChild<QMessageBox *>();
    return box ? box->text() : QString();
}

} // namespace

class WorkspaceTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true); // recent lists and layout stay out of the user's
        if (const auto missing = test::missingDemoData(); !missing.empty())
            QFAIL(missing.c_str());
    }

    void savedWorkspaceRestoresEveryTabInANewWindow()
    {
        const QString dir = QString::fromStdString(test::makeTempDir("workspace"));
        const QString path = dir + "/mine.json";
        {
            MainWindow window;
            Session *session = window.session();
            window.openDemo();
            QTRY_VERIFY_WITH_TIMEOUT(session->outcome().has_value(), kTimeout);
            session->setMethod(QStringLiteral("grad-cam"));
            session->setCurrentIndex(5);
            QTRY_VERIFY_WITH_TIMEOUT(session->outcome() && session->currentIndex() == 5, kTimeout);
            session->setTarget(3);
            window.compareSession()->addModelFile(demo("demo-vit"));
            window.compareSession()->setMethods({"saliency", "grad-cam"});
            window.curvesSession()->setCompared("integrated-gradients", true);
            window.curvesSession()->setCompared("random", true);
            Params steps;
            steps.set("steps", 16);
            window.curvesSession()->pinMethod("integrated-gradients", steps);
            auto *order = window.curvesView()->orderBox();
            order->setCurrentIndex(order->findData(QStringLiteral("lerf")));
            window.curvesView()->stepsBox()->setValue(40);
            window.curvesView()->logitBox()->setChecked(true);
            auto *sanityMode = window.sanityView()->modeBox();
            sanityMode->setCurrentIndex(sanityMode->findData(QStringLiteral("independent")));
            window.sanityView()->thresholdBox()->setValue(0.3);
            QTRY_COMPARE_WITH_TIMEOUT(int(window.compareSession()->models().size()), 2, kTimeout);
            EstimateOptions estimate;
            estimate.estimator = "archdetect";
            estimate.index = "archdetect";
            estimate.adjacentOnly = true;
            window.groupsView()->restore(parseGrouping("grid:3"), estimate, "blur");
            auto *source = window.uncertaintyView()->sourceBox();
            source->setCurrentIndex(source->findData(QStringLiteral("noise")));
            window.uncertaintyView()->samplesBox()->setValue(12);
            auto *tabs = qobject_cast<QTabWidget *>(window.centralWidget());
            tabs->setCurrentWidget(window.groupsView());
            QVERIFY(window.saveWorkspace(path));
        }
        // The documented format.
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QJsonObject json = QJsonDocument::fromJson(file.readAll()).object();
        QCOMPARE(json["format"].toString(), QStringLiteral("heatlens-workspace"));
        QCOMPARE(json["version"].toInt(), 1);
        QCOMPARE(json["method"].toString(), QStringLiteral("grad-cam"));
        QCOMPARE(json["index"].toInt(), 5);
        QCOMPARE(json["target"].toInt(), 3);
        QCOMPARE(json["tab"].toString(), QStringLiteral("groups"));
        QCOMPARE(json["groups"].toObject()["grouping"].toString(), QStringLiteral("grid:3"));

        MainWindow restored;
        Session *session = restored.session();
        restored.openWorkspace(path);
        QTRY_VERIFY_WITH_TIMEOUT(session->model() && session->dataset() &&
                                     session->currentIndex() == 5 && session->target() == 3 &&
                                     session->outcome() &&
                                     session->outcome()->explanation.target == 3,
                                 kTimeout);
        QCOMPARE(QString::fromStdString(session->model()->path()), demo("demo-cnn"));
        QCOMPARE(session->methodId(), QStringLiteral("grad-cam"));
        QCOMPARE(session->outcome()->explanation.target, 3);
        QTRY_COMPARE_WITH_TIMEOUT(int(restored.compareSession()->models().size()), 2, kTimeout);
        QCOMPARE(QString::fromStdString(restored.compareSession()->models()[1]->path()),
                 demo("demo-vit"));
        QCOMPARE(restored.compareSession()->methods(), QStringList({"saliency", "grad-cam"}));
        QCOMPARE(restored.curvesSession()->compared(),
                 std::set<std::string>({"integrated-gradients", "random"}));
        const auto pinned = restored.curvesSession()->pinnedMethods();
        QCOMPARE(pinned.size(), size_t(1));
        QCOMPARE(pinned[0].first, std::string("integrated-gradients"));
        QCOMPARE(pinned[0].second.getInt("steps"), 16);
        QCOMPARE(restored.curvesSession()->settings().order, std::string("lerf"));
        QCOMPARE(restored.curvesSession()->settings().steps, 40);
        QVERIFY(restored.curvesView()->logitBox()->isChecked());
        QCOMPARE(restored.sanitySession()->options().mode, std::string("independent"));
        QCOMPARE(restored.sanitySession()->options().threshold, 0.3);
        QCOMPARE(restored.groupsSession()->grouping().canonical(), std::string("grid:9"));
        QCOMPARE(restored.groupsSession()->estimate().estimator, std::string("archdetect"));
        QVERIFY(restored.groupsSession()->estimate().adjacentOnly);
        QCOMPARE(restored.groupsSession()->masker(), std::string("blur"));
        QCOMPARE(restored.uncertaintySession()->sourceId(), std::string("noise"));
        QCOMPARE(restored.uncertaintySession()->options().maxSamples, 12);
        auto *tabs = qobject_cast<QTabWidget *>(restored.centralWidget());
        QCOMPARE(tabs->currentWidget(), static_cast<QWidget *>(restored.groupsView()));
        QVERIFY(errorText(restored).isEmpty());
    }

    void missingPathsAreNamedAndTheRestRestored()
    {
        const QString dir = QString::fromStdString(test::makeTempDir("workspace-missing"));
        ui::Workspace w;
        w.model = demo("demo-cnn");
        w.dataset = dir + "/moved-away";
        w.compareModels = {dir + "/gone.pt"};
        w.method = QStringLiteral("integrated-gradients");
        w.params = {{"steps", "16"}};
        ui::writeWorkspace(dir + "/old.json", w);
        MainWindow window;
        window.openWorkspace(dir + "/old.json");
        const QString message = errorText(window);
        QVERIFY2(message.contains("moved-away") && message.contains("gone.pt"),
                 qPrintable(message));
        QTRY_VERIFY_WITH_TIMEOUT(window.session()->model() != nullptr, kTimeout);
        QCOMPARE(window.session()->methodId(), QStringLiteral("integrated-gradients"));
        QCOMPARE(window.session()->params().getInt("steps"), 16);

        // Not a workspace: the file is named.
        QFile bad(dir + "/bad.json");
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write("{\"format\": \"something-else\"}");
        bad.close();
        MainWindow other;
        other.openWorkspace(dir + "/bad.json");
        QVERIFY2(errorText(other).contains("bad.json") &&
                     errorText(other).contains("not a Heatlens workspace"),
                 qPrintable(errorText(other)));
    }
};

QTEST_MAIN(WorkspaceTest)
#include "test_workspace.moc"
