#include "core/model/Zoo.h"
#include "ui/DatasetBrowser.h"
#include "ui/ExplainView.h"
#include "ui/HeatmapView.h"
#include "ui/JobRunner.h"
#include "ui/MainWindow.h"
#include "ui/MethodPanel.h"
#include "ui/PredictionPanel.h"
#include "ui/Session.h"

#include <QComboBox>
#include <QListView>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTest>
#include <QTreeWidget>

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
        const auto model = heatlens::demoModelPath("demo-cnn");
        if (!std::filesystem::exists(model))
            QFAIL(qPrintable("demo model missing: run heatlens-cli zoo (" +
                             QString::fromStdString(model) + ")"));
        if (!std::filesystem::exists(heatlens::demoDatasetPath()))
            QFAIL("Fashion-MNIST missing: install dataset-fashion-mnist");
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
