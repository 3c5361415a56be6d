#include "ui/CurvesView.h"

#include "core/explain/Baselines.h"
#include "core/explain/Explainer.h"
#include "core/explain/MethodRegistry.h"
#include "core/io/ExplanationExport.h"
#include "core/metrics/Removal.h"
#include "core/render/InputImage.h"
#include "ui/ImageConvert.h"
#include "ui/JobRunner.h"
#include "ui/Session.h"

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

#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>

namespace heatlens::ui {

namespace {

constexpr size_t kCurveCapacity = 48;
constexpr size_t kMapCapacity = 64;
constexpr uint64_t kRandomSeed = 0;
constexpr int kPreviewSize = 240;
// Above this many points in the plot (all curves at the chosen steps), lines are drawn 1 pixel
// wide, which Qt's cosmetic stroker draws several times faster than 2-pixel lines, so that one
// replot stays within a frame (16 ms). Measured offscreen at the tab's size
// (tests/bench/bench_curve_plot): 6 curves x 101 points at 2 px, antialiased, 8 ms; 44 x 501 at
// 2 px 109 ms (40 ms while streaming, not antialiased), at 1 px 5 ms.
constexpr int kWideLinePoints = 1000;
const char *const kRandomId = "random";

QString qs(const std::string &s)
{
    return QString::fromStdString(s);
}

QString slot()
{
    return QStringLiteral("curves");
}

// What the curves job streams back: a method's map once explained, a curve so far or complete,
// or a comparison method that cannot explain the image.
struct CurveUpdate
{
    std::string mapKey;
    cv::Mat map;
    std::string curveKey;
    Curve curve;
    std::shared_ptr<const CurveImages> images;
    bool complete = false;
    std::string failedMethod; // methodKey
    QString failedName;
    std::string error;
};

// One curve to compute: the map is given (the current explanation, or one computed before), or
// made in the job: explained with methodId/params, or the seeded random ranking.
struct CurveTask
{
    std::string curveKey;
    std::string mapKey;
    std::string methodKey;
    std::string methodId;
    Params params;
    bool random = false;
    cv::Mat map;
    CurveOptions options;
    QString name;
    std::string label; // progress message prefix: "Grad-CAM deletion"
};

std::vector<CurveUpdate> computeCurves(const ModelPtr &model, const cv::Mat &image,
                                       const std::shared_ptr<const Dataset> &dataset, int target,
                                       const std::vector<CurveTask> &tasks, const JobContext &ctx)
{
    const torch::Tensor input = model->preprocess(image);
    std::map<std::string, cv::Mat> maps;
    std::set<std::string> failed;
    std::vector<CurveUpdate> results;
    const double n = double(tasks.size());
    for (size_t i = 0; i < tasks.size(); ++i) {
        const CurveTask &task = tasks[i];
        const JobContext sub = ctx.sub(double(i) / n, double(i + 1) / n, task.label);
        if (failed.count(task.methodKey))
            continue;
        cv::Mat map = task.map;
        if (map.empty())
            if (auto it = maps.find(task.mapKey); it != maps.end())
                map = it->second;
        double curveBegin = 0.0;
        if (map.empty()) {
            if (task.random) {
                map = randomMap(int(input.size(2)), int(input.size(3)), kRandomSeed);
            } else {
                try {
                    map = runExplain({model, image, task.methodId, task.params, target, dataset},
                                     sub.sub(0.0, 0.5))
                              .explanation.map;
                } catch (const Cancelled &) {
                    throw;
                } catch (const std::exception &e) {
                    // One comparison method failing must not take the others down.
                    failed.insert(task.methodKey);
                    CurveUpdate update;
                    update.failedMethod = task.methodKey;
                    update.failedName = task.name;
                    update.error = e.what();
                    sub.reportPartialResult(1.0, update);
                    continue;
                }
                curveBegin = 0.5;
            }
            maps[task.mapKey] = map;
            CurveUpdate update;
            update.mapKey = task.mapKey;
            update.map = map;
            sub.reportPartialResult(curveBegin, update);
        }
        const JobContext curveCtx = sub.sub(curveBegin, 1.0);
        auto images = std::make_shared<const CurveImages>(*model, input, map, task.options);
        CurveUpdate done;
        done.curveKey = task.curveKey;
        done.images = images;
        done.curve = perturbationCurve(
            *model, input, target, map, task.options, curveCtx, [&](const Curve &curve) {
                CurveUpdate update;
                update.curveKey = task.curveKey;
                update.curve = curve;
                update.images = images;
                curveCtx.reportPartialResult(
                    double(curve.fractions.size()) / double(task.options.steps + 1), update);
            });
        done.complete = true;
        sub.reportPartialResult(1.0, done);
        results.push_back(std::move(done));
    }
    return results;
}

// "Grad-CAM", or "Grad-CAM (layer=features.block2)" when parameters differ from the defaults.
QString displayName(const Method &method, const Params &params)
{
    const Params defaults = completeParams(method.params(), Params(), method.id());
    QStringList changed;
    for (const auto &[name, value] : params.values())
        if (!defaults.has(name) || defaults.get(name) != value)
            changed << qs(name + "=" + paramValueText(value));
    QString text = qs(method.name());
    if (!changed.isEmpty())
        text += QStringLiteral(" (") + changed.join(QStringLiteral(", ")) + QLatin1Char(')');
    return text;
}

QString curveCount(int n)
{
    return n == 1 ? CurvesView::tr("1 curve") : CurvesView::tr("%1 curves").arg(n);
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

CurvesView::CurvesView(Session *session, QWidget *parent)
    : QWidget(parent)
    , m_session(session)
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

    connect(session, &Session::explanationReady, this, &CurvesView::refresh);
    connect(session, &Session::sampleChanged, this, &CurvesView::refresh);
    connect(session, &Session::explanationStarted, this, [this] {
        // The explanation is about to change: it goes first on the one compute lane.
        cancelJob();
        m_status->setText(tr("Waiting for the explanation of %1...").arg(m_session->methodId()));
    });
    connect(session, &Session::modelChanged, this, [this] {
        buildCompareMenu();
        refresh();
    });
    buildCompareMenu();
    refresh();
}

std::vector<std::string> CurvesView::modes() const
{
    const QString mode = m_mode->currentData().toString();
    if (mode == QLatin1String("both"))
        return {"deletion", "insertion"};
    return {mode.toStdString()};
}

CurveOptions CurvesView::options(const std::string &mode) const
{
    CurveOptions o;
    o.mode = mode;
    o.order = m_order->currentData().toString().toStdString();
    o.baseline = m_baseline->currentData().toString().toStdString();
    o.steps = m_steps->value();
    o.cells = m_features->currentData().toInt() == 1 ? m_cells->value() : 0;
    o.seed = kRandomSeed;
    return o;
}

QString CurvesView::featureName() const
{
    return m_features->currentData().toInt() == 1 ? tr("grid cells") : tr("pixels");
}

std::string CurvesView::contextKey() const
{
    const auto &outcome = m_session->outcome();
    if (!outcome || !m_session->model())
        return {};
    return m_session->model()->cacheKey() + "|" +
           (m_session->dataset() ? m_session->dataset()->source() : std::string()) + "|" +
           m_session->sampleId().toStdString() + "|" + std::to_string(outcome->explanation.target);
}

std::string CurvesView::curveKey(const Entry &entry, const std::string &mode) const
{
    const CurveOptions o = options(mode);
    // Insertion starts from the blurred image whatever the deletion baseline.
    return contextKey() + "|" + entry.methodKey + "|" + o.mode + "|" + o.order + "|" +
           std::to_string(o.steps) + "|" + std::to_string(o.cells) + "|" +
           (o.mode == "deletion" ? o.baseline : std::string());
}

std::vector<CurvesView::Entry> CurvesView::entries() const
{
    std::vector<Entry> list;
    const auto &outcome = m_session->outcome();
    if (!outcome || !m_session->model())
        return list;
    std::set<std::string> seen;
    auto add = [&](Entry e) {
        if (seen.insert(e.methodKey).second)
            list.push_back(std::move(e));
    };
    auto methodEntry = [](const std::string &id, const Params &params) {
        const Method &method = MethodRegistry::instance().get(id);
        return Entry{
            id + "|" + params.canonical(), id, params, displayName(method, params), false, {}, {}};
    };
    add(methodEntry(outcome->explanation.methodId, outcome->explanation.params));
    for (const Entry &e : m_pins)
        if (e.context.empty() || e.context == contextKey())
            add(e);
    for (const auto &method : MethodRegistry::instance().methods())
        if (m_compare.count(method->id()))
            add(methodEntry(method->id(), completeParams(method->params(), {}, method->id())));
    if (m_compare.count(kRandomId))
        add(Entry{std::string(kRandomId) + "|seed=" + std::to_string(kRandomSeed),
                  {},
                  {},
                  tr("Random ranking"),
                  true,
                  {},
                  {}});
    return list;
}

const CurvesView::Stored *CurvesView::find(const std::string &curveKey) const
{
    if (auto it = m_curves.find(curveKey); it != m_curves.end())
        return &it->second;
    if (auto it = m_streaming.find(curveKey); it != m_streaming.end())
        return &it->second;
    return nullptr;
}

void CurvesView::store(const std::string &curveKey, Stored stored)
{
    if (m_curves.count(curveKey) == 0)
        m_curveOrder.push_back(curveKey);
    m_curves[curveKey] = std::move(stored);
    // Evict the oldest curves, never one the plot shows (that would compute it again and again).
    std::set<std::string> shown;
    for (const auto &s : m_shown)
        shown.insert(s.curveKey);
    shown.insert(curveKey);
    for (auto it = m_curveOrder.begin();
         m_curves.size() > kCurveCapacity && it != m_curveOrder.end();) {
        if (shown.count(*it)) {
            ++it;
            continue;
        }
        m_curves.erase(*it);
        it = m_curveOrder.erase(it);
    }
}

void CurvesView::storeMap(const std::string &mapKey, const cv::Mat &map)
{
    if (m_maps.count(mapKey) != 0)
        return;
    m_maps[mapKey] = map;
    m_mapOrder.push_back(mapKey);
    while (m_maps.size() > kMapCapacity) {
        m_maps.erase(m_mapOrder.front());
        m_mapOrder.pop_front();
    }
}

QColor CurvesView::colourOf(const Entry &entry)
{
    if (entry.control)
        return controlColour();
    auto it = m_colours.find(entry.methodKey);
    if (it == m_colours.end())
        it = m_colours.emplace(entry.methodKey, int(m_colours.size())).first;
    return seriesColour(it->second);
}

QString CurvesView::title() const
{
    const auto &outcome = m_session->outcome();
    const ModelPtr &model = m_session->model();
    if (!outcome || !model)
        return {};
    // Two short lines: the plot is often narrow, and a text element does not wrap.
    QString text = tr("%1, image %2, target %3\n%4")
                       .arg(qs(model->displayName()), m_session->sampleId(),
                            qs(model->label(outcome->explanation.target)),
                            m_order->currentData().toString() == QLatin1String("morf")
                                ? tr("most relevant first")
                                : tr("least relevant first"));
    if (m_mode->currentData().toString() != QLatin1String("insertion"))
        text += tr(", deleted to %1").arg(m_baseline->currentText());
    return text;
}

void CurvesView::refresh()
{
    const auto &outcome = m_session->outcome();
    if (outcome && m_session->model()) {
        // The current explanation's map serves pins and later option changes too.
        const std::string mapKey = contextKey() + "|" + outcome->explanation.methodId + "|" +
                                   outcome->explanation.params.canonical();
        storeMap(mapKey, outcome->explanation.map);
    }
    redraw();
    if (!isVisible())
        return; // computed when the tab is shown
    submit();
}

void CurvesView::submit()
{
    const auto &outcome = m_session->outcome();
    const ModelPtr model = m_session->model();
    std::vector<CurveTask> tasks;
    if (outcome && model && !m_session->image().empty()) {
        const std::string context = contextKey();
        for (const Entry &entry : entries())
            for (const std::string &mode : modes()) {
                const std::string key = curveKey(entry, mode);
                if (auto it = m_curves.find(key); it != m_curves.end() && it->second.complete)
                    continue;
                CurveTask task;
                task.curveKey = key;
                task.mapKey = context + "|" + entry.methodKey;
                task.methodKey = entry.methodKey;
                task.methodId = entry.methodId;
                task.params = entry.params;
                task.random = entry.control;
                if (!entry.map.empty())
                    task.map = entry.map;
                else if (auto it = m_maps.find(task.mapKey); it != m_maps.end())
                    task.map = it->second;
                task.options = options(mode);
                task.name = entry.name;
                task.label = (entry.name + QLatin1Char(' ') + qs(mode)).toStdString();
                tasks.push_back(std::move(task));
            }
    }
    std::string jobKey;
    for (const auto &t : tasks)
        jobKey += t.curveKey + "\n";
    if (!m_jobAlive.expired() && jobKey == m_jobKey)
        return; // the job in flight computes exactly this
    cancelJob();
    if (tasks.empty())
        return;
    m_jobKey = jobKey;
    m_jobTimer.start();
    auto alive = std::make_shared<int>(0); // expires with the job (done, dropped or cancelled)
    m_jobAlive = alive;
    const int target = outcome->explanation.target;
    m_status->setText(tr("Computing %1...").arg(curveCount(int(tasks.size()))));
    JobRunner::Job job{
        slot(),
        tr("Curves of %1").arg(m_session->sampleId()),
        [alive, model, image = m_session->image(), dataset = m_session->dataset(), target,
         tasks](const JobContext &ctx) -> std::any {
            (void)alive; // held, not used: its expiry tells the view that the job is gone
            return computeCurves(model, image, dataset, target, tasks, ctx);
        },
        this,
        [this](std::any result) {
            auto updates = std::any_cast<std::vector<CurveUpdate>>(std::move(result));
            const int count = int(updates.size());
            for (auto &update : updates)
                onPartial(std::any(std::move(update)), false);
            m_streaming.clear();
            redraw();
            Q_EMIT message(tr("Curves of %1: %2 in %3 s")
                               .arg(m_session->sampleId(), curveCount(count))
                               .arg(m_jobTimer.elapsed() / 1000.0, 0, 'f', 2));
        },
        [this](const QString &message) {
            m_status->setText(tr("The curves could not be computed: %1").arg(message));
            Q_EMIT errorOccurred(
                tr("Cannot compute the curves of %1:\n%2").arg(m_session->sampleId(), message));
        },
        [this](const ProgressUpdate &u) {
            if (u.partialResult.has_value())
                onPartial(u.partialResult);
        }};
    m_session->runner()->submit(std::move(job));
}

void CurvesView::onPartial(const std::any &result, bool draw)
{
    const auto *update = std::any_cast<CurveUpdate>(&result);
    if (!update)
        return;
    if (!update->mapKey.empty())
        storeMap(update->mapKey, update->map);
    if (!update->failedMethod.empty()) {
        // Dropped from the plot, so that it is not tried again on every change.
        const std::string key = update->failedMethod;
        m_pins.erase(std::remove_if(m_pins.begin(), m_pins.end(),
                                    [&](const Entry &e) { return e.methodKey == key; }),
                     m_pins.end());
        const std::string id = key.substr(0, key.find('|'));
        for (QAction *action : m_compareMenu->actions())
            if (action->data().toString().toStdString() == id && action->isChecked()) {
                const QSignalBlocker block(action);
                action->setChecked(false);
                m_compare.erase(id);
            }
        Q_EMIT errorOccurred(tr("%1 cannot explain %2 for the curves comparison:\n%3")
                                 .arg(update->failedName, m_session->sampleId(),
                                      QString::fromStdString(update->error)));
    }
    if (!update->curveKey.empty()) {
        Stored stored{update->curve, update->images, update->complete};
        if (update->complete) {
            m_streaming.erase(update->curveKey);
            store(update->curveKey, std::move(stored));
        } else {
            m_streaming[update->curveKey] = std::move(stored);
        }
    }
    if (draw && !m_redrawSoon.isActive())
        m_redrawSoon.start();
}

void CurvesView::redraw()
{
    m_redrawSoon.stop();
    const bool wasComplete = m_complete;
    m_series.clear();
    m_shown.clear();
    m_complete = true;
    const auto list = entries();
    const bool hasCurrent = !list.empty();
    for (size_t e = 0; e < list.size(); ++e) {
        const Entry &entry = list[e];
        const QColor colour = colourOf(entry);
        for (const std::string &mode : modes()) {
            const std::string key = curveKey(entry, mode);
            CurveSeries series;
            series.label = entry.name + QStringLiteral("  ") + qs(mode);
            series.colour = colour;
            series.style = mode == "insertion" ? Qt::DashLine : Qt::SolidLine;
            const Stored *stored = find(key);
            series.partial = !stored || !stored->complete;
            if (stored)
                series.curve = stored->curve;
            m_complete = m_complete && !series.partial;
            m_series.push_back(std::move(series));
            m_shown.push_back({key, entry.name, qs(mode), e == 0});
        }
    }
    m_complete = m_complete && !m_series.empty();
    const int points = int(m_series.size()) * (m_steps->value() + 1);
    for (CurveSeries &series : m_series)
        series.width = points > kWideLinePoints ? 1.0 : 2.0;
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
    m_clearPins->setEnabled(!m_pins.empty());
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
    else if (!isVisible() || m_jobAlive.expired())
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
    const Stored *stored = index >= 0 ? find(m_shown[size_t(index)].curveKey) : nullptr;
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

void CurvesView::pin()
{
    const auto list = entries();
    if (list.empty())
        return;
    const Entry &current = list.front();
    for (const Entry &e : m_pins)
        if (e.methodKey == current.methodKey)
            return;
    m_pins.push_back(current);
    Q_EMIT message(tr("Pinned %1 on the Curves tab").arg(current.name));
    refresh();
}

void CurvesView::addMapCurve(const QString &name, const cv::Mat &inputMap)
{
    const std::string context = contextKey();
    if (context.empty() || inputMap.empty())
        return;
    Entry entry;
    entry.methodKey = "map:" + name.toStdString() + "|" + std::to_string(cv::sum(inputMap)[0]);
    entry.name = name;
    entry.map = inputMap.clone();
    entry.context = context;
    m_pins.erase(std::remove_if(m_pins.begin(), m_pins.end(),
                                [&](const Entry &e) { return e.methodKey == entry.methodKey; }),
                 m_pins.end());
    m_pins.push_back(std::move(entry));
    Q_EMIT message(tr("Pinned %1 on the Curves tab").arg(name));
    refresh();
}

void CurvesView::clearPins()
{
    m_pins.clear();
    m_colours.clear();
    refresh();
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
    refresh();
}

void CurvesView::hideEvent(QHideEvent *event)
{
    QWidget::hideEvent(event);
    // Only while visible: the lane goes back to whatever the user looks at now.
    cancelJob();
}

void CurvesView::cancelJob()
{
    if (!m_jobAlive.expired())
        m_session->runner()->cancel(slot());
    m_jobAlive.reset(); // a cancelled job may linger a moment: it no longer counts as in flight
    m_jobKey.clear();
    m_streaming.clear();
}

} // namespace heatlens::ui
