#include "ui/CurvesView.h"

#include "core/explain/Baselines.h"
#include "core/explain/MethodRegistry.h"
#include "core/model/InputImage.h"
#include "core/report/ExplanationExport.h"
#include "ui/CurvesSession.h"
#include "ui/ImageConvert.h"
#include "ui/Session.h"
#include "ui/figure/Figures.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QMouseEvent>
#include <QSpinBox>
#include <QSplitter>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>

namespace heatlens::ui {

namespace {

constexpr int kPreviewSize = 240;
// Above this many points in the plot (all curves at the chosen steps), lines are drawn 1 pixel
// wide, which Qt's cosmetic stroker draws several times faster than 2-pixel lines, so that one
// replot stays within a frame (16 ms). Measured offscreen at the tab's size
// (tests/bench/bench_curve_plot): 6 curves x 101 points at 2 px, antialiased, 8 ms; 44 x 501 at
// 2 px 109 ms (40 ms while streaming, not antialiased), at 1 px 5 ms.
constexpr int kWideLinePoints = 1000;
QString qs(const std::string &s)
{
    return QString::fromStdString(s);
}

size_t nearestPoint(const std::vector<double> &fractions, double x)
{
    const auto it = std::lower_bound(fractions.begin(), fractions.end(), x);
    if (it == fractions.end())
        return fractions.size() - 1;
    const size_t k = size_t(it - fractions.begin());
    if (k > 0 && x - fractions[k - 1] < fractions[k] - x)
        return k - 1;
    return k;
}

} // namespace

CurvesView::CurvesView(CurvesSession *document, QWidget *parent)
    : QWidget(parent)
    , m_document(document)
    , m_session(document->session())
    , m_plot(new QCustomPlot(this))
    , m_cursor(new QCPItemStraightLine(m_plot))
    , m_mode(new QComboBox(this))
    , m_order(new QComboBox(this))
    , m_baseline(new QComboBox(this))
    , m_steps(new QSpinBox(this))
    , m_features(new QComboBox(this))
    , m_cells(new QSpinBox(this))
    , m_logit(new QCheckBox(tr("Logit"), this))
    , m_pin(new QAction(tr("Pin"), this))
    , m_clearPins(new QAction(tr("Clear pins"), this))
    , m_export(new QAction(tr("Export plot..."), this))
    , m_compareButton(new QToolButton(this))
    , m_compareMenu(new QMenu(this))
    , m_status(new QLabel(this))
    , m_preview(new QLabel(this))
    , m_caption(new QLabel(this))
{
    m_redrawSoon.setSingleShot(true);
    m_redrawSoon.setInterval(33);
    connect(&m_redrawSoon, &QTimer::timeout, this, &CurvesView::redraw);
    m_plot->setMouseTracking(true);
    m_plot->installEventFilter(this); // refits the legend to the plot's width
    m_plot->setMinimumSize(320, 260);
    m_cursor->setPen(QPen(QColor(0, 0, 0, 150), 1.0, Qt::DotLine));
    m_cursor->setVisible(false);
    m_cursor->setSelectable(false);
    connect(m_plot, &QCustomPlot::mouseMove, this, &CurvesView::onMouseMove);
    connect(m_plot, &QCustomPlot::mousePress, this, &CurvesView::onMouseMove);

    m_preview->setFixedSize(kPreviewSize, kPreviewSize);
    m_preview->setAlignment(Qt::AlignCenter);
    m_preview->setFrameShape(QFrame::StyledPanel);
    m_preview->setToolTip(tr("The perturbed input at the cursor, as the model receives it "
                             "(normalisation undone)"));
    m_caption->setWordWrap(true);
    m_caption->setFixedWidth(kPreviewSize);
    m_caption->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_caption->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto *side = new QWidget(this);
    auto *sideLayout = new QVBoxLayout(side);
    sideLayout->setContentsMargins(4, 0, 0, 0);
    sideLayout->addWidget(m_preview);
    sideLayout->addWidget(m_caption);
    sideLayout->addStretch(1);

    auto *splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(m_plot);
    splitter->addWidget(side);
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 0);
    splitter->setCollapsible(0, false);

    m_status->setWordWrap(true);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(buildControls());
    layout->addWidget(splitter, 1);
    layout->addWidget(m_status);

