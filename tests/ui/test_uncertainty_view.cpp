// uncertainty_tab_streams_samples_curves_and_sanity: the Uncertainty tab samples the Explain
// tab's explanation under the chosen source as the tab is shown, streams the statistics, shows
// what core computes for the same request, draws every display (mean, std, CV, SNR, value x
// certainty, samples), the prediction's spread, the banded curves and, on demand, the sanity
// verdict of the uncertainty; changing the source samples again, and a source that cannot sample
// the model says why instead of computing.
#include "core/model/Zoo.h"
#include "core/report/ExplanationExport.h"
#include "core/uncertainty/Uncertainty.h"
#include "tests/support/TestSupport.h"
#include "ui/HeatmapView.h"
#include "ui/MainWindow.h"
#include "ui/Session.h"
#include "ui/UncertaintySession.h"
#include "ui/UncertaintyView.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QJsonObject>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTest>

// qcustomplot.h needs Qt's keywords, which Heatlens' targets turn off (QT_NO_KEYWORDS).
#define signals Q_SIGNALS
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef foreach
#undef signals

#include <opencv2/core.hpp>

using heatlens::ui::MainWindow;
using heatlens::ui::Session;
using heatlens::ui::UncertaintySession;
using heatlens::ui::UncertaintyView;

namespace {

constexpr int kTimeout = 120000;

void showTab(MainWindow &window, QWidget *tab)
{
    auto *tabs = window.findChild<QTabWidget *>();
    QVERIFY(tabs);
    tabs->setCurrentWidget(tab);
}

void choose(QComboBox *box, const QString &data)
{
    const int index = box->findData(data);
    QVERIFY2(index >= 0, qPrintable(data));
    box->setCurrentIndex(index);
}

} // namespace

class UncertaintyViewTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        if (const auto missing = heatlens::test::missingDemoData(); !missing.empty())
            QFAIL(missing.c_str());
    }

    void tabSamplesStreamsAndShowsWhatCoreComputes()
    {
        MainWindow window;
        window.resize(1500, 950);
        window.show();
        Session *session = window.session();
        window.openDemo();
        QTRY_VERIFY_WITH_TIMEOUT(session->outcome().has_value(), kTimeout);
        UncertaintyView *view = window.uncertaintyView();
        UncertaintySession *document = view->document();
        QVERIFY(!document->result()); // inactive until shown
        view->samplesBox()->setValue(24);
        showTab(window, view);
        QTRY_VERIFY_WITH_TIMEOUT(document->isComplete(), kTimeout);
        const heatlens::UncertaintyResult shown = *document->result();
        QCOMPARE(shown.sourceId, std::string("mc-dropout"));
        QCOMPARE(shown.methodId, std::string("saliency"));
        QVERIFY(shown.samples >= 5 && shown.samples <= 24);
        QVERIFY(shown.batched); // saliency under MC dropout: rows of one batch

        // The same request in core gives the same maps (same seeds, same rows).
        heatlens::UncertaintyRequest r;
        r.model = session->model();
        r.input = session->model()->preprocess(session->image());
        r.target = session->outcome()->explanation.target;
        r.methodId = "saliency";
        r.params = session->outcome()->explanation.params;
        r.sourceId = "mc-dropout";
        r.options = document->options();
        const auto core = heatlens::explainUncertainty(r, {});
        QCOMPARE(core.samples, shown.samples);
        QVERIFY(cv::norm(core.mean, shown.mean, cv::NORM_INF) <=
                1e-5 * cv::norm(core.mean, cv::NORM_INF));
        QVERIFY(view->statisticsLabel()->text().contains(QString::number(shown.samples)));
        QCOMPARE(view->thumbnailCount(), std::min(12, int(shown.sampleMaps.size())));
        QVERIFY(view->predictionPlot()->plottableCount() == 2);

        // Banded curves follow the complete distribution: two bands (3 graphs each) and the
        // deterministic curve.
        QTRY_VERIFY_WITH_TIMEOUT(document->curvesComplete(), kTimeout);
        QCOMPARE(view->curvePlot()->graphCount(), 7);
        QCOMPARE(document->curves()->modelSamples, std::min(16, shown.samples));

        // Every display draws something over the input image.
        for (const char *what : {"std", "cv", "snr", "vsup", "sample", "mean"}) {
            choose(view->displayBox(), QString::fromLatin1(what));
            QVERIFY2(!view->mapView()->overlayImage().isNull(), what);
        }
        view->animateBox()->setChecked(true);
        QTest::qWait(600);
        view->animateBox()->setChecked(false);
        choose(view->displayBox(), QStringLiteral("vsup"));
        window.grab().save(QString(HEATLENS_BINARY_DIR) + "/test-uncertainty-view.png");

        // The sanity of the uncertainty, on demand.
        view->sanityButton()->click();
        QTRY_VERIFY_WITH_TIMEOUT(document->sanity() && !document->sanity()->verdict.empty(),
                                 kTimeout);
        QVERIFY(view->verdictLabel()->text().contains("pass") ||
                view->verdictLabel()->text().contains("fails"));
        window.grab().save(QString(HEATLENS_BINARY_DIR) + "/test-uncertainty-sanity.png");

        // Export writes the CLI's files; the same export again asks before replacing them.
        const QString dir = QString::fromStdString(heatlens::test::makeTempDir("unc-export"));
        QVERIFY(view->exportTo(dir));
        const QString stem =
            dir + "/" +
            QString::fromStdString(heatlens::safeStem(session->sampleId().toStdString())) +
            "-saliency-mc-dropout";
        for (const char *suffix : {"-mean.npy", "-std.npy", "-cv.npy", "-vsup.png", ".json"})
            QVERIFY2(QFile::exists(stem + suffix), qPrintable(stem + suffix));
        QVERIFY(heatlens::test::readJsonObject(stem + ".json").contains("sanity"));

        // Another source samples again.
        choose(view->sourceBox(), QStringLiteral("dropconnect"));
        QTRY_VERIFY_WITH_TIMEOUT(
            document->isComplete() && document->result()->sourceId == "dropconnect", kTimeout);
        QVERIFY(!document->result()->batched); // weights differ per sample: one at a time

        // The demo CNN is no ensemble: the tab says why and computes nothing.
        choose(view->sourceBox(), QStringLiteral("ensemble"));
        QTRY_VERIFY_WITH_TIMEOUT(!document->result(), kTimeout);
        QVERIFY(!document->whyNotApplicable().empty());
        QVERIFY(view->mapView()->message().contains("not an ensemble"));
    }
};

QTEST_MAIN(UncertaintyViewTest)
#include "test_uncertainty_view.moc"
