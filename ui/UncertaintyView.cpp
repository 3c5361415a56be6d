#include "ui/UncertaintyView.h"

#include "core/explain/MethodRegistry.h"
#include "core/maps/MapMath.h"
#include "core/model/InputImage.h"
#include "core/render/UncertaintyColors.h"
#include "ui/FlowLayout.h"
#include "ui/HeatmapView.h"
#include "ui/ImageConvert.h"
#include "ui/ParamEditor.h"
#include "ui/Session.h"
#include "ui/UncertaintySession.h"
#include "ui/figure/CurvePlot.h"
#include "ui/figure/UncertaintyPlots.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace heatlens::ui {

namespace {

constexpr int kStripMaps = 12;

QString qs(const std::string &s)
{
    return QString::fromStdString(s);
}

QString number(double v, int digits = 3)
{
    return std::isfinite(v) ? QString::number(v, 'f', digits) : QStringLiteral("-");
}

// A sample map as a small overlay over the input, scaled to [0, 1] by its own |max|.
QImage thumbnail(const cv::Mat &base, const cv::Mat &map, bool signedMap)
{
    Normalization norm;
    norm.signedMap = signedMap;
    norm.clipPercentile = 99.0;
    cv::Mat normalised;
    normalizeMap(map, norm, normalised);
    const cv::Mat heat =
        colorize(normalised, signedMap ? ColorMapId::CoolWarm : ColorMapId::Viridis);
    // Small inputs (28 x 28) are enlarged: an icon never scales up.
    const QImage image = toQImage(overlayHeatmap(base, heat, 0.6));
    return image.width() >= 72 ? image : image.scaled(72, 72, Qt::KeepAspectRatio);
}

// The palette's legend (RGBA, transparent around the wedge).
QPixmap legendPixmap(ColorMapId id)
{
    const cv::Mat rgba = vsupLegend(80, id);
    return QPixmap::fromImage(
        QImage(rgba.data, rgba.cols, rgba.rows, int(rgba.step), QImage::Format_RGBA8888).copy());
}

} // namespace

UncertaintyView::UncertaintyView(UncertaintySession *document, QWidget *parent)
    : QWidget(parent)
    , m_document(document)
    , m_source(new QComboBox(this))
    , m_sourceForm(new QWidget(this))
    , m_sourceLayout(new QFormLayout(m_sourceForm))
    , m_samples(new QSpinBox(this))
    , m_targetError(new QDoubleSpinBox(this))
    , m_normalise(new QComboBox(this))
    , m_percentiles(new QCheckBox(tr("percentiles"), this))
    , m_run(new QPushButton(tr("Sample again"), this))
    , m_export(new QPushButton(tr("Export..."), this))
    , m_status(new QLabel(this))
    , m_display(new QComboBox(this))
    , m_view(new HeatmapView(this))
    , m_legend(new QLabel(this))
    , m_strip(new QWidget(this))
    , m_stripLayout(new QGridLayout(m_strip))
    , m_animate(new QCheckBox(tr("Play samples"), this))
    , m_speed(new QSlider(Qt::Horizontal, this))
    , m_timer(new QTimer(this))
    , m_stats(new QLabel(this))
    , m_verdict(new QLabel(this))
    , m_sanityButton(new QPushButton(tr("Check sanity"), this))
    , m_predictionPlot(new QCustomPlot(this))
    , m_curveKind(new QComboBox(this))
    , m_ranking(new QComboBox(this))
    , m_curvePlot(new QCustomPlot(this))
    , m_delta(new QLabel(this))
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(buildControls());
    m_status->setWordWrap(true);
    layout->addWidget(m_status);
    auto *split = new QSplitter(Qt::Horizontal, this);
    split->addWidget(buildMapPanel());
    // The statistics, plots and curves scroll rather than overlap on a short screen.
    // Vertically only: the column keeps its least width.
    auto *side = new QScrollArea(split);
    QWidget *panel = buildSidePanel();
    side->setWidgetResizable(true);
    side->setFrameShape(QFrame::NoFrame);
    side->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    side->setWidget(panel);
    side->setMinimumWidth(panel->minimumSizeHint().width() +
                          side->verticalScrollBar()->sizeHint().width());
    split->addWidget(side);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    layout->addWidget(split, 1);

    connect(document, &UncertaintySession::resultChanged, this, &UncertaintyView::display);
    connect(document, &UncertaintySession::curvesChanged, this, &UncertaintyView::displayCurves);
    connect(document, &UncertaintySession::sanityChanged, this, &UncertaintyView::displaySanity);
    connect(document, &UncertaintySession::statusChanged, m_status, &QLabel::setText);
    connect(document, &UncertaintySession::uncertaintyReady, this,
            &UncertaintyView::uncertaintyReady);
    connect(document, &UncertaintySession::errorOccurred, this, &UncertaintyView::errorOccurred);
    connect(m_timer, &QTimer::timeout, this, &UncertaintyView::step);
    rebuildSourceForm();
    displaySanity();
}

