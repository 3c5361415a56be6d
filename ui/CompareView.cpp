#include "ui/CompareView.h"

#include "core/data/Dataset.h"
#include "core/explain/MethodRegistry.h"
#include "core/model/Preprocess.h"
#include "core/model/Zoo.h"
#include "core/render/ColorMap.h"
#include "ui/CompareNames.h"
#include "ui/CompareWidgets.h"
#include "ui/JobRunner.h"
#include "ui/Session.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialog>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QPushButton>
#include <QRegularExpression>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QToolButton>
#include <QVBoxLayout>

#include <cmath>

namespace heatlens::ui {

using compare::methodName;
using compare::qs;

namespace {

constexpr size_t kCacheCapacity = 160;
const char *const kCellSlot = "compare";
const char *const kAgreementSlot = "compare-agreement";

// A cell to compute, and what comes back for it.
struct CellTask
{
    std::string key;
    ModelPtr model;
    std::string methodId;
    int target = -1;
};
struct CellUpdate
{
    std::string key;
    CellResult result;
};

} // namespace

CompareView::CompareView(Session *session, QWidget *parent)
    : QWidget(parent)
    , m_session(session)
    , m_grid(new CompareGrid(this))
    , m_matrix(new AgreementMatrixView(this))
    , m_addButton(new QToolButton(this))
    , m_addMenu(new QMenu(this))
    , m_methodButton(new QToolButton(this))
    , m_methodMenu(new QMenu(this))
    , m_target(new QComboBox(this))
    , m_scale(new QComboBox(this))
    , m_absolute(new QCheckBox(tr("|value|"), this))
    , m_clip(new QDoubleSpinBox(this))
    , m_topK(new QSpinBox(this))
    , m_metric(new QComboBox(this))
    , m_status(new QLabel(this))
    , m_selection(new QLabel(this))
    , m_methods({QStringLiteral("saliency"), QStringLiteral("integrated-gradients"),
                 QStringLiteral("grad-cam")})
{
    auto *scroll = new QScrollArea(this);
    scroll->setWidgetResizable(true);
    scroll->setWidget(m_grid);
    m_grid->setMinimumSize(300, 300);

    auto *side = new QWidget(this);
    auto *sideLayout = new QVBoxLayout(side);
    sideLayout->setContentsMargins(0, 0, 0, 0);
    auto *metricRow = new QHBoxLayout;
    metricRow->addWidget(new QLabel(tr("Matrix"), side));
    for (const auto &metric : agreementMetrics())
        m_metric->addItem(qs(agreementMetricLabel(metric, 0.1)), qs(metric));
    m_metric->setToolTip(tr("The agreement metric the matrix shows (the tooltips show all)"));
    metricRow->addWidget(m_metric, 1);
    auto *exportButton = new QPushButton(tr("Export..."), side);
    exportButton->setToolTip(tr("Save the matrix as PNG or PDF"));
    metricRow->addWidget(exportButton);
    sideLayout->addLayout(metricRow);
    sideLayout->addWidget(m_matrix, 1);
    m_selection->setWordWrap(true);
    m_selection->setTextFormat(Qt::RichText);
    m_selection->setTextInteractionFlags(Qt::TextSelectableByMouse);
    sideLayout->addWidget(m_selection);

    auto *splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(scroll);
    splitter->addWidget(side);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    splitter->setSizes({600, 400});
    m_matrix->setToolTip(tr("Double-click: the matrix in a window of its own"));
    connect(m_matrix, &AgreementMatrixView::doubleClicked, this, [this] {
        if (!m_complete)
            return;
        auto *dialog = new QDialog(this);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        dialog->setWindowTitle(m_matrix->matrix().title);
        auto *view = new AgreementMatrixView(dialog);
        view->setMatrix(m_matrix->matrix());
        view->setToolTipProvider([this](int a, int b) { return agreementText(a, b); });
        auto *layout = new QVBoxLayout(dialog);
        layout->addWidget(view);
        dialog->resize(agreementMatrixSize(m_matrix->matrix()) + QSize(40, 40));
        dialog->show();
    });

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(buildControls());
    layout->addWidget(splitter, 1);
    layout->addWidget(m_status);

    m_matrix->setToolTipProvider([this](int a, int b) { return agreementText(a, b); });
    connect(m_matrix, &AgreementMatrixView::entryClicked, this,
            [this](int a, int b) { selectCells(a, b); });
    connect(m_grid, &CompareGrid::cellClicked, this, &CompareView::onCellClicked);
    connect(m_grid, &CompareGrid::cellContextMenu, this, &CompareView::onCellMenu);
    connect(exportButton, &QPushButton::clicked, this, &CompareView::exportDialog);
    connect(m_metric, &QComboBox::currentIndexChanged, this, &CompareView::updateMatrix);

    connect(session, &Session::modelChanged, this, [this] {
        m_rows.erase(std::remove_if(m_rows.begin(), m_rows.end(),
                                    [&](const Row &r) {
                                        return r.session || (m_session->model() &&
                                                             r.model->cacheKey() ==
                                                                 m_session->model()->cacheKey());
                                    }),
                     m_rows.end());
        if (m_session->model())
            m_rows.insert(m_rows.begin(), Row{m_session->model(), true});
        refresh();
    });
    connect(session, &Session::sampleChanged, this, [this] {
        m_grid->setImage(m_session->image());
        refresh();
    });
    connect(session, &Session::explanationReady, this, &CompareView::refresh);
    connect(session, &Session::datasetChanged, this, &CompareView::refresh);
    buildMethodMenu();
    refresh();
}

CompareView::~CompareView() = default;

void CompareView::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    refresh();
}

