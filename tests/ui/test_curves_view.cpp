#include "core/explain/MethodRegistry.h"
#include "core/metrics/Faithfulness.h"
#include "core/model/InputImage.h"
#include "core/model/Zoo.h"
#include "tests/support/TestSupport.h"
#include "ui/CompareView.h"
#include "ui/CurvesView.h"
#include "ui/ExplainView.h"
#include "ui/ImageConvert.h"
#include "ui/MainWindow.h"
#include "ui/Session.h"
#include "ui/figure/CurvePlot.h"

#include <QCheckBox>
#include <QFile>
#include <QFileInfo>
#include <QMenu>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTest>
#include <QWindow>

#include <filesystem>

using heatlens::Curve;
using heatlens::CurveOptions;
using heatlens::JobContext;
using heatlens::ui::CurveSeries;
using heatlens::ui::CurvesView;
using heatlens::ui::MainWindow;
using heatlens::ui::Session;

namespace {

constexpr int kTimeout = 60000;

QTabWidget *tabsOf(MainWindow &window)
{
    return qobject_cast<QTabWidget *>(window.centralWidget());
}

// The y values of a graph, in order.
std::vector<double> valuesOf(const QCPGraph *graph)
{
    std::vector<double> values;
    for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it)
        values.push_back(it->value);
    return values;
}

// Empty when `actual` equals `expected` within `tolerance` everywhere, else the first mismatch.
QString mismatch(const std::vector<double> &actual, const std::vector<double> &expected,
                 double tolerance = 1e-6)
{
    if (actual.size() != expected.size())
        return QStringLiteral("%1 points instead of %2").arg(actual.size()).arg(expected.size());
    for (size_t i = 0; i < actual.size(); ++i)
        if (std::abs(actual[i] - expected[i]) > tolerance)
            return QStringLiteral("point %1: %2 instead of %3")
                .arg(i)
                .arg(actual[i], 0, 'g', 9)
                .arg(expected[i], 0, 'g', 9);
    return {};
}

QString aucText(double auc)
{
    return QStringLiteral("AUC ") + QString::number(auc, 'f', 3);
}

// Hovers the plot at `fraction` of the x axis, on the given curve value.
void hover(QCustomPlot *plot, double fraction, double value)
{
    const QPoint at(int(std::lround(plot->xAxis->coordToPixel(fraction))),
                    int(std::lround(plot->yAxis->coordToPixel(value))));
    // Through the window, as the platform delivers a real mouse move (hover, no button).
    QWindow *window = plot->window()->windowHandle();
    QTest::mouseMove(window, window->mapFromGlobal(plot->mapToGlobal(at)));
}

// The step of graph `g` farthest in pixels from every other graph at the same x (the ends
// left out), and that distance: where hovering picks `g` whatever the curves' values are.
std::pair<int, double> probe(QCustomPlot *plot, int g)
{
    int best = -1;
    double margin = -1.0;
    const int n = plot->graph(g)->dataCount();
    for (int k = 1; k + 1 < n; ++k) {
        const double y = plot->yAxis->coordToPixel(plot->graph(g)->data()->at(k)->value);
        double nearest = 1e9;
        for (int h = 0; h < plot->graphCount(); ++h)
            if (h != g && k < plot->graph(h)->dataCount())
                nearest = std::min(
                    nearest,
                    std::abs(plot->yAxis->coordToPixel(plot->graph(h)->data()->at(k)->value) - y));
        if (nearest > margin) {
            margin = nearest;
            best = k;
        }
    }
    return {best, margin};
}

// "<x>% of" as the caption prints the fraction.
QString percentOf(double fraction)
{
    return QString::number(fraction * 100.0, 'g', 3) + QStringLiteral("% of");
}

QImage expectedImage(const heatlens::Model &model, const torch::Tensor &input)
{
    return heatlens::ui::toQImage(heatlens::inputToRgb8(input, model.card()));
}

Curve syntheticCurve(double start, double slope)
{
    Curve c;
    for (int k = 0; k <= 10; ++k) {
        c.fractions.push_back(k / 10.0);
        c.probabilities.push_back(std::clamp(start + slope * k / 10.0, 0.0, 1.0));
        c.logits.push_back(4.0 * c.probabilities.back() - 2.0);
    }
    c.aucProbability = heatlens::trapezoid(c.fractions, c.probabilities);
    c.aucLogit = heatlens::trapezoid(c.fractions, c.logits);
    return c;
}

} // namespace

class CurvesViewTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true); // keep the user's saved layout out of it
        if (const auto missing = heatlens::test::missingDemoData(); !missing.empty())
            QFAIL(missing.c_str());
    }

    void plotsDeletionAndInsertionForTheExplanation()
    {
        MainWindow window;
        window.resize(1400, 900);
        window.show();
        Session *session = window.session();
        CurvesView *view = window.curvesView();
        QVERIFY(view);
        window.openDemo();
        QTRY_VERIFY_WITH_TIMEOUT(session->outcome().has_value(), kTimeout);

        // Not computed while the tab is hidden.
        QTest::qWait(500);
        QVERIFY(!view->isComplete());
        QCOMPARE(view->series().size(), size_t(2));
        QVERIFY(view->series()[0].curve.fractions.empty());

        QTabWidget *tabs = tabsOf(window);
        QVERIFY(tabs);
        const int index = tabs->indexOf(view);
        QCOMPARE(index, tabs->indexOf(window.compareView()) + 1); // Explain, Compare, Curves
        QCOMPARE(tabs->tabText(index), QStringLiteral("Curves"));
        QSignalSpy ready(view, &CurvesView::curvesReady);
        tabs->setCurrentWidget(view);
        QTRY_VERIFY_WITH_TIMEOUT(view->isComplete(), kTimeout);
        QCOMPARE(ready.count(), 1);

        QCustomPlot *plot = view->plot();
        QCOMPARE(plot->graphCount(), 2);
        QCOMPARE(plot->graph(0)->dataCount(), 101);
        QCOMPARE(plot->graph(1)->dataCount(), 101);
        QVERIFY2(plot->graph(0)->name().startsWith(QStringLiteral("Saliency  deletion")),
                 qPrintable(plot->graph(0)->name()));
        QVERIFY2(plot->graph(1)->name().startsWith(QStringLiteral("Saliency  insertion")),
                 qPrintable(plot->graph(1)->name()));
        QCOMPARE(plot->graph(0)->pen().style(), Qt::SolidLine);
        QCOMPARE(plot->graph(1)->pen().style(), Qt::DashLine);
        QCOMPARE(plot->xAxis->label(), QStringLiteral("fraction of pixels perturbed"));
        QCOMPARE(plot->yAxis->label(), QStringLiteral("target probability"));

        // The same curves as core computes on the same input, map and target.
        const auto &outcome = *session->outcome();
        const auto model = session->model();
        const int target = outcome.explanation.target;
        const torch::Tensor input = model->preprocess(session->image());
        CurveOptions deletionOptions; // the tab's defaults: MoRF, black, 100 steps, pixels
        deletionOptions.mode = "deletion";
        CurveOptions insertionOptions = deletionOptions;
        insertionOptions.mode = "insertion";
        const Curve deletion = heatlens::perturbationCurve(
            *model, input, target, outcome.explanation.map, deletionOptions, JobContext{});
        const Curve insertion = heatlens::perturbationCurve(
            *model, input, target, outcome.explanation.map, insertionOptions, JobContext{});
        QVERIFY2(plot->graph(0)->name().endsWith(aucText(deletion.aucProbability)),
                 qPrintable(plot->graph(0)->name() + " vs " + aucText(deletion.aucProbability)));
        QVERIFY2(plot->graph(1)->name().endsWith(aucText(insertion.aucProbability)),
                 qPrintable(plot->graph(1)->name() + " vs " + aucText(insertion.aucProbability)));
        QString diff = mismatch(valuesOf(plot->graph(0)), deletion.probabilities);
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
        diff = mismatch(valuesOf(plot->graph(1)), insertion.probabilities);
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
        // Deletion starts at the model's own probability of the target; a real ranking moves it.
        QVERIFY(std::abs(deletion.probabilities.front() -
                         outcome.prediction.probabilities[size_t(target)]) < 1e-4);
        const auto [lowest, highest] =
            std::minmax_element(deletion.probabilities.begin(), deletion.probabilities.end());
        QVERIFY(*highest - *lowest > 1e-3);

        // The logit axis: the same curves' logits, no recomputation.
        view->logitBox()->setChecked(true);
        QVERIFY(view->isComplete());
        QCOMPARE(plot->yAxis->label(), QStringLiteral("target logit"));
        diff = mismatch(valuesOf(plot->graph(0)), deletion.logits, 1e-5);
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
        diff = mismatch(valuesOf(plot->graph(1)), insertion.logits, 1e-5);
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
        QVERIFY2(plot->graph(0)->name().endsWith(aucText(deletion.aucLogit)),
                 qPrintable(plot->graph(0)->name()));
        view->logitBox()->setChecked(false);
        diff = mismatch(valuesOf(plot->graph(0)), deletion.probabilities);
        QVERIFY2(diff.isEmpty(), qPrintable(diff));

        // The cursor: at x = 0 the deletion preview is the input itself, at 0.5 half deleted.
        // Set directly (the current method's deletion curve): at x = 0 the insertion curve may
        // lie within a pixel of the deletion curve, so a hover there could pick either.
        view->setCursorFraction(0.0);
        const QImage original = expectedImage(*model, input);
        QCOMPARE(view->previewImage().size(), QSize(28, 28));
        QVERIFY(view->previewImage() == original);
        QVERIFY2(view->previewCaption().startsWith(QStringLiteral("Saliency deletion, 0% of "
                                                                  "pixels")),
                 qPrintable(view->previewCaption()));
        view->setCursorFraction(0.5);
        QCOMPARE(view->cursorFraction(), 0.5);
        QVERIFY(view->previewImage() != original);
        QVERIFY(view->previewImage() ==
                expectedImage(*model, heatlens::curveImage(*model, input, outcome.explanation.map,
                                                           deletionOptions, 0.5)));
        const QString caption = view->previewCaption();
        const QString label = QString::fromStdString(model->label(target));
        QVERIFY2(caption.contains(QStringLiteral("deletion, 50% of pixels: p(%1) = %2")
                                      .arg(label)
                                      .arg(deletion.probabilities[50], 0, 'f', 3)),
                 qPrintable(caption));
        auto *cursor = qobject_cast<QCPItemStraightLine *>(plot->item(0));
        QVERIFY(cursor && cursor->visible());
        QCOMPARE(cursor->point1->coords().x(), 0.5);
        // The curve under the mouse, chosen where it is clearly apart from the other: its images.
        for (const int g : {1, 0}) {
            const auto [k, margin] = probe(plot, g);
            QVERIFY2(margin >= 3.0, qPrintable(QString::number(margin)));
            const Curve &curve = g == 1 ? insertion : deletion;
            hover(plot, curve.fractions[size_t(k)], curve.probabilities[size_t(k)]);
            const QString expected =
                QStringLiteral("Saliency %1, %2")
                    .arg(g == 1 ? "insertion" : "deletion", percentOf(curve.fractions[size_t(k)]));
            QVERIFY2(view->previewCaption().startsWith(expected),
                     qPrintable(view->previewCaption() + " vs " + expected));
            QVERIFY(view->previewImage() ==
                    expectedImage(*model,
                                  heatlens::curveImage(*model, input, outcome.explanation.map,
                                                       g == 1 ? insertionOptions : deletionOptions,
                                                       curve.fractions[size_t(k)])));
        }

        // Export: a real PNG of the plot, and a PDF.
        const QString dir = QString::fromStdString(heatlens::test::makeTempDir("curves-export"));
        const QString png = dir + "/curves.png";
        view->exportPlot(png);
        QVERIFY(QFileInfo(png).size() > 5000);
        const QImage written(png);
        QVERIFY(written.width() >= 640 && written.height() >= 420);
        int distinct = 0; // a plot, not a blank canvas: coloured pixels of the curves
        for (int y = 0; y < written.height(); y += 2)
            for (int x = 0; x < written.width(); x += 2)
                distinct += QColor(written.pixel(x, y)) == heatlens::ui::seriesColour(0);
        QVERIFY2(distinct > 20, qPrintable(QString::number(distinct)));
        const QString pdf = dir + "/curves.pdf";
        view->exportPlot(pdf);
        QFile file(pdf);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QVERIFY(file.read(4) == "%PDF");
        const QString bad = dir + "/no-such-folder/curves.png";
        const std::string error =
            heatlens::test::errorOf([&] { view->exportPlot(bad); }); // through saveCurvePlot
        QVERIFY2(heatlens::test::contains(error, bad.toStdString()), error.c_str());

        // Pin, then another method: both methods' curves, four graphs.
        view->pinAction()->trigger();
        session->setMethod(QStringLiteral("grad-cam"));
        QTRY_VERIFY_WITH_TIMEOUT(
            session->outcome()->explanation.methodId == "grad-cam" && view->isComplete(), kTimeout);
        QCOMPARE(plot->graphCount(), 4);
        QVERIFY2(plot->graph(0)->name().startsWith(QStringLiteral("Grad-CAM  deletion")),
                 qPrintable(plot->graph(0)->name()));
        QVERIFY2(plot->graph(2)->name().startsWith(QStringLiteral("Saliency  deletion")),
                 qPrintable(plot->graph(2)->name()));
        QVERIFY(plot->graph(0)->pen().color() != plot->graph(2)->pen().color());
        QCOMPARE(plot->graph(0)->pen().color(), plot->graph(1)->pen().color());
        diff = mismatch(valuesOf(plot->graph(2)), deletion.probabilities);
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
        const Curve gradCam =
            heatlens::perturbationCurve(*model, input, target, session->outcome()->explanation.map,
                                        deletionOptions, JobContext{});
        diff = mismatch(valuesOf(plot->graph(0)), gradCam.probabilities);
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
        const auto [k, margin] = probe(plot, 0); // Grad-CAM deletion, apart from the others
        QVERIFY2(margin >= 3.0, qPrintable(QString::number(margin)));
        hover(plot, gradCam.fractions[size_t(k)], gradCam.probabilities[size_t(k)]);
        QVERIFY2(view->previewCaption().startsWith(QStringLiteral("Grad-CAM deletion, ") +
                                                   percentOf(gradCam.fractions[size_t(k)])),
                 qPrintable(view->previewCaption()));
        window.grab().save(QString(HEATLENS_BINARY_DIR) + "/test-curves-view.png");
        view->clearPinsAction()->trigger();
        QCOMPARE(plot->graphCount(), 2);

        // Hidden tab: nothing is computed; shown again: cached curves are there at once.
        tabs->setCurrentWidget(window.explainView());
        session->setMethod(QStringLiteral("input-x-gradient"));
        QTRY_VERIFY_WITH_TIMEOUT(session->outcome()->explanation.methodId == "input-x-gradient",
                                 kTimeout);
        QTest::qWait(500);
        QVERIFY(!view->isComplete());
        QVERIFY(view->series()[0].curve.fractions.empty());
        session->setMethod(QStringLiteral("grad-cam")); // Session's cache: at once
        QVERIFY(session->outcome()->explanation.methodId == "grad-cam");
        tabs->setCurrentWidget(view);
        QVERIFY(view->isComplete());
        diff = mismatch(valuesOf(plot->graph(0)), gradCam.probabilities);
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
    }

    void compareMenuOffersApplicableMethodsAndARandomControl()
    {
        MainWindow window;
        window.resize(1400, 900);
        window.show();
        Session *session = window.session();
        CurvesView *view = window.curvesView();
        tabsOf(window)->setCurrentWidget(view);
        window.openDemo();
        QTRY_VERIFY_WITH_TIMEOUT(view->isComplete(), kTimeout);
        auto action = [view](const QString &id) -> QAction * {
            for (QAction *a : view->compareMenu()->actions())
                if (a->data().toString() == id)
                    return a;
            return nullptr;
        };
        for (const auto &method : heatlens::MethodRegistry::instance().methods())
            QVERIFY2(action(QString::fromStdString(method->id())), method->id().c_str());
        QVERIFY(action("attention-rollout") && !action("attention-rollout")->isEnabled());
        QVERIFY(action("grad-cam") && action("grad-cam")->isEnabled());
        QVERIFY(action("random") && action("random")->isEnabled());

        view->modeBox()->setCurrentIndex(view->modeBox()->findData(QStringLiteral("deletion")));
        QTRY_VERIFY_WITH_TIMEOUT(view->isComplete(), kTimeout);
        QCOMPARE(view->plot()->graphCount(), 1);
        action("grad-cam")->setChecked(true);
        action("random")->setChecked(true);
        QTRY_VERIFY_WITH_TIMEOUT(view->isComplete(), kTimeout);
        QCustomPlot *plot = view->plot();
        QCOMPARE(plot->graphCount(), 3);
        QVERIFY(plot->graph(1)->name().startsWith(QStringLiteral("Grad-CAM  deletion AUC")));
        QVERIFY(plot->graph(2)->name().startsWith(QStringLiteral("Random ranking  deletion AUC")));
        QCOMPARE(plot->graph(2)->pen().color(), heatlens::ui::controlColour());
        QCOMPARE(plot->graph(1)->dataCount(), 101);
        // Grad-CAM explained in the job with its defaults gives the map the session would give.
        const auto model = session->model();
        const torch::Tensor input = model->preprocess(session->image());
        const auto outcome = heatlens::runExplain(
            {model, session->image(), "grad-cam", {}, session->outcome()->explanation.target, {}},
            JobContext{});
        CurveOptions options;
        const Curve gradCam =
            heatlens::perturbationCurve(*model, input, outcome.explanation.target,
                                        outcome.explanation.map, options, JobContext{});
        const QString diff = mismatch(valuesOf(plot->graph(1)), gradCam.probabilities);
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
        // The random ranking is a different ranking: its curve differs from the methods'.
        QVERIFY(!mismatch(valuesOf(plot->graph(2)), gradCam.probabilities).isEmpty());

        // Options: 10 steps (alone: the cache must tell them apart), then a 4 x 4 grid, least
        // relevant first.
        view->stepsBox()->setValue(10);
        QTRY_VERIFY_WITH_TIMEOUT(view->isComplete(), kTimeout);
        QCOMPARE(plot->graph(1)->dataCount(), 11);
        options.steps = 10;
        const Curve tenSteps =
            heatlens::perturbationCurve(*model, input, outcome.explanation.target,
                                        outcome.explanation.map, options, JobContext{});
        QVERIFY(mismatch(valuesOf(plot->graph(1)), tenSteps.probabilities).isEmpty());
        view->featuresBox()->setCurrentIndex(1);
        view->cellsBox()->setValue(4);
        view->orderBox()->setCurrentIndex(view->orderBox()->findData(QStringLiteral("lerf")));
        QTRY_VERIFY_WITH_TIMEOUT(view->isComplete(), kTimeout);
        QCOMPARE(plot->graph(1)->dataCount(), 11);
        QCOMPARE(plot->xAxis->label(), QStringLiteral("fraction of grid cells perturbed"));
        options.cells = 4;
        options.order = "lerf";
        const Curve grid =
            heatlens::perturbationCurve(*model, input, outcome.explanation.target,
                                        outcome.explanation.map, options, JobContext{});
        QVERIFY(plot->graph(1)->name().endsWith(aucText(grid.aucProbability)));
    }

    void saveCurvePlotWritesPngAndPdfAndNamesBadPaths()
    {
        std::vector<CurveSeries> series(2);
        series[0] = {QStringLiteral("A  deletion"), syntheticCurve(0.9, -0.8),
                     heatlens::ui::seriesColour(0), Qt::SolidLine, false};
        series[1] = {QStringLiteral("A  insertion"), syntheticCurve(0.1, 0.8),
                     heatlens::ui::seriesColour(0), Qt::DashLine, false};
        QCOMPARE(heatlens::ui::curveLegendText(series[0], false),
                 QStringLiteral("A  deletion AUC ") +
                     QString::number(series[0].curve.aucProbability, 'f', 3));
        QVERIFY(heatlens::ui::seriesColour(0) != heatlens::ui::seriesColour(1));
        const QString dir = QString::fromStdString(heatlens::test::makeTempDir("curve-plot"));
        heatlens::ui::saveCurvePlot(series, true, QStringLiteral("title"), dir + "/a.png", 500,
                                    300);
        QCOMPARE(QImage(dir + "/a.png").size(), QSize(500, 300));
        heatlens::ui::saveCurvePlot(series, false, QString(), dir + "/a.pdf", 500, 300);
        QVERIFY(QFileInfo(dir + "/a.pdf").size() > 500);
        for (const QString &bad :
             {QString(dir + "/missing/a.png"), QString(dir + "/a.jpg"), QString("/proc/a.png")}) {
            const std::string error = heatlens::test::errorOf(
                [&] { heatlens::ui::saveCurvePlot(series, false, QString(), bad, 500, 300); });
            QVERIFY2(heatlens::test::contains(error, bad.toStdString()), error.c_str());
        }
    }
};

QTEST_MAIN(CurvesViewTest)
#include "test_curves_view.moc"