QWidget *UncertaintyView::buildControls()
{
    auto *bar = new QWidget(this);
    auto *row = new FlowLayout(bar); // wraps when the window is narrow
    row->setContentsMargins(0, 0, 0, 0);
    for (const auto &s : SourceRegistry::instance().sources()) {
        m_source->addItem(qs(s->name()), qs(s->id()));
        m_source->setItemData(m_source->count() - 1, qs(s->description()), Qt::ToolTipRole);
    }
    m_source->setCurrentIndex(m_source->findData(qs(m_document->sourceId())));
    m_samples->setRange(2, 1000);
    m_samples->setValue(m_document->options().maxSamples);
    m_samples->setKeyboardTracking(false);
    m_samples->setToolTip(tr("At most this many samples (ensembles and TTA stop at their "
                             "members or transforms)"));
    m_targetError->setRange(0.0, 0.5);
    m_targetError->setSingleStep(0.01);
    m_targetError->setValue(m_document->options().targetError);
    m_targetError->setKeyboardTracking(false);
    m_targetError->setToolTip(tr("Stop once the std map's estimated relative error is below "
                                 "this (0: run every sample)"));
    m_normalise->addItem(tr("raw"), QStringLiteral("raw"));
    m_normalise->addItem(tr("each sample / its max"), QStringLiteral("max"));
    m_percentiles->setToolTip(tr("5/25/50/75/95th percentile maps (keeps every sample map)"));
    m_sourceLayout->setContentsMargins(0, 0, 0, 0);
    row->addWidget(new QLabel(tr("Source"), bar));
    row->addWidget(m_source);
    row->addWidget(m_sourceForm);
    row->addWidget(new QLabel(tr("samples"), bar));
    row->addWidget(m_samples);
    row->addWidget(new QLabel(tr("stop at error"), bar));
    row->addWidget(m_targetError);
    row->addWidget(m_normalise);
    row->addWidget(m_percentiles);
    row->addWidget(m_run);
    m_export->setToolTip(tr("Write the maps (.npy), overlays (.png) and the JSON summary, the "
                            "files of heatlens-cli uncertainty, into a folder"));
    row->addWidget(m_export);
    connect(m_source, &QComboBox::currentIndexChanged, this, [this] {
        rebuildSourceForm();
        forwardSource();
    });
    connect(m_samples, &QSpinBox::valueChanged, this, &UncertaintyView::forwardOptions);
    connect(m_targetError, &QDoubleSpinBox::valueChanged, this, &UncertaintyView::forwardOptions);
    connect(m_normalise, &QComboBox::currentIndexChanged, this, &UncertaintyView::forwardOptions);
    connect(m_percentiles, &QCheckBox::toggled, this, &UncertaintyView::forwardOptions);
    connect(m_run, &QPushButton::clicked, m_document, &UncertaintySession::runAgain);
    connect(m_export, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Export to folder"));
        if (!dir.isEmpty())
            exportTo(dir);
    });
    return bar;
}