int CompareView::targetFor() const
{
    const auto mode = Target(m_target->currentData().toInt());
    if (mode == Target::Own)
        return -1;
    if (mode == Target::Label && m_session->dataset() && m_session->currentIndex() >= 0) {
        const int label = m_session->dataset()->label(size_t(m_session->currentIndex()));
        if (label >= 0)
            return label;
    }
    if (const auto &outcome = m_session->outcome())
        return outcome->explanation.target;
    const int predicted = m_session->predictionFor(m_session->currentIndex());
    return predicted >= 0 ? predicted : -2;
}

std::string CompareView::cellKey(int row, int column) const
{
    const std::string id = m_methods[column].toStdString();
    const Method &method = MethodRegistry::instance().get(id);
    return m_rows[size_t(row)].model->cacheKey() + "|" +
           (m_session->dataset() ? m_session->dataset()->source() : std::string()) + "|" +
           m_session->sampleId().toStdString() + "|" + id + "|" +
           completeParams(method.params(), {}, id).canonical() + "|" + std::to_string(targetFor());
}

const CellResult *CompareView::cellResult(int row, int column) const
{
    if (row < 0 || column < 0 || size_t(row) >= m_rows.size() || column >= m_methods.size() ||
        m_session->image().empty())
        return nullptr;
    auto it = m_cache.find(cellKey(row, column));
    return it == m_cache.end() ? nullptr : &it->second;
}

void CompareView::refresh()
{
    rebuildGrid();
    showCells();
    if (!isVisible())
        return; // computed when the tab is shown
    submitCells();
}

void CompareView::rebuildGrid()
{
    QStringList rows, columns;
    for (const Row &r : m_rows)
        rows << qs(r.model->displayName());
    for (const QString &id : m_methods)
        columns << methodName(id.toStdString());
    if (m_grid->setShape(rows, columns, {tr("Consensus (mean)"), tr("Disagreement (std)")},
                         tr("All cells"))) {
        m_selected.clear();
        for (size_t r = 0; r < m_rows.size(); ++r)
            m_grid->setRowToolTip(
                int(r), qs(m_rows[r].model->path()) +
                            (m_rows[r].session ? tr("\n(the Explain tab's model)") : QString()));
    }
}