    connect(document, &CurvesSession::linesChanged, this, &CurvesView::redraw);
    connect(document, &CurvesSession::pointsArrived, this, &CurvesView::redrawSoon);
    connect(document, &CurvesSession::statusChanged, m_status, &QLabel::setText);
    connect(document, &CurvesSession::errorOccurred, this, &CurvesView::errorOccurred);
    connect(document, &CurvesSession::message, this, &CurvesView::message);
    connect(document, &CurvesSession::methodDropped, this, [this](const std::string &id) {
        for (QAction *action : m_compareMenu->actions())
            if (action->data().toString().toStdString() == id) {
                const QSignalBlocker block(action);
                action->setChecked(false);
            }
    });
    connect(m_session, &Session::modelChanged, this, &CurvesView::buildCompareMenu);
    // Ticks as the document has them (a workspace may have set them).
    connect(m_compareMenu, &QMenu::aboutToShow, this, &CurvesView::buildCompareMenu);
    buildCompareMenu();
    forwardSettings();
}

void CurvesView::forwardSettings()
{
    CurvesSession::Settings settings;
    const QString mode = m_mode->currentData().toString();
    settings.modes = mode == QLatin1String("both")
                         ? std::vector<std::string>{"deletion", "insertion"}
                         : std::vector<std::string>{mode.toStdString()};
    settings.order = m_order->currentData().toString().toStdString();
    settings.baseline = m_baseline->currentData().toString().toStdString();
    settings.steps = m_steps->value();
    settings.cells = m_features->currentData().toInt() == 1 ? m_cells->value() : 0;
    m_document->setSettings(settings);
}

void CurvesView::redrawSoon()
{
    if (!m_redrawSoon.isActive())
        m_redrawSoon.start();
}

QString CurvesView::featureName() const
{
    return m_features->currentData().toInt() == 1 ? tr("grid cells") : tr("pixels");
}

QColor CurvesView::colourOf(const std::string &methodKey, bool control)
{
    if (control)
        return controlColour();
    auto it = m_colours.find(methodKey);
    if (it == m_colours.end())
        it = m_colours.emplace(methodKey, int(m_colours.size())).first;
    return seriesColour(it->second);
}

QString CurvesView::title() const
{
    const auto &outcome = m_session->outcome();
    const ModelPtr &model = m_session->model();
    if (!outcome || !model)
        return {};
    return curvesTitle(qs(model->displayName()), m_session->sampleId(),
                       qs(model->label(outcome->explanation.target)),
                       m_order->currentData().toString().toStdString(),
                       m_mode->currentData().toString().toStdString(),
                       m_baseline->currentText().toStdString());
}

void CurvesView::redraw()
{
    m_redrawSoon.stop();
    const bool wasComplete = m_complete;
    m_series.clear();
    m_shown.clear();
    m_complete = true;
    const bool hasCurrent = m_document->hasCurrent();
    std::vector<NamedCurve> curves;
    for (const CurvesSession::Line &line : m_document->lines()) {
        NamedCurve c{line.methodKey, line.name, line.mode, line.control, {}, false};
        if (line.stored) {
            c.curve = line.stored->curve;
            c.complete = line.stored->complete;
        }
        m_complete = m_complete && c.complete;
        curves.push_back(std::move(c));
        m_shown.push_back({line.curveKey, line.name, qs(line.mode), line.current});
    }
    m_complete = m_complete && !curves.empty();
    const int points = int(curves.size()) * (m_steps->value() + 1);
    m_series = curveSeries(curves, points > kWideLinePoints ? 1.0 : 2.0);
    // Colours stay with their method while others come and go (the figure's are by order).
    for (size_t i = 0; i < curves.size(); ++i)
        m_series[i].colour = colourOf(curves[i].methodKey, curves[i].control);
    // While points stream, lines are drawn without antialiasing (half the cost of a replot of
    // many dense curves); the finished plot is drawn smooth.
    m_plot->setNotAntialiasedElements(m_complete ? QCP::aeNone : QCP::aePlottables);
    QElapsedTimer drawing;
    drawing.start();
    // One queued replot per pass of the event loop (updatePreview below asks for it too), not
    // an immediate one inside this handler followed by another: the longest block of the GUI
    // thread is then either building the graphs or drawing them, not both.
    drawCurves(m_plot, m_series, m_logit->isChecked(), title(), featureName(),
               QCustomPlot::rpQueuedReplot);
    // The next streamed redraw waits at least three times as long as this one took (building
    // plus the last replot), so the GUI thread stays free at least three quarters of the time
    // however heavy the plot is.
    const double cost = double(drawing.elapsed()) + m_plot->replotTime();
    m_redrawSoon.setInterval(std::max(33, int(3 * cost)));
    m_pin->setEnabled(hasCurrent);
    m_clearPins->setEnabled(m_document->hasPins());
    m_export->setEnabled(!m_series.empty());
    if (!m_session->model() || m_session->image().empty())
        m_status->setText(tr("Open a model and an image to see its deletion and insertion "
                             "curves."));
    else if (!hasCurrent)
        m_status->setText(tr("Waiting for the explanation..."));
    else if (m_complete)
        m_status->setText(tr("Deletion: the lower the AUC, the better the ranking; insertion: "
                             "the higher, the better. Hover over the plot to see the perturbed "
                             "image."));
    else if (!isVisible() || !m_document->isComputing())
        m_status->setText(tr("Curves not computed yet."));
    updatePreview();
    if (m_complete && !wasComplete)
        Q_EMIT curvesReady();
}