QWidget *UncertaintyView::buildMapPanel()
{
    auto *panel = new QWidget(this);
    auto *column = new QVBoxLayout(panel);
    column->setContentsMargins(0, 0, 0, 0);
    auto *row = new QHBoxLayout();
    const std::vector<std::pair<QString, QString>> displays = {
        {tr("mean"), QStringLiteral("mean")},
        {tr("standard deviation"), QStringLiteral("std")},
        {tr("coefficient of variation (grey: undefined)"), QStringLiteral("cv")},
        {tr("signal to noise |mean| / std"), QStringLiteral("snr")},
        {tr("value x certainty"), QStringLiteral("vsup")},
        {tr("sample maps"), QStringLiteral("sample")}};
    for (const auto &[label, id] : displays)
        m_display->addItem(label, id);
    row->addWidget(new QLabel(tr("Show"), panel));
    row->addWidget(m_display, 1);
    m_speed->setRange(1, 20);
    m_speed->setValue(4);
    m_speed->setToolTip(tr("Samples per second"));
    m_speed->setMaximumWidth(120);
    row->addWidget(m_animate);
    row->addWidget(m_speed);
    column->addLayout(row);
    column->addWidget(m_view, 1);
    m_legend->setWordWrap(true);
    m_legend->setMinimumHeight(40);
    column->addWidget(m_legend);
    auto *scroll = new QScrollArea(panel);
    scroll->setWidgetResizable(true);
    scroll->setWidget(m_strip);
    scroll->setFixedHeight(104);
    m_stripLayout->setContentsMargins(2, 2, 2, 2);
    m_stripLayout->setSpacing(4);
    column->addWidget(scroll);
    connect(m_display, &QComboBox::currentIndexChanged, this, &UncertaintyView::displayMap);
    connect(m_animate, &QCheckBox::toggled, this, [this](bool on) {
        if (on) {
            m_display->setCurrentIndex(m_display->findData(QStringLiteral("sample")));
            m_timer->start(1000 / m_speed->value());
        } else {
            m_timer->stop();
        }
    });
    connect(m_speed, &QSlider::valueChanged, this, [this](int perSecond) {
        if (m_timer->isActive())
            m_timer->start(1000 / perSecond);
    });
    return panel;
}

QWidget *UncertaintyView::buildSidePanel()
{
    auto *panel = new QWidget(this);
    auto *column = new QVBoxLayout(panel);
    column->setContentsMargins(0, 0, 0, 0);
    m_stats->setTextFormat(Qt::RichText);
    m_stats->setWordWrap(true);
    m_stats->setTextInteractionFlags(Qt::TextSelectableByMouse);
    column->addWidget(m_stats);
    auto *sanityRow = new QHBoxLayout();
    m_verdict->setWordWrap(true);
    sanityRow->addWidget(m_verdict, 1);
    m_sanityButton->setToolTip(tr("Randomise the model layer by layer and sample again: do the "
                                  "mean and the std maps change with the weights? (Runs by itself "
                                  "when a CV map is shown.)"));
    sanityRow->addWidget(m_sanityButton);
    column->addLayout(sanityRow);
    m_predictionPlot->setMinimumHeight(150);
    column->addWidget(m_predictionPlot, 2);
    auto *curveRow = new QHBoxLayout();
    for (const char *kind : {"deletion", "insertion", "road"})
        m_curveKind->addItem(QString::fromLatin1(kind), QString::fromLatin1(kind));
    m_ranking->addItem(tr("ranked by the mean"), QStringLiteral("mean"));
    m_ranking->addItem(tr("ranked by the 5th percentile"), QStringLiteral("p5"));
    m_ranking->addItem(tr("ranked by SNR"), QStringLiteral("snr"));
    curveRow->addWidget(new QLabel(tr("Curves"), panel));
    curveRow->addWidget(m_curveKind);
    curveRow->addWidget(m_ranking, 1);
    column->addLayout(curveRow);
    m_curvePlot->setMinimumHeight(200);
    m_curvePlot->xAxis->setLabel(tr("fraction of pixels perturbed"));
    m_curvePlot->yAxis->setLabel(tr("target probability"));
    m_curvePlot->yAxis->setRange(0, 1);
    m_curvePlot->legend->setVisible(true);
    m_curvePlot->legend->setFont(QFont(font().family(), 8));
    // The legend goes under the axes: its lines are long and the panel is narrow.
    m_curvePlot->axisRect()->insetLayout()->take(m_curvePlot->legend);
    m_curvePlot->plotLayout()->addElement(1, 0, m_curvePlot->legend);
    m_curvePlot->plotLayout()->setRowStretchFactor(1, 0.001);
    column->addWidget(m_curvePlot, 3);
    m_delta->setWordWrap(true);
    column->addWidget(m_delta);
    connect(m_sanityButton, &QPushButton::clicked, m_document, &UncertaintySession::checkSanity);
    connect(m_curveKind, &QComboBox::currentIndexChanged, this,
            &UncertaintyView::forwardCurveOptions);
    connect(m_ranking, &QComboBox::currentIndexChanged, this,
            &UncertaintyView::forwardCurveOptions);
    return panel;
}

