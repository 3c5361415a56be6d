#include "core/explain/ExplainJob.h"
#include "core/metrics/Agreement.h"
#include "core/metrics/Comparison.h"
#include "core/model/Preprocess.h"
#include "core/model/Zoo.h"
#include "core/uncertainty/CellUncertainty.h"
#include "tests/support/TestSupport.h"
#include "ui/CompareDataset.h"
#include "ui/CompareView.h"
#include "ui/CompareWidgets.h"
#include "ui/CurvesView.h"
#include "ui/HeatmapView.h"
#include "ui/MainWindow.h"
#include "ui/Session.h"

#include <QComboBox>
#include <QJsonObject>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableWidget>
#include <QTest>

#include <cmath>
#include <sstream>

using namespace heatlens;
using heatlens::ui::CompareCell;
using heatlens::ui::CompareView;
using heatlens::ui::HeatmapView;
using heatlens::ui::MainWindow;
using heatlens::ui::Session;

namespace {

constexpr int kTimeout = 90000;

double maxDifference(const cv::Mat &a, const cv::Mat &b)
{
    if (a.size() != b.size() || a.type() != b.type())
        return INFINITY;
    return cv::norm(a, b, cv::NORM_INF);
}

void wheel(QWidget *widget, int delta)
{
    const QPointF at(widget->width() / 2.0, widget->height() / 2.0);
    QWheelEvent event(at, widget->mapToGlobal(at), QPoint(), QPoint(0, delta), Qt::NoButton,
                      Qt::NoModifier, Qt::NoScrollPhase, false);
    QApplication::sendEvent(widget, &event);
}

} // namespace