void CompareView::showCells()
{
    const bool haveImage = !m_session->image().empty();
    const int label = m_session->dataset() && m_session->currentIndex() >= 0
                          ? m_session->dataset()->label(size_t(m_session->currentIndex()))
                          : -1;
    for (int r = 0; r < m_grid->rowCount(); ++r)
        for (int c = 0; c < m_grid->columnCount(); ++c) {
            CompareCell *cell = m_grid->cell(r, c);
            HeatmapView *view = cell->view();
            const CellResult *result = haveImage ? cellResult(r, c) : nullptr;
            if (!result) {
                view->setMap({}, false);
                view->setMessage(!haveImage          ? tr("No image")
                                 : targetFor() == -2 ? tr("Waiting for the Explain tab's class")
                                                     : tr("Computing..."));
                cell->setCaption(QStringLiteral(" "));
                cell->setToolTip(QString());
                continue;
            }
            if (!result->ok) {
                // The reason's first clause in the cell ("the model has no attention layers"),
                // all of it in the tooltip.
                const QString why = qs(result->error);
                view->setMap({}, false);
                view->setMessage(why.section(QLatin1Char('('), 0, 0).trimmed());
                cell->setCaption(tr("<i>no map</i>"));
                cell->setToolTip(why);
                continue;
            }
            if (view->map().data != result->map.data)
                view->setMap(result->map, result->signedMap);
            view->setMessage(QString());
            const Model &model = *m_rows[size_t(r)].model;
            const int predicted = result->prediction.predicted;
            QString text =
                tr("%1 %2")
                    .arg(qs(model.label(predicted)).toHtmlEscaped())
                    .arg(double(result->prediction.probabilities[size_t(predicted)]), 0, 'f', 2);
            if (label >= 0 && predicted != label)
                text = QStringLiteral("<span style='color:#c03030'>%1 \u2717</span>").arg(text);
            text += tr("<br>explains %1").arg(qs(model.label(result->target)).toHtmlEscaped());
            cell->setCaption(text);
            cell->setToolTip(tr("%1 s%2")
                                 .arg(result->seconds, 0, 'f', 3)
                                 .arg(result->layer.empty()
                                          ? QString()
                                          : tr(", layer %1").arg(qs(result->layer))));
        }
    showConsensus();
    applyDisplay();
}

void CompareView::showConsensus()
{
    const bool current = m_agreements.key == agreementKey() && !m_agreements.key.empty();
    for (int c = 0; c <= m_grid->columnCount(); ++c)
        for (int kind = 0; kind < 2; ++kind) {
            CompareCell *cell = m_grid->extraCell(kind, c);
            if (!cell)
                continue;
            const Consensus *consensus = current && size_t(c) < m_agreements.consensus.size()
                                             ? &m_agreements.consensus[c]
                                             : nullptr;
            if (!consensus || consensus->maps == 0) {
                cell->view()->setMap({}, false);
                cell->view()->setMessage(current ? tr("No map to combine") : QString());
                cell->setCaption(QStringLiteral(" "));
                continue;
            }
            const cv::Mat &map = kind == 0 ? consensus->mean : consensus->spread;
            if (cell->view()->map().data != map.data)
                cell->view()->setMap(map, kind == 0 && !m_absolute->isChecked());
            cell->view()->setMessage(QString());
            cell->setCaption(kind == 0
                                 ? tr("mean of %1 maps<br>(each normalised)").arg(consensus->maps)
                                 : tr("std of %1 maps<br>(each normalised)").arg(consensus->maps));
        }
}