void UncertaintyView::rebuildSourceForm()
{
    while (m_sourceLayout->rowCount() > 0)
        m_sourceLayout->removeRow(0);
    const auto &source =
        SourceRegistry::instance().get(m_source->currentData().toString().toStdString());
    const Params values = source.id() == m_document->sourceId()
                              ? m_document->sourceParams()
                              : completeParams(source.params(), {}, source.id());
    m_sourceLayout->setRowWrapPolicy(QFormLayout::DontWrapRows);
    auto *host = new QWidget(m_sourceForm);
    auto *row = new QHBoxLayout(host);
    row->setContentsMargins(0, 0, 0, 0);
    for (const auto &spec : source.params()) {
        if (spec.name == "seed")
            continue; // fixed per run; the CLI sets it
        QWidget *editor = scalarParamEditor(spec, values.get(spec.name), host,
                                            [this](const ParamValue &) { forwardSource(); });
        if (!editor)
            continue;
        editor->setObjectName(QStringLiteral("source-") + qs(spec.name));
        editor->setToolTip(qs(spec.help));
        row->addWidget(new QLabel(qs(spec.label), host));
        row->addWidget(editor);
    }
    m_sourceLayout->addRow(host);
}

void UncertaintyView::forwardSource()
{
    const std::string id = m_source->currentData().toString().toStdString();
    const auto &source = SourceRegistry::instance().get(id);
    Params params = completeParams(source.params(), {}, id);
    for (const auto &spec : source.params()) {
        const auto *editor =
            m_sourceForm->findChild<QWidget *>(QStringLiteral("source-") + qs(spec.name));
        if (const auto *b = qobject_cast<const QCheckBox *>(editor))
            params.set(spec.name, b->isChecked());
        else if (const auto *i = qobject_cast<const QSpinBox *>(editor))
            params.set(spec.name, i->value());
        else if (const auto *d = qobject_cast<const QDoubleSpinBox *>(editor))
            params.set(spec.name, d->value());
        else if (const auto *c = qobject_cast<const QComboBox *>(editor))
            params.set(spec.name, c->currentText().toStdString());
    }
    m_document->setSource(id, params);
}

void UncertaintyView::forwardOptions()
{
    UncertaintyOptions o = m_document->options();
    o.maxSamples = m_samples->value();
    o.targetError = m_targetError->value();
    o.normalise = m_normalise->currentData().toString().toStdString();
    o.percentiles = m_percentiles->isChecked();
    o.keepMaps = std::max(64, o.maxSamples);
    m_document->setOptions(o);
}

void UncertaintyView::forwardCurveOptions()
{
    UncertaintyCurveOptions o = m_document->curveOptions();
    o.kind = m_curveKind->currentData().toString().toStdString();
    o.ranking = m_ranking->currentData().toString().toStdString();
    m_document->setCurveOptions(o);
}

void UncertaintyView::display()
{
    displayMap();
    displayStatistics();
    displayPrediction();
    rebuildStrip();
    if (!m_document->result())
        displayCurves();
}

