#include "core/model/Zoo.h"
#include "tests/support/TestSupport.h"
#include "ui/CompareSession.h"
#include "ui/DatasetBrowser.h"
#include "ui/ExplainView.h"
#include "ui/HeatmapView.h"
#include "ui/JobRunner.h"
#include "ui/MainWindow.h"
#include "ui/MethodPanel.h"
#include "ui/ModelPanel.h"
#include "ui/PredictionPanel.h"
#include "ui/Session.h"

#include <QAction>
#include <QComboBox>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QImage>
#include <QLabel>
#include <QListView>
#include <QScreen>
#include <QSignalSpy>
#include <QStandardItemModel>
#include <QStandardPaths>
#include <QTest>
#include <QTreeWidget>
#include <QTreeWidgetItemIterator>

#include <filesystem>

using heatlens::ui::MainWindow;
using heatlens::ui::Session;

namespace {

constexpr int kTimeout = 60000;

// The fraction of overlay pixels that differ from the first one: a real heatmap varies.
double overlayVariation(const QImage &overlay)
{
    if (overlay.isNull())
        return 0.0;
    const QRgb first = overlay.pixel(0, 0);
    int differing = 0;
    for (int y = 0; y < overlay.height(); ++y)
        for (int x = 0; x < overlay.width(); ++x)
            differing += overlay.pixel(x, y) != first;
    return double(differing) / (overlay.width() * overlay.height());
}

} // namespace

class MainWindowTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true); // keep the user's saved layout out of it
        if (const auto missing = heatlens::test::missingDemoData(); !missing.empty())
            QFAIL(missing.c_str());
    }

    void opensDemoModelAndDataAndShowsAHeatmap()
    {
        MainWindow window;
        window.resize(1200, 800);
        window.show();
        Session *session = window.session();
        QSignalSpy ready(session, &Session::explanationReady);
        window.openDemo();
        QTRY_VERIFY_WITH_TIMEOUT(session->model() && session->dataset(), kTimeout);
        QCOMPARE(session->dataset()->size(), size_t(70000));
        QTRY_VERIFY_WITH_TIMEOUT(session->outcome().has_value(), kTimeout);
        const auto &heatmap = *window.explainView()->heatmap();
        QVERIFY(heatmap.hasMap());
        QCOMPARE(heatmap.overlayImage().size(), QSize(28, 28));
        QVERIFY2(overlayVariation(heatmap.overlayImage()) > 0.2, "the overlay is flat");
        QCOMPARE(session->outcome()->explanation.methodId, std::string("saliency"));
        QCOMPARE(window.browser()->visibleCount(), 70000);
        const QImage shot = window.grab().toImage();
        QVERIFY(!shot.isNull());
        shot.save(QString(HEATLENS_BINARY_DIR) + "/test-main-window.png");
    }

    void switchingMethodAndClassRecomputes()
    {
        MainWindow window;
        window.show();
        Session *session = window.session();
        window.openDemo();
        QTRY_VERIFY_WITH_TIMEOUT(session->outcome().has_value(), kTimeout);
        auto *methods = window.methodPanel()->methodBox();
        methods->setCurrentIndex(methods->findData("grad-cam"));
        QTRY_VERIFY_WITH_TIMEOUT(
            session->outcome() && session->outcome()->explanation.methodId == "grad-cam", kTimeout);
        QCOMPARE(session->outcome()->explanation.layer, std::string("features.block3"));
        QVERIFY(window.methodPanel()->layerPicker() != nullptr);
        // Click the second most probable class: it becomes the explained target.
        auto *list = window.predictionPanel()->list();
        QTRY_VERIFY(list->topLevelItemCount() == 5);
        const int second = list->topLevelItem(1)->data(0, Qt::UserRole).toInt();
        session->setTarget(second);
        QTRY_VERIFY_WITH_TIMEOUT(
            session->outcome() && session->outcome()->explanation.target == second, kTimeout);
    }

    void anApproximateScoreCamSaysSoBesideTheMapAndInTheLog()
    {
        MainWindow window;
        window.show();
        Session *session = window.session();
        QSignalSpy warnings(session, &Session::warning);
        window.openDemo();
        QTRY_VERIFY_WITH_TIMEOUT(session->outcome().has_value(), kTimeout);
        session->setMethod(QStringLiteral("score-cam"));
        QTRY_VERIFY_WITH_TIMEOUT(session->outcome() &&
                                     session->outcome()->explanation.methodId == "score-cam",
                                 kTimeout);
        auto *info = window.explainView()->infoLabel();
        QVERIFY2(!info->text().contains("approximate"), qPrintable(info->text()));
        const int before = int(warnings.count());
        heatlens::Params params = session->params();
        params.set("mass", 0.5);
        session->setParams(params);
        QTRY_VERIFY_WITH_TIMEOUT(
            session->outcome() && !session->outcome()->explanation.warnings.empty(), kTimeout);
        const auto &e = session->outcome()->explanation;
        QVERIFY(e.stats.at("channels_scored") < e.stats.at("channels"));
        QTRY_VERIFY(info->text().contains("approximate: "));
        // The form shows the parameters that were explained, wherever they were set.
        auto *mass =
            window.methodPanel()->findChild<QDoubleSpinBox *>(QStringLiteral("param-mass"));
        QVERIFY(mass != nullptr);
        QCOMPARE(mass->value(), 0.5);
        bool logged = false;
        for (int i = before; i < warnings.count(); ++i)
            logged = logged || warnings.at(i).at(0).toString().contains("approximate: ");
        QVERIFY2(logged, "the approximation was not logged");
        window.grab().save(QString(HEATLENS_BINARY_DIR) + "/test-approximate-score-cam.png");
    }

    void arrowKeysMoveThroughTheDataset()
    {
        MainWindow window;
        window.show();
        Session *session = window.session();
        window.openDemo();
        QTRY_VERIFY_WITH_TIMEOUT(session->currentIndex() == 0 && !session->image().empty(),
                                 kTimeout);
        QListView *view = window.browser()->view();
        view->setFocus();
        QTest::keyClick(view, Qt::Key_Right);
        QTRY_COMPARE_WITH_TIMEOUT(session->currentIndex(), 1, kTimeout);
        QTRY_VERIFY_WITH_TIMEOUT(session->outcome().has_value(), kTimeout);
    }

    void demoMenuListsEveryZooModel()
    {
        MainWindow window;
        const auto entries = heatlens::zooEntries();
        for (const auto &entry : entries) {
            auto *action =
                window.findChild<QAction *>(QStringLiteral("demo:") + entry.name.c_str());
            QVERIFY2(action, entry.name.c_str());
            QVERIFY(action->text().startsWith(QString::fromStdString(entry.displayName)));
            QCOMPARE(action->text().contains("not trained"), !entry.available);
        }
        QVERIFY(entries.size() >= 7);
    }

    void vitDemoExplainsOnItsTokenGrid()
    {
        if (!std::filesystem::exists(heatlens::demoModelPath("demo-vit")))
            QSKIP("demo-vit is not trained (heatlens-cli zoo)");
        MainWindow window;
        window.show();
        Session *session = window.session();
        window.openDemo(QStringLiteral("demo-vit"));
        QTRY_VERIFY_WITH_TIMEOUT(session->outcome().has_value(), kTimeout);
        QVERIFY(window.modelPanel()->summary()->text().contains("4 x 4 patches + CLS"));
        session->setMethod(QStringLiteral("grad-cam"));
        QTRY_VERIFY_WITH_TIMEOUT(
            session->outcome() && session->outcome()->explanation.methodId == "grad-cam", kTimeout);
        QCOMPARE(session->outcome()->explanation.layer, std::string("blocks.3.norm1"));
        QVERIFY(overlayVariation(window.explainView()->heatmap()->overlayImage()) > 0.2);
    }

    void attentionMethodsAreOfferedOnlyForTransformersAndLayersCanBeCombined()
    {
        if (!std::filesystem::exists(heatlens::demoModelPath("demo-vit")))
            QSKIP("demo-vit is not trained (heatlens-cli zoo)");
        MainWindow window;
        window.show();
        Session *session = window.session();
        auto *methods = window.methodPanel()->methodBox();
        auto enabled = [methods](const char *id) {
            auto *items = qobject_cast<QStandardItemModel *>(methods->model());
            return items->item(methods->findData(QString::fromLatin1(id)))->isEnabled();
        };
        window.openDemo();
        QTRY_VERIFY_WITH_TIMEOUT(session->outcome().has_value(), kTimeout);
        QVERIFY(!enabled("attention-rollout") && !enabled("attention-relevance"));
        QVERIFY(enabled("grad-cam") && enabled("guided-backprop"));
        // Two layers selected in the picker: one multi-layer CAM.
        session->setMethod(QStringLiteral("grad-cam"));
        QTRY_VERIFY(window.methodPanel()->layerPicker() != nullptr);
        QTreeWidget *picker = window.methodPanel()->layerPicker();
        picker->clearSelection();
        int selected = 0;
        for (QTreeWidgetItemIterator it(picker); *it && selected < 2; ++it) {
            const QString path = (*it)->data(0, Qt::UserRole).toString();
            if (path == QLatin1String("features.block2") ||
                path == QLatin1String("features.block3")) {
                (*it)->setSelected(true);
                ++selected;
            }
        }
        QCOMPARE(selected, 2);
        QTRY_VERIFY_WITH_TIMEOUT(session->outcome() && session->outcome()->explanation.layer ==
                                                           "features.block2,features.block3",
                                 kTimeout);
        window.openDemo(QStringLiteral("demo-vit"));
        QTRY_VERIFY_WITH_TIMEOUT(enabled("attention-rollout"), kTimeout);
        session->setMethod(QStringLiteral("attention-relevance"));
        QTRY_VERIFY_WITH_TIMEOUT(session->outcome() && session->outcome()->explanation.methodId ==
                                                           "attention-relevance",
                                 kTimeout);
        QCOMPARE(session->outcome()->explanation.layer, std::string("blocks.3.attn.softmax"));
        QVERIFY(overlayVariation(window.explainView()->heatmap()->overlayImage()) > 0.2);
        window.grab().save(QString(HEATLENS_BINARY_DIR) + "/test-attention-relevance.png");
    }

    void featureGroupDemoShowsItsExactGroupWeights()
    {
        if (!std::filesystem::exists(heatlens::demoModelPath("demo-groups")))
            QSKIP("demo-groups is not trained (heatlens-cli zoo)");
        MainWindow window;
        window.resize(1200, 800);
        window.show();
        Session *session = window.session();
        window.openDemo(QStringLiteral("demo-groups"));
        auto *groups = window.modelPanel()->groups();
        QTRY_COMPARE_WITH_TIMEOUT(groups->weights().size(), size_t(40), kTimeout);
        double sum = 0.0;
        for (float w : groups->weights())
            sum += w;
        QVERIFY(std::abs(sum - 1.0) < 1e-4);
        QVERIFY(groups->isVisibleTo(window.modelPanel()));
        QVERIFY(window.modelPanel()->summary()->text().contains("4 x 4 grid"));
        // Another image: the weights are recomputed for it.
        const auto before = groups->weights();
        session->setCurrentIndex(1);
        QTRY_VERIFY_WITH_TIMEOUT(groups->weights() != before, kTimeout);
        window.findChild<QDockWidget *>(QStringLiteral("model"))->raise();
        QTRY_VERIFY(groups->isVisible());
        window.grab().save(QString(HEATLENS_BINARY_DIR) + "/test-model-panel.png");
    }

    void ensembleDemoListsItsMembersWithTheirPredictions()
    {
        if (!std::filesystem::exists(heatlens::demoModelPath("demo-cnn-ensemble")))
            QSKIP("demo-cnn-ensemble is not trained (heatlens-cli zoo)");
        MainWindow window;
        window.resize(1200, 800);
        window.show();
        Session *session = window.session();
        window.openDemo(QStringLiteral("demo-cnn-ensemble"));
        QTRY_VERIFY_WITH_TIMEOUT(session->model() && session->model()->isEnsemble(), kTimeout);
        QCOMPARE(session->model()->members().size(), size_t(5));
        auto *members = window.modelPanel()->members();
        QCOMPARE(members->topLevelItemCount(), 5);
        QTRY_VERIFY_WITH_TIMEOUT(!members->topLevelItem(4)->text(1).isEmpty(), kTimeout);
        QVERIFY(window.modelPanel()->summary()->text().contains("deep ensemble of 5"));
        QTRY_VERIFY_WITH_TIMEOUT(session->outcome().has_value(), kTimeout);
        window.findChild<QDockWidget *>(QStringLiteral("model"))->raise();
        QTRY_VERIFY(members->isVisible());
        window.grab().save(QString(HEATLENS_BINARY_DIR) + "/test-ensemble-panel.png");
    }

    void firstStartFitsTheScreenAndTheLogOpensOnAWarning()
    {
        // No saved geometry (test mode): most of the available screen, and a window that fits
        // a 1680 x 1050 screen (at 90%, as it opens) with every tab, models and all.
        MainWindow window;
        const QRect available = window.screen()->availableGeometry();
        QCOMPARE(window.size(), available.size() * 0.9);
        window.openDemo();
        QTRY_VERIFY_WITH_TIMEOUT(window.session()->outcome().has_value(), kTimeout);
        window.compareSession()->addModelFile(
            QString::fromStdString(heatlens::demoModelPath("demo-vit")));
        const QSize least = window.minimumSizeHint();
        QVERIFY2(least.width() <= 1512 && least.height() <= 945,
                 qPrintable(QString("%1 x %2").arg(least.width()).arg(least.height())));
        // The log starts collapsed and opens when a warning arrives.
        auto *log = window.findChild<QDockWidget *>(QStringLiteral("log"));
        QVERIFY(log && log->isHidden());
        window.show();
        QVERIFY(log->isHidden());
        Q_EMIT window.session()->warning(QStringLiteral("something to see"));
        QVERIFY(!log->isHidden());
    }

    void imagesWithoutALabelShowThePredictionWithoutACross()
    {
        // A flat folder of photos: nothing to be right or wrong about.
        const QString dir = QString::fromStdString(heatlens::test::makeTempDir("unlabelled"));
        for (int i = 0; i < 2; ++i) {
            QImage image(28, 28, QImage::Format_Grayscale8);
            image.fill(i * 200);
            QVERIFY(image.save(dir + QString("/photo-%1.png").arg(i)));
        }
        MainWindow window;
        Session *session = window.session();
        window.openDemo();
        QTRY_VERIFY_WITH_TIMEOUT(session->outcome().has_value(), kTimeout);
        session->openDataset(dir);
        QTRY_VERIFY_WITH_TIMEOUT(session->dataset() && session->dataset()->size() == 2, kTimeout);
        session->predictAll();
        QTRY_VERIFY_WITH_TIMEOUT(session->predictionFor(0) >= 0 && session->predictionFor(1) >= 0,
                                 kTimeout);
        auto *model = window.browser()->view()->model();
        for (int row = 0; row < 2; ++row) {
            const QString text = model->index(row, 0).data(Qt::DisplayRole).toString();
            QVERIFY2(!text.contains(QChar(0x2717)) && !text.contains(QChar(0x2713)) &&
                         !text.contains(QLatin1Char('?')) &&
                         text.contains(QString::fromStdString(
                             session->model()->label(session->predictionFor(row)))),
                     qPrintable(text));
        }
    }

    void badModelFileIsReportedNotFatal()
    {
        MainWindow window;
        Session *session = window.session();
        QSignalSpy errors(session, &Session::errorOccurred);
        const QString bogus = QString(HEATLENS_BINARY_DIR) + "/not-a-model.pt";
        QFile file(bogus);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("definitely not a zip archive");
        file.close();
        session->openModel(bogus);
        QTRY_COMPARE_WITH_TIMEOUT(errors.count(), 1, kTimeout);
        const QString message = errors.at(0).at(0).toString();
        QVERIFY2(message.contains("not-a-model.pt") && message.contains("TorchScript"),
                 qPrintable(message));
        QVERIFY(!session->model());
    }
};

QTEST_MAIN(MainWindowTest)
#include "test_main_window.moc"