class CompareViewTest : public QObject
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

    void cellsShowTheMeanOrCvOfTheirDistribution()
    {
        MainWindow window;
        window.resize(1500, 950);
        window.show();
        Session *session = window.session();
        CompareView *compare = window.compareView();
        window.openDemo();
        QTRY_VERIFY_WITH_TIMEOUT(session->outcome().has_value(), kTimeout);
        const auto vit = Model::load(demoModelPath("demo-vit"));
        compare->document()->setMethods({QStringLiteral("saliency")});
        compare->document()->addModel(vit);
        QComboBox *statistic = compare->cellStatisticBox();
        statistic->setCurrentIndex(statistic->findData(QStringLiteral("cv|mc-dropout")));
        QCOMPARE(compare->document()->cellStatistic().statistic, std::string("cv"));
        auto *tabs = qobject_cast<QTabWidget *>(window.centralWidget());
        tabs->setCurrentWidget(compare);
        QTRY_VERIFY_WITH_TIMEOUT(compare->document()->isComplete(), kTimeout);
        // Both demo models have dropout: each cell is the CV map core computes for it.
        const int target = session->outcome()->explanation.target;
        const cv::Mat image = session->image();
        const std::vector<ModelPtr> models = {session->model(), vit};
        for (int r = 0; r < 2; ++r) {
            const CellResult *cell = compare->document()->cellResult(r, 0);
            QVERIFY(cell && cell->ok);
            const CellResult expected = explainCellStatistic(
                models[size_t(r)], image, "saliency", {}, target, comparisonFrame(image.size()),
                nullptr, compare->document()->cellStatistic(), JobContext{});
            QVERIFY2(maxDifference(cell->map, expected.map) <=
                         1e-4 * cv::norm(expected.map, cv::NORM_INF),
                     qPrintable(QString::number(r)));
            double lo = 0, hi = 0;
            cv::minMaxLoc(cell->map, &lo, &hi);
            QVERIFY(lo >= 0.0 && hi > 0.0); // a CV map
        }
        // A source that cannot sample these models: every cell says why.
        statistic->setCurrentIndex(statistic->findData(QStringLiteral("mean|ensemble")));
        QTRY_VERIFY_WITH_TIMEOUT(compare->document()->isComplete(), kTimeout);
        const CellResult *cell = compare->document()->cellResult(0, 0);
        QVERIFY(cell && !cell->ok);
        QVERIFY2(cell->error.find("not an ensemble") != std::string::npos, cell->error.c_str());
    }

    void fillsEveryCellOfA2x2GridAndComparesThem()
    {
        MainWindow window;
        window.resize(1500, 950);
        window.show();
        Session *session = window.session();
        CompareView *compare = window.compareView();
        window.openDemo();
        QTRY_VERIFY_WITH_TIMEOUT(session->outcome().has_value(), kTimeout);
        const auto vit = Model::load(demoModelPath("demo-vit"));
        compare->document()->setMethods({QStringLiteral("saliency"), QStringLiteral("grad-cam")});
        compare->document()->addModel(vit);
        compare->document()->addModel(vit); // the same model twice is one row
        QCOMPARE(compare->document()->models().size(), size_t(2));
        QCOMPARE(compare->grid()->rowCount(), 2);
        QCOMPARE(compare->grid()->columnCount(), 2);

        // Nothing is computed while the tab is hidden.
        QTest::qWait(300);
        QVERIFY(!compare->document()->cellResult(0, 0));
        auto *tabs = qobject_cast<QTabWidget *>(window.centralWidget());
        QCOMPARE(tabs->tabText(tabs->indexOf(compare)), QStringLiteral("Compare"));
        tabs->setCurrentWidget(compare);
        QTRY_VERIFY_WITH_TIMEOUT(compare->document()->isComplete(), kTimeout);

        // Every cell has its map: the core's explanation of its model, in the image's frame, of
        // the class the Explain tab explains.
        const int target = session->outcome()->explanation.target;
        const cv::Mat image = session->image();
        const std::vector<ModelPtr> models = {session->model(), vit};
        const char *methods[] = {"saliency", "grad-cam"};
        std::vector<cv::Mat> maps;
        for (int r = 0; r < 2; ++r)
            for (int c = 0; c < 2; ++c) {
                const CellResult *cell = compare->document()->cellResult(r, c);
                QVERIFY(cell && cell->ok);
                QCOMPARE(cell->target, target);
                CompareCell *widget = compare->grid()->cell(r, c);
                QVERIFY(widget->view()->hasMap());
                QCOMPARE(widget->view()->map().size(), image.size());
                QVERIFY2(widget->caption()->text().contains(QStringLiteral("explains")),
                         qPrintable(widget->caption()->text()));
                const CellResult expected =
                    explainCell(models[size_t(r)], image, methods[c], {}, target,
                                comparisonFrame(image.size()), nullptr, JobContext{});
                const double scale = cv::norm(expected.map, cv::NORM_INF);
                QVERIFY2(maxDifference(cell->map, expected.map) <= 1e-4 * scale,
                         qPrintable(QStringLiteral("cell %1,%2").arg(r).arg(c)));
                maps.push_back(cell->map);
            }

        // The matrix holds the core agreement of every pair (|maps| by default).
        const AgreementOptions options; // absolute, top 10%, clip 99%
        const auto &matrix = compare->matrixView()->matrix();
        QCOMPARE(matrix.labels.size(), 4);
        QCOMPARE(matrix.values.size(), size_t(16));
        for (int i = 0; i < 4; ++i)
            for (int j = 0; j < 4; ++j) {
                if (i == j)
                    continue;
                const Agreement a = agreement(maps[size_t(i)], maps[size_t(j)], options);
                QVERIFY(std::abs(matrix.at(i, j) - a.spearman) < 1e-9);
                QCOMPARE(matrix.at(i, j), matrix.at(j, i));
                QVERIFY(std::abs(compare->document()->agreementOf(i, j)->ssim - a.ssim) < 1e-9);
            }
        compare->setMatrixMetric(QStringLiteral("top_k_iou"));
        QVERIFY(std::abs(compare->matrixView()->matrix().at(0, 2) -
                         agreement(maps[0], maps[2], options).topIou) < 1e-9);
        compare->setTopPercent(25);
        QTRY_VERIFY_WITH_TIMEOUT(compare->document()->isComplete(), kTimeout);
        AgreementOptions quarter;
        quarter.topFraction = 0.25;
        QVERIFY(std::abs(compare->matrixView()->matrix().at(0, 2) -
                         agreement(maps[0], maps[2], quarter).topIou) < 1e-9);
        QVERIFY(compare->matrixView()->matrix().metric.contains(QStringLiteral("25%")));

        // Consensus and disagreement of each method across the models, and of all cells.
        const Consensus saliency = consensusMaps({maps[0], maps[2]}, options);
        QVERIFY(maxDifference(compare->consensusMap(0), saliency.mean) < 1e-6);
        QVERIFY(maxDifference(compare->consensusMap(0, true), saliency.spread) < 1e-6);
        const Consensus all = consensusMaps(maps, options);
        QVERIFY(maxDifference(compare->consensusMap(2), all.mean) < 1e-6);
        for (CompareCell *cell : compare->grid()->extraCells())
            QVERIFY(cell->view()->hasMap());

        // Two selected cells show their agreement, in the panel and as the cells' tooltips.
        compare->selectCells(0, 2);
        QVERIFY(compare->grid()->cell(0, 0)->isSelected());
        QVERIFY(compare->grid()->cell(1, 0)->isSelected());
        QVERIFY(!compare->grid()->cell(0, 1)->isSelected());
        const QString text = compare->selectionLabel()->text();
        QVERIFY2(text.contains(
                     QString::number(compare->document()->agreementOf(0, 2)->spearman, 'f', 3)),
                 qPrintable(text));
        QCOMPARE(compare->grid()->cell(1, 0)->view()->toolTip(), text);
        QCOMPARE(compare->matrixView()->matrix().highlighted, std::make_pair(0, 2));

        // Zoom and pan follow each other.
        wheel(compare->grid()->cell(0, 0)->view(), 240);
        const auto state = compare->grid()->cell(0, 0)->view()->viewState();
        QVERIFY(!state.fit);
        for (CompareCell *cell : compare->grid()->cells()) {
            QCOMPARE(cell->view()->viewState().zoom, state.zoom);
            QCOMPARE(cell->view()->viewState().pan, state.pan);
        }

        // Colours: per cell, or one scale per method (the larger of the column's).
        HeatmapView *cnnSaliency = compare->grid()->cell(0, 0)->view();
        HeatmapView *vitSaliency = compare->grid()->cell(1, 0)->view();
        const double own0 = cnnSaliency->scale(), own1 = vitSaliency->scale();
        QVERIFY(own0 != own1);
        compare->setScaleMode(CompareView::Scale::PerMethod);
        QCOMPARE(cnnSaliency->scale(), std::max(own0, own1));
        QCOMPARE(vitSaliency->scale(), std::max(own0, own1));
        QVERIFY(compare->grid()->cell(0, 1)->view()->scale() != cnnSaliency->scale());
        compare->setScaleMode(CompareView::Scale::PerCell);
        QCOMPARE(cnnSaliency->scale(), own0);

        // Double-click enlarges a cell, double-click again goes back to the grid.
        CompareCell *gradCam = compare->grid()->cell(1, 1);
        QTest::mouseDClick(gradCam->view(), Qt::LeftButton);
        QCOMPARE(compare->grid()->enlarged(), gradCam);
        QCOMPARE(compare->grid()->enlargedView()->map().data, gradCam->view()->map().data);
        QTest::mouseDClick(compare->grid()->enlargedView(), Qt::LeftButton);
        QVERIFY(!compare->grid()->enlarged());

        // Changing the grid and back reuses the cached cells.
        const uchar *before = compare->document()->cellResult(1, 1)->map.data;
        compare->document()->setMethods({QStringLiteral("saliency")});
        QTRY_VERIFY_WITH_TIMEOUT(compare->document()->isComplete(), kTimeout);
        compare->document()->setMethods({QStringLiteral("saliency"), QStringLiteral("grad-cam")});
        QVERIFY(compare->document()->cellResult(1, 1));
        QCOMPARE(compare->document()->cellResult(1, 1)->map.data, before);
        QTRY_VERIFY_WITH_TIMEOUT(compare->document()->isComplete(), kTimeout);

        // Each model's own prediction as the target.
        compare->setTargetMode(CompareView::Target::Own);
        QTRY_VERIFY_WITH_TIMEOUT(compare->document()->isComplete(), kTimeout);
        for (int r = 0; r < 2; ++r)
            QCOMPARE(compare->document()->cellResult(r, 0)->target,
                     compare->document()->cellResult(r, 0)->prediction.predicted);

        // A method that does not apply to a model says why in its cell; its pairs are undefined.
        compare->document()->setMethods(
            {QStringLiteral("saliency"), QStringLiteral("attention-rollout")});
        QTRY_VERIFY_WITH_TIMEOUT(compare->document()->isComplete(), kTimeout);
        QVERIFY(!compare->document()->cellResult(0, 1)->ok);
        QVERIFY(compare->document()->cellResult(1, 1)->ok);
        QVERIFY2(
            compare->grid()->cell(0, 1)->view()->message().contains(QStringLiteral("attention")),
            qPrintable(compare->grid()->cell(0, 1)->view()->message()));
        QVERIFY(std::isnan(compare->matrixView()->matrix().at(1, 3)));
        QVERIFY(std::isfinite(compare->matrixView()->matrix().at(0, 2)));

        // The same grid over the first images of the dataset: per pair of models and method, the
        // mean agreement of the images (the pair without maps has none), and its histograms.
        auto *dataset = compare->openDatasetDialog();
        QVERIFY(dataset);
        dataset->imagesBox()->setValue(6);
        dataset->runButton()->click();
        QTRY_VERIFY_WITH_TIMEOUT(dataset->isComplete(), kTimeout);
        QCOMPARE(dataset->images().size(), size_t(6));
        QCOMPARE(dataset->table()->rowCount(), 2); // saliency and rollout, CNN vs ViT
        QCOMPARE(dataset->table()->item(0, 6)->text(), QStringLiteral("6"));
        QCOMPARE(dataset->table()->item(1, 6)->text(), QStringLiteral("0"));
        double sum = 0.0;
        for (const auto &image : dataset->images()) {
            QVERIFY(image.cells[0].map.empty()); // maps are not kept, their agreement is
            sum += image.pairs[pairIndex(0, 2, 4)].spearman;
        }
        QVERIFY2(dataset->table()->item(0, 1)->text().startsWith(QString::number(sum / 6, 'f', 3)),
                 qPrintable(dataset->table()->item(0, 1)->text()));
        QVERIFY(dataset->histogram()->graphCount() > 0);
        QVERIFY(dataset->groupBox()->findData(QStringLiteral("correct")) >= 0);

        // Export writes exactly the files of heatlens-cli compare for the same grid and images
        // (the cells' timings aside).
        QVERIFY(dataset->exportButton()->isEnabled());
        const std::string viewerDir = test::makeTempDir("compare-export");
        const std::string cliDir = test::makeTempDir("compare-cli") + "/out";
        const auto written = dataset->exportTo(QString::fromStdString(viewerDir));
        const auto cli = test::runProgram(
            HEATLENS_CLI,
            {"compare", "--models", "demo-cnn,demo-vit", "--methods", "saliency,attention-rollout",
             "--target", "own", "--top-k", "0.25", "--limit", "6", "--dataset",
             QString::fromStdString(demoDatasetPath()), "--out", QString::fromStdString(cliDir)});
        QVERIFY2(cli.exitCode == 0, qPrintable(cli.err));
        QCOMPARE(test::entries(viewerDir), test::entries(cliDir));
        QCOMPARE(written.size(), test::entries(cliDir).size());
        QCOMPARE(test::readAll(viewerDir + "/pairs.csv"), test::readAll(cliDir + "/pairs.csv"));
        auto withoutSeconds = [](const std::string &csv) {
            std::string out, line;
            std::istringstream in(csv);
            while (std::getline(in, line))
                out += line.substr(0, line.rfind(',')) + "\n";
            return out;
        };
        QCOMPARE(withoutSeconds(test::readAll(viewerDir + "/cells.csv")),
                 withoutSeconds(test::readAll(cliDir + "/cells.csv")));
        const QJsonObject viewerSummary =
            test::readJsonObject(QString::fromStdString(viewerDir + "/summary.json"));
        const QJsonObject cliSummary =
            test::readJsonObject(QString::fromStdString(cliDir + "/summary.json"));
        QCOMPARE(viewerSummary.value("pairs"), cliSummary.value("pairs"));
        QCOMPARE(viewerSummary.value("accuracy"), cliSummary.value("accuracy"));
        dataset->close();

        // The consensus feeds the curves panel like any explanation.
        compare->setTargetMode(CompareView::Target::Same);
        QTRY_VERIFY_WITH_TIMEOUT(compare->document()->isComplete(), kTimeout);
        InputGeometry geometry;
        session->model()->preprocess(image, &geometry);
        window.curvesView()->addMapCurve(QStringLiteral("Consensus of Saliency"),
                                         frameToInput(compare->consensusMap(0), geometry));
        tabs->setCurrentWidget(window.curvesView());
        QTRY_VERIFY_WITH_TIMEOUT(window.curvesView()->isComplete(), kTimeout);
        int consensusCurves = 0;
        for (const auto &series : window.curvesView()->series())
            consensusCurves += series.label.startsWith(QStringLiteral("Consensus of Saliency"));
        QCOMPARE(consensusCurves, 2); // deletion and insertion
    }
};

QTEST_MAIN(CompareViewTest)
#include "test_compare_view.moc"