void UncertaintyView::displayMap()
{
    const auto &result = m_document->result();
    m_view->setPaintedOverlay({});
    m_view->setFixedRange(0, 0);
    if (!result || !m_document->input().defined()) {
        m_view->setMap({}, false);
        m_view->setMessage(qs(m_document->whyNotApplicable()));
        m_legend->clear();
        return;
    }
    const UncertaintyResult &r = *result;
    const auto &model = m_document->session()->model();
    m_view->setImage(inputToRgb8(m_document->input(), model->card()));
    m_view->setMessage(r.complete ? QString() : tr("sampling: %1 so far").arg(r.samples));
    const QString what = m_display->currentData().toString();
    QString legend = tr("T = %1, %2, %3 maps")
                         .arg(r.samples)
                         .arg(qs(r.sourceDescription))
                         .arg(r.normalise == "max" ? tr("max-normalised") : tr("raw"));
    m_legend->setPixmap(QPixmap());
    m_legend->setMinimumHeight(40);
    m_view->setOpacity(0.55);
    if (what == QLatin1String("std")) {
        m_view->setColorMap(ColorMapId::Inferno);
        m_view->setMap(r.stdDev, false);
    } else if (what == QLatin1String("cv")) {
        m_view->setColorMap(ColorMapId::Inferno);
        m_view->setFixedRange(0.0, 2.0);
        m_view->setMap(r.cv, false);
        legend += tr("; CV = std / |mean| from 0 to 2, grey where |mean| < 1% of its maximum "
                     "(%1% of pixels)")
                      .arg(r.undefinedCvFraction * 100.0, 0, 'f', 1);
    } else if (what == QLatin1String("snr")) {
        m_view->setColorMap(ColorMapId::Viridis);
        m_view->setFixedRange(0.0, 5.0);
        m_view->setMap(r.snr, false);
        legend += tr("; SNR from 0 to 5, grey where the std is 0");
    } else if (what == QLatin1String("vsup")) {
        Normalization norm;
        norm.signedMap = r.signedMap;
        cv::Mat normalised;
        normalizeMap(r.mean, norm, normalised);
        cv::Mat uncertainty = r.cv.clone();
        for (auto it = uncertainty.begin<float>(); it != uncertainty.end<float>(); ++it)
            *it = std::isfinite(*it) ? std::min(1.0f, *it) : 1.0f;
        const ColorMapId id = r.signedMap ? ColorMapId::CoolWarm : ColorMapId::Viridis;
        m_view->setMap(r.mean, r.signedMap);
        m_view->setPaintedOverlay(vsupColorize(normalised, uncertainty, id, r.signedMap));
        m_view->setOpacity(0.9); // the palette itself fades uncertain values
        m_legend->setMinimumHeight(84);
        m_legend->setPixmap(legendPixmap(id));
        legend.clear();
    } else if (what == QLatin1String("sample") && !r.sampleMaps.empty()) {
        const int k = m_frame % int(r.sampleMaps.size());
        m_view->setColorMap(ColorMapId::Viridis);
        m_view->setMap(r.sampleMaps[size_t(k)], r.signedMap);
        legend = tr("sample %1 of %2 kept").arg(k + 1).arg(r.sampleMaps.size());
    } else {
        m_view->setColorMap(ColorMapId::Viridis);
        m_view->setMap(r.mean, r.signedMap);
    }
    // A CV map is read with its sanity verdict beside it: a method that ignores the weights has
    // a low CV for the wrong reason. The check runs once per request (then cached).
    if ((what == QLatin1String("cv") || what == QLatin1String("vsup")) && r.complete &&
        !m_document->sanity())
        m_document->checkSanity();
    if (!legend.isEmpty())
        m_legend->setText(legend);
    else
        m_legend->setToolTip(tr("Value along the arc, uncertainty toward the tip: uncertain "
                                "values fade to white and merge (CV 1 or more is the top level)"));
}