void CompareView::applyDisplay()
{
    const bool absolute = m_absolute->isChecked();
    const double clip = m_clip->value();
    for (HeatmapView *v : m_grid->views()) {
        v->setShowAbsolute(absolute);
        v->setClipPercentile(clip);
    }
    const auto mode = Scale(m_scale->currentData().toInt());
    std::vector<double> scales(size_t(m_grid->rowCount() * m_grid->columnCount()), 0.0);
    if (mode != Scale::PerCell)
        for (int r = 0; r < m_grid->rowCount(); ++r)
            for (int c = 0; c < m_grid->columnCount(); ++c)
                scales[size_t(r * m_grid->columnCount() + c)] =
                    m_grid->cell(r, c)->view()->ownScale();
    double all = 0.0;
    for (double s : scales)
        all = std::max(all, s);
    for (int r = 0; r < m_grid->rowCount(); ++r)
        for (int c = 0; c < m_grid->columnCount(); ++c) {
            double shared = 0.0;
            if (mode == Scale::Shared)
                shared = all;
            else if (mode == Scale::PerMethod)
                for (int k = 0; k < m_grid->rowCount(); ++k)
                    shared = std::max(shared, scales[size_t(k * m_grid->columnCount() + c)]);
            m_grid->cell(r, c)->view()->setSharedScale(shared);
        }
    // Consensus values are normalised already: 1 is full agreement on "most relevant"; the
    // spread of values in [0, 1] is at most 0.5.
    for (int c = 0; c <= m_grid->columnCount(); ++c) {
        if (auto *cell = m_grid->extraCell(0, c))
            cell->view()->setSharedScale(1.0);
        if (auto *cell = m_grid->extraCell(1, c))
            cell->view()->setSharedScale(0.5);
    }
    // The compact views have no numbers on their colour bars: the captions give the range.
    auto scaleText = [&](HeatmapView *v) {
        if (v->map().empty())
            return QString();
        const QString top = QString::number(v->scale(), 'g', 2);
        return v->signedMap() && !absolute ? tr("colours \u00b1%1").arg(top)
                                           : tr("colours 0\u2013%1").arg(top);
    };
    for (CompareCell *cell : m_grid->cells())
        cell->setScaleText(scaleText(cell->view()));
    for (CompareCell *cell : m_grid->extraCells())
        cell->setScaleText(scaleText(cell->view()));
    m_grid->refreshEnlarged();
}

AgreementOptions CompareView::agreementOptions() const
{
    AgreementOptions o;
    o.absolute = m_absolute->isChecked();
    o.clipPercentile = m_clip->value();
    o.topFraction = m_topK->value() / 100.0;
    return o;
}

std::string CompareView::agreementKey() const
{
    if (m_session->image().empty())
        return {};
    std::string key;
    for (int r = 0; r < m_grid->rowCount(); ++r)
        for (int c = 0; c < m_grid->columnCount(); ++c) {
            if (!cellResult(r, c))
                return {}; // not every cell is computed yet
            key += cellKey(r, c) + "\n";
        }
    const AgreementOptions o = agreementOptions();
    return key + (o.absolute ? "abs|" : "signed|") + std::to_string(o.clipPercentile) + "|" +
           std::to_string(o.topFraction);
}

void CompareView::submitCells()
{
    std::vector<CellTask> tasks;
    for (int r = 0; r < m_grid->rowCount() && !m_session->image().empty(); ++r)
        for (int c = 0; c < m_grid->columnCount(); ++c) {
            if (cellResult(r, c) || targetFor() == -2)
                continue;
            tasks.push_back(
                {cellKey(r, c), m_rows[size_t(r)].model, m_methods[c].toStdString(), targetFor()});
        }
    std::string jobKey;
    for (const auto &t : tasks)
        jobKey += t.key + "\n";
    if (tasks.empty()) {
        m_session->runner()->cancel(QString::fromLatin1(kCellSlot));
        m_cellJob.clear();
        if (m_grid->rowCount() * m_grid->columnCount() > 0 && targetFor() != -2)
            submitAgreement();
        else
            setComplete(false);
        return;
    }
    setComplete(false);
    if (!m_cellJobAlive.expired() && jobKey == m_cellJob)
        return; // the job in flight computes exactly this
    m_cellJob = jobKey;
    auto alive = std::make_shared<int>(0);
    m_cellJobAlive = alive;
    const cv::Mat image = m_session->image();
    const cv::Size frame = comparisonFrame(image.size());
    m_status->setText(tr("Computing %1 of %2 cells...")
                          .arg(tasks.size())
                          .arg(m_grid->rowCount() * m_grid->columnCount()));
    JobRunner::Job job{
        QString::fromLatin1(kCellSlot),
        tr("Comparison of %1").arg(m_session->sampleId()),
        [alive, tasks, image, frame,
         dataset = m_session->dataset()](const JobContext &ctx) -> std::any {
            (void)alive; // its expiry tells the view that the job is gone
            const double n = double(tasks.size());
            for (size_t i = 0; i < tasks.size(); ++i) {
                const CellTask &t = tasks[i];
                const JobContext sub =
                    ctx.sub(double(i) / n, double(i + 1) / n,
                            t.model->displayName() + " / " + methodName(t.methodId).toStdString());
                CellUpdate update{t.key, explainCell(t.model, image, t.methodId, {}, t.target,
                                                     frame, dataset, sub)};
                sub.reportPartialResult(1.0, std::move(update));
            }
            return {};
        },
        this,
        [this](std::any result) {
            (void)result; // every cell came as a partial result, delivered before this
            m_cellJob.clear();
            submitCells(); // anything that changed meanwhile, then the agreement
        },
        [this](const QString &message) {
            m_status->setText(tr("The comparison could not be computed: %1").arg(message));
            Q_EMIT errorOccurred(
                tr("Cannot compare on %1:\n%2").arg(m_session->sampleId(), message));
        },
        [this](const ProgressUpdate &u) {
            if (u.partialResult.has_value())
                onCell(u.partialResult);
        }};
    m_session->runner()->submit(std::move(job));
}