void CurvesView::updatePreview()
{
    int index = -1;
    for (size_t i = 0; i < m_shown.size() && index < 0; ++i)
        if (!m_cursorCurve.empty() && m_shown[i].curveKey == m_cursorCurve)
            index = int(i);
    for (size_t i = 0; i < m_shown.size() && index < 0; ++i) // the current method's deletion
        if (m_shown[i].current && m_shown[i].mode == QLatin1String("deletion"))
            index = int(i);
    if (index < 0 && !m_shown.empty())
        index = 0;
    const CurvesSession::Stored *stored =
        index >= 0 ? m_document->find(m_shown[size_t(index)].curveKey) : nullptr;
    if (!stored || !stored->images || stored->curve.fractions.empty()) {
        m_cursor->setVisible(false);
        m_previewImage = QImage();
        m_preview->setPixmap(QPixmap());
        m_preview->setText(index >= 0 ? tr("Computing...") : QString());
        m_caption->clear();
        m_plot->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const Curve &curve = stored->curve;
    const Shown &shown = m_shown[size_t(index)];
    const size_t k = nearestPoint(curve.fractions, m_cursorX);
    const double fraction = curve.fractions[k];
    m_cursorPoint = fraction;
    m_cursor->point1->setCoords(fraction, 0.0);
    m_cursor->point2->setCoords(fraction, 1.0);
    m_cursor->setVisible(true);
    try {
        m_previewImage =
            toQImage(inputToRgb8(stored->images->image(fraction), m_session->model()->card()));
        const int factor =
            std::max(1, kPreviewSize / std::max(m_previewImage.width(), m_previewImage.height()));
        const QImage shown =
            factor > 1 ? m_previewImage.scaled(m_previewImage.size() * factor, Qt::KeepAspectRatio,
                                               Qt::FastTransformation) // crisp pixels
                       : m_previewImage.scaled(QSize(kPreviewSize, kPreviewSize),
                                               Qt::KeepAspectRatio, Qt::SmoothTransformation);
        m_preview->setPixmap(QPixmap::fromImage(shown));
    } catch (const std::exception &e) {
        m_previewImage = QImage();
        m_preview->setPixmap(QPixmap());
        m_preview->setText(tr("No preview: %1").arg(QString::fromUtf8(e.what())));
    }
    const auto &outcome = m_session->outcome();
    const QString target =
        outcome ? qs(m_session->model()->label(outcome->explanation.target)) : QString();
    const bool logit = m_logit->isChecked();
    const double value = logit ? curve.logits[k] : curve.probabilities[k];
    m_caption->setText(tr("%1 %2, %3% of %4: %5(%6) = %7")
                           .arg(shown.name, shown.mode)
                           .arg(fraction * 100.0, 0, 'g', 3)
                           .arg(featureName(), logit ? tr("logit") : tr("p"), target)
                           .arg(value, 0, 'f', logit ? 2 : 3));
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

QString CurvesView::previewCaption() const
{
    return m_caption->text();
}

void CurvesView::setCursorFraction(double fraction)
{
    m_cursorX = std::clamp(fraction, 0.0, 1.0);
    m_cursorCurve.clear();
    updatePreview();
}

void CurvesView::onMouseMove(QMouseEvent *event)
{
    if (m_series.empty())
        return;
    if (event->type() == QEvent::MouseMove && event->buttons() == Qt::NoButton &&
        !m_plot->axisRect()->rect().contains(event->position().toPoint()))
        return; // hovering elsewhere (legend, title) leaves the cursor where it is
    m_cursorX = std::clamp(m_plot->xAxis->pixelToCoord(event->position().x()), 0.0, 1.0);
    // The curve under the mouse: the nearest one in pixels at that x, if close enough.
    const bool logit = m_logit->isChecked();
    double best = 24.0;
    m_cursorCurve.clear();
    for (size_t i = 0; i < m_series.size(); ++i) {
        const Curve &c = m_series[i].curve;
        const auto &ys = logit ? c.logits : c.probabilities;
        if (c.fractions.empty() || ys.size() != c.fractions.size())
            continue;
        const double y = m_plot->yAxis->coordToPixel(ys[nearestPoint(c.fractions, m_cursorX)]);
        const double distance = std::abs(y - event->position().y());
        if (distance < best) {
            best = distance;
            m_cursorCurve = m_shown[i].curveKey;
        }
    }
    updatePreview();
}

void CurvesView::addMapCurve(const QString &name, const cv::Mat &inputMap)
{
    m_document->addMapCurve(name, inputMap);
}

void CurvesView::exportPlot(const QString &path) const
{
    saveCurvePlot(m_series, m_logit->isChecked(), title(), path, std::max(640, m_plot->width()),
                  std::max(420, m_plot->height()), featureName());
}

void CurvesView::exportDialog()
{
    if (m_series.empty()) {
        Q_EMIT errorOccurred(tr("Nothing to export yet: the Curves tab shows no curves."));
        return;
    }
    const QString stem = qs(safeStem(m_session->sampleId().toStdString()));
    QFileDialog dialog(this, tr("Export plot"), QDir::home().filePath(stem + "-curves.png"),
                       tr("PNG image (*.png);;PDF document (*.pdf)"));
    dialog.setAcceptMode(QFileDialog::AcceptSave); // asks before replacing a file
    dialog.setDefaultSuffix(QStringLiteral("png"));
    connect(&dialog, &QFileDialog::filterSelected, &dialog, [&dialog](const QString &filter) {
        dialog.setDefaultSuffix(filter.contains(QLatin1String("pdf")) ? QStringLiteral("pdf")
                                                                      : QStringLiteral("png"));
    });
    if (dialog.exec() != QDialog::Accepted || dialog.selectedFiles().isEmpty())
        return;
    const QString path = dialog.selectedFiles().front();
    try {
        exportPlot(path);
        Q_EMIT message(tr("Exported the curves plot to %1").arg(path));
    } catch (const std::exception &e) {
        Q_EMIT errorOccurred(tr("Export failed:\n%1").arg(QString::fromUtf8(e.what())));
    }
}

bool CurvesView::eventFilter(QObject *watched, QEvent *event)
{
    if (watched == m_plot && event->type() == QEvent::Resize && fitLegend(m_plot))
        m_plot->replot(QCustomPlot::rpQueuedReplot);
    return QWidget::eventFilter(watched, event);
}

void CurvesView::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    m_document->setActive(true);
}

void CurvesView::hideEvent(QHideEvent *event)
{
    QWidget::hideEvent(event);
    m_document->setActive(false);
}

// The controls and the Compare menu.

QWidget *CurvesView::buildControls()
{
    auto *bar = new QWidget(this);
    auto *rows = new QVBoxLayout(bar);
    rows->setContentsMargins(0, 0, 0, 0);
    auto *row = new QHBoxLayout;
    auto *actions = new QHBoxLayout;
    rows->addLayout(row);
    rows->addLayout(actions);

    m_mode->addItem(tr("deletion + insertion"), QStringLiteral("both"));
    m_mode->addItem(tr("deletion"), QStringLiteral("deletion"));
    m_mode->addItem(tr("insertion"), QStringLiteral("insertion"));
    m_mode->setToolTip(tr("Deletion: the ranked features are replaced by the baseline (a good "
                          "map makes the probability fall fast: low AUC).\nInsertion: from a "
                          "blurred image the ranked features are restored (a good map makes "
                          "it rise fast: high AUC)."));
    m_order->addItem(tr("MoRF"), QStringLiteral("morf"));
    m_order->addItem(tr("LeRF"), QStringLiteral("lerf"));
    m_order->setToolTip(tr("MoRF: most relevant features first; LeRF: least relevant first"));
    for (const auto &kind : baselineKinds())
        m_baseline->addItem(qs(kind), qs(kind));
    m_baseline->setCurrentIndex(m_baseline->findData(qs(CurveOptions().baseline)));
    m_baseline->setToolTip(tr("What deleted features are replaced by. %1").arg(qs(baselineHelp())));
    m_steps->setRange(1, 1000);
    m_steps->setValue(CurveOptions().steps);
    m_steps->setKeyboardTracking(false);
    m_steps->setToolTip(tr("Points on each curve after the first (one forward pass each)"));
    m_features->addItem(tr("pixels"), 0);
    m_features->addItem(tr("grid"), 1);
    m_features->setToolTip(tr("Perturb single pixels, or the cells of an N x N grid ranked by "
                              "their summed attribution"));
    m_cells->setRange(2, 64);
    m_cells->setValue(7);
    m_cells->setPrefix(tr("N = "));
    m_cells->setKeyboardTracking(false);
    m_cells->setEnabled(false);
    m_logit->setToolTip(tr("Plot the target logit instead of its probability (no recomputation)"));

    auto label = [bar](const QString &text) { return new QLabel(text, bar); };
    row->addWidget(label(tr("Mode")));
    row->addWidget(m_mode);
    row->addWidget(label(tr("Order")));
    row->addWidget(m_order);
    row->addWidget(label(tr("Baseline")));
    row->addWidget(m_baseline);
    row->addWidget(label(tr("Steps")));
    row->addWidget(m_steps);
    row->addWidget(label(tr("Features")));
    row->addWidget(m_features);
    row->addWidget(m_cells);
    row->addStretch(1);

    m_pin->setToolTip(tr("Keep the current method's curves on the plot when you move to "
                         "another method (they follow the image and target)"));
    m_clearPins->setToolTip(tr("Remove the pinned methods"));
    m_export->setToolTip(tr("Save the plot as PNG or PDF"));
    m_compareButton->setText(tr("Compare"));
    m_compareButton->setToolTip(tr("Add methods (default parameters) and a random ranking to the "
                                   "plot, explained on this image"));
    m_compareButton->setMenu(m_compareMenu);
    m_compareButton->setPopupMode(QToolButton::InstantPopup);
    m_compareMenu->setToolTipsVisible(true);
    for (QAction *action : {m_pin, m_clearPins, m_export}) {
        auto *button = new QToolButton(bar);
        button->setDefaultAction(action);
        actions->addWidget(button);
        if (action == m_clearPins)
            actions->addWidget(m_compareButton);
    }
    actions->addSpacing(12);
    actions->addWidget(m_logit);
    actions->addStretch(1);

    for (QComboBox *box : {m_mode, m_order, m_baseline, m_features})
        connect(box, &QComboBox::currentIndexChanged, this, &CurvesView::forwardSettings);
    connect(m_steps, &QSpinBox::valueChanged, this, &CurvesView::forwardSettings);
    connect(m_cells, &QSpinBox::valueChanged, this, &CurvesView::forwardSettings);
    connect(m_features, &QComboBox::currentIndexChanged, this,
            [this] { m_cells->setEnabled(m_features->currentData().toInt() == 1); });
    connect(m_mode, &QComboBox::currentIndexChanged, this, [this] {
        m_baseline->setEnabled(m_mode->currentData().toString() != QLatin1String("insertion"));
    });
    connect(m_logit, &QCheckBox::toggled, this, &CurvesView::redraw);
    connect(m_pin, &QAction::triggered, m_document, &CurvesSession::pin);
    connect(m_clearPins, &QAction::triggered, this, [this] {
        m_colours.clear();
        m_document->clearPins();
    });
    connect(m_export, &QAction::triggered, this, &CurvesView::exportDialog);
    return bar;
}

void CurvesView::buildCompareMenu()
{
    m_compareMenu->clear();
    const ModelPtr &model = m_session->model();
    auto add = [this](const QString &text, const std::string &id, const QString &tip,
                      bool enabled) {
        QAction *action = m_compareMenu->addAction(text);
        action->setCheckable(true);
        action->setData(qs(id));
        action->setToolTip(tip);
        action->setEnabled(enabled);
        action->setChecked(m_document->compared().count(id) != 0);
        connect(action, &QAction::toggled, this,
                [this, id](bool on) { m_document->setCompared(id, on); });
    };
    for (const auto &method : MethodRegistry::instance().methods()) {
        std::string why;
        try {
            why = model ? method->whyNotApplicable(*model) : std::string();
        } catch (const std::exception &e) {
            why = e.what();
        }
        // The document has dropped what no longer applies (compared and pinned) already.
        add(qs(method->name()), method->id(), qs(why.empty() ? method->description() : why),
            why.empty());
    }
    m_compareMenu->addSeparator();
    for (const auto &control : MethodRegistry::instance().controls())
        add(tr("%1 (control)").arg(qs(control->name())), control->id(), qs(control->description()),
            true);
}

} // namespace heatlens::ui