void UncertaintyView::displayStatistics()
{
    const auto &result = m_document->result();
    if (!result) {
        m_stats->clear();
        return;
    }
    const UncertaintyResult &r = *result;
    const auto &model = *m_document->session()->model();
    const PredictionSpread &p = r.prediction;
    QString text = tr("<b>%1</b> under <b>%2</b>: %3 samples%4<br>")
                       .arg(qs(MethodRegistry::instance().get(r.methodId).name()),
                            qs(SourceRegistry::instance().get(r.sourceId).name()))
                       .arg(r.samples)
                       .arg(r.complete ? QStringLiteral(" (") + qs(r.stopReason) + QLatin1Char(')')
                                       : tr(", sampling..."));
    text += tr("mean CV %1 (median %2; undefined on %3% of pixels), std map's relative error "
               "%4<br>")
                .arg(number(r.meanCv), number(r.medianCv))
                .arg(r.undefinedCvFraction * 100.0, 0, 'f', 1)
                .arg(number(r.relativeStdError, 3));
    if (r.complete)
        text += tr("rank stability %1, top-%2% IoU %3<br>")
                    .arg(number(r.rankStability))
                    .arg(m_document->options().topFraction * 100.0, 0, 'f', 0)
                    .arg(number(r.topIoU));
    text += tr("prediction: %1 of samples away from %2; entropy %3, mutual information %4 nats")
                .arg(number(p.flipRate * 100.0, 0) + QLatin1Char('%'))
                .arg(qs(model.label(p.deterministicClass)))
                .arg(number(p.entropy), number(p.mutualInformation));
    for (const auto &w : r.warnings)
        text += QStringLiteral("<br><span style='color:#c60'>") + qs(w).toHtmlEscaped() +
                QStringLiteral("</span>");
    m_stats->setText(text);
}

void UncertaintyView::displayPrediction()
{
    m_predictionPlot->clearPlottables();
    const auto &result = m_document->result();
    if (!result || result->prediction.meanProbabilities.empty()) {
        m_predictionPlot->replot();
        return;
    }
    const auto &p = result->prediction;
    const auto &model = *m_document->session()->model();
    std::vector<int> order(p.meanProbabilities.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) {
        return p.meanProbabilities[size_t(a)] > p.meanProbabilities[size_t(b)];
    });
    order.resize(std::min<size_t>(order.size(), 5));
    auto *bars = new QCPBars(m_predictionPlot->xAxis, m_predictionPlot->yAxis);
    auto *votes = new QCPBars(m_predictionPlot->xAxis, m_predictionPlot->yAxis);
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    QVector<double> x, mean, share, x2;
    for (size_t i = 0; i < order.size(); ++i) {
        const int c = order[i];
        x << double(i) - 0.2;
        x2 << double(i) + 0.2;
        mean << p.meanProbabilities[size_t(c)];
        share << double(std::count(p.sampleClasses.begin(), p.sampleClasses.end(), c)) /
                     std::max<size_t>(1, p.sampleClasses.size());
        ticker->addTick(double(i), qs(model.label(c)));
    }
    bars->setData(x, mean);
    bars->setWidth(0.38);
    bars->setName(tr("mean probability"));
    bars->setBrush(seriesColour(0));
    votes->setData(x2, share);
    votes->setWidth(0.38);
    votes->setName(tr("share of samples predicting it"));
    votes->setBrush(seriesColour(1));
    m_predictionPlot->xAxis->setTicker(ticker);
    m_predictionPlot->xAxis->setRange(-0.6, double(order.size()) - 0.4);
    m_predictionPlot->yAxis->setRange(0, 1.05);
    m_predictionPlot->xAxis->setTickLabelFont(QFont(font().family(), 8));
    m_predictionPlot->xAxis->setTickLabelRotation(20);
    m_predictionPlot->legend->setVisible(true);
    m_predictionPlot->legend->setFont(QFont(font().family(), 8));
    m_predictionPlot->replot();
}