void CompareView::onCell(const std::any &value)
{
    const auto *update = std::any_cast<CellUpdate>(&value);
    if (!update)
        return;
    if (m_cache.count(update->key) == 0)
        m_cacheOrder.push_back(update->key);
    m_cache[update->key] = update->result;
    while (m_cache.size() > kCacheCapacity) {
        m_cache.erase(m_cacheOrder.front());
        m_cacheOrder.pop_front();
    }
    showCells();
    int done = 0;
    for (int r = 0; r < m_grid->rowCount(); ++r)
        for (int c = 0; c < m_grid->columnCount(); ++c)
            done += cellResult(r, c) != nullptr;
    m_status->setText(
        tr("%1 of %2 cells computed").arg(done).arg(m_grid->rowCount() * m_grid->columnCount()));
}

void CompareView::submitAgreement()
{
    const std::string key = agreementKey();
    if (key.empty()) {
        setComplete(false);
        return;
    }
    if (key == m_agreements.key) {
        setComplete(true);
        showConsensus();
        applyDisplay();
        updateSelection(); // and the matrix
        return;
    }
    setComplete(false);
    if (!m_agreementJobAlive.expired() && key == m_agreementJob)
        return;
    m_agreementJob = key;
    auto alive = std::make_shared<int>(0);
    m_agreementJobAlive = alive;
    std::vector<CellResult> cells;
    const int columns = m_grid->columnCount();
    for (int r = 0; r < m_grid->rowCount(); ++r)
        for (int c = 0; c < columns; ++c)
            cells.push_back(*cellResult(r, c));
    const AgreementOptions options = agreementOptions();
    m_status->setText(tr("Computing the agreement of %1 cells...").arg(cells.size()));
    m_session->runner()->submit(
        {QString::fromLatin1(kAgreementSlot), tr("Agreement on %1").arg(m_session->sampleId()),
         [alive, cells, options, columns, key](const JobContext &ctx) -> std::any {
             (void)alive;
             Agreements out;
             out.key = key;
             std::vector<const CellResult *> all;
             for (const auto &c : cells)
                 all.push_back(&c);
             out.pairs = cellAgreement(all, options);
             ctx.throwIfCancelled();
             auto combine = [&](auto keep) {
                 std::vector<cv::Mat> maps;
                 for (size_t i = 0; i < cells.size(); ++i)
                     if (cells[i].ok && keep(int(i)))
                         maps.push_back(cells[i].map);
                 return maps.empty() ? Consensus{} : consensusMaps(maps, options);
             };
             for (int c = 0; c < columns; ++c)
                 out.consensus.push_back(combine([&](int i) { return i % columns == c; }));
             out.consensus.push_back(combine([](int) { return true; }));
             return out;
         },
         this,
         [this](std::any r) {
             m_agreements = std::any_cast<Agreements>(std::move(r));
             m_agreementJob.clear();
             submitAgreement(); // shows it, or computes again if the grid changed meanwhile
             if (m_complete) {
                 m_status->setText(tr("%1 cells; agreement over the part of the image every "
                                      "model saw")
                                       .arg(m_grid->rowCount() * m_grid->columnCount()));
                 Q_EMIT comparisonReady();
             }
         },
         [this](const QString &message) {
             Q_EMIT errorOccurred(tr("Cannot compute the agreement:\n%1").arg(message));
         }});
}

} // namespace heatlens::ui