void UncertaintyView::rebuildStrip()
{
    while (QLayoutItem *item = m_stripLayout->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    m_thumbnails = 0;
    const auto &result = m_document->result();
    if (!result || !m_document->input().defined())
        return;
    const cv::Mat base = inputToRgb8(m_document->input(), m_document->session()->model()->card());
    const int n = std::min(kStripMaps, int(result->sampleMaps.size()));
    for (int k = 0; k < n; ++k) {
        auto *button = new QToolButton(m_strip);
        button->setIcon(QIcon(
            QPixmap::fromImage(thumbnail(base, result->sampleMaps[size_t(k)], result->signedMap))));
        button->setIconSize(QSize(72, 72));
        button->setToolTip(tr("sample %1").arg(k + 1));
        connect(button, &QToolButton::clicked, this, [this, k] {
            m_frame = k;
            m_display->setCurrentIndex(m_display->findData(QStringLiteral("sample")));
            displayMap();
        });
        m_stripLayout->addWidget(button, 0, k);
        ++m_thumbnails;
    }
}

void UncertaintyView::step()
{
    const auto &result = m_document->result();
    if (!result || result->sampleMaps.empty())
        return;
    m_frame = (m_frame + 1) % int(result->sampleMaps.size());
    displayMap();
}

void UncertaintyView::displayCurves()
{
    m_curvePlot->clearGraphs();
    const auto &curves = m_document->curves();
    if (!curves || curves->samples.fractions.empty()) {
        m_delta->setText(m_document->result() && m_document->isComplete()
                             ? tr("Computing the banded curves...")
                             : QString());
        m_curvePlot->replot();
        return;
    }
    const UncertaintyCurves &c = *curves;
    drawBand(m_curvePlot, c.samples, seriesColour(0), tr("sample maps"));
    drawBand(m_curvePlot, c.rankedMap, seriesColour(1),
             tr("%1 map, sampled models").arg(qs(c.ranking)), Qt::DashLine);
    auto *deterministic = m_curvePlot->addGraph();
    deterministic->setData(
        QVector<double>(c.deterministic.fractions.begin(), c.deterministic.fractions.end()),
        QVector<double>(c.deterministic.probabilities.begin(), c.deterministic.probabilities.end()),
        true);
    deterministic->setPen(QPen(controlColour(), 1.5, Qt::DotLine));
    deterministic->setName(tr("%1 map, model as given  AUC %2")
                               .arg(qs(c.ranking))
                               .arg(c.deterministic.aucProbability, 0, 'f', 3));
    m_curvePlot->xAxis->setRange(0, 1);
    m_curvePlot->yAxis->setRange(0, 1);
    m_curvePlot->replot();
    m_delta->setText(
        tr("%1 model samples%2. Confident versus uncertain pixels (top %3% by |mean|, split by "
           "SNR): deleting the confident half leaves AUC %4, the uncertain half %5; difference "
           "%6 [%7, %8 over the model samples]%9")
            .arg(c.modelSamples)
            .arg(m_document->curvesComplete() ? QString() : tr(" so far"))
            .arg(m_document->curveOptions().topFraction * 100.0, 0, 'f', 0)
            .arg(number(c.confidentAuc), number(c.uncertainAuc), number(c.delta),
                 number(c.deltaLow), number(c.deltaHigh))
            .arg(c.delta > 0 ? tr(": the confident pixels matter more.")
                             : tr(": the certainty does not single out the pixels that matter.")));
}

void UncertaintyView::displaySanity()
{
    const auto &sanity = m_document->sanity();
    if (!sanity) {
        m_verdict->setText(tr("<i>Not checked:</i> does the uncertainty react to the weights? A "
                              "method that ignores them has a low CV for the wrong reason."));
        return;
    }
    const bool done = sanity->steps.size() > 0 && !sanity->verdict.empty();
    const QString colour =
        sanity->meanPasses && sanity->stdPasses ? QStringLiteral("#2a7") : QStringLiteral("#c60");
    m_verdict->setText(done ? QStringLiteral("<span style='color:%1'>%2</span>")
                                  .arg(colour, qs(sanity->verdict).toHtmlEscaped())
                            : tr("Randomising: %1 steps so far...").arg(sanity->steps.size()));
}

bool UncertaintyView::exportTo(const QString &dir)
{
    const auto existing = m_document->existingExportFiles(dir.toStdString());
    if (!existing.empty() &&
        QMessageBox::question(this, tr("Replace files?"),
                              tr("%1 files of this image, method and source are in %2 (%3, ...). "
                                 "Replace them?")
                                  .arg(existing.size())
                                  .arg(dir, qs(existing.front()))) != QMessageBox::Yes)
        return false;
    try {
        const auto written = m_document->exportTo(dir.toStdString(), true);
        m_status->setText(tr("Exported %1 files to %2").arg(written.size()).arg(dir));
        return true;
    } catch (const std::exception &e) {
        Q_EMIT errorOccurred(tr("Export failed:\n%1").arg(QString::fromUtf8(e.what())));
        return false;
    }
}

void UncertaintyView::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    m_document->setActive(true);
}

void UncertaintyView::hideEvent(QHideEvent *event)
{
    QWidget::hideEvent(event);
    m_document->setActive(false);
    m_animate->setChecked(false);
}

} // namespace heatlens::ui
