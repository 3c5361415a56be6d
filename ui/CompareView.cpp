#include "ui/CompareView.h"

#include "core/data/Dataset.h"
#include "ui/CompareNames.h"
#include "ui/CompareWidgets.h"
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

CompareView::CompareView(CompareSession *document, QWidget *parent)
    : QWidget(parent)
    , m_document(document)
    , m_session(document->session())
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
        if (!m_document->isComplete())
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

    connect(document, &CompareSession::shapeChanged, this, [this] {
        m_selected.clear();
        syncMethodMenu();
    });
    connect(document, &CompareSession::changed, this, &CompareView::redraw);
    connect(document, &CompareSession::statusChanged, m_status, &QLabel::setText);
    connect(document, &CompareSession::errorOccurred, this, &CompareView::errorOccurred);
    connect(document, &CompareSession::message, this, &CompareView::message);
    buildMethodMenu();
    forwardOptions();
    redraw();
}

CompareView::~CompareView() = default;

void CompareView::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    m_document->setActive(true);
}

void CompareView::hideEvent(QHideEvent *event)
{
    QWidget::hideEvent(event);
    m_document->setActive(false);
}

void CompareView::forwardOptions()
{
    m_document->setTargetMode(Target(m_target->currentData().toInt()));
    AgreementOptions o;
    o.absolute = m_absolute->isChecked();
    o.clipPercentile = m_clip->value();
    o.topFraction = m_topK->value() / 100.0;
    m_document->setAgreementOptions(o);
}

void CompareView::redraw()
{
    if (m_grid->image().data != m_session->image().data)
        m_grid->setImage(m_session->image());
    rebuildGrid();
    showCells();
    if (m_document->isComplete())
        updateSelection(); // and the matrix
    else
        m_matrix->setMatrix(AgreementMatrix{});
}

void CompareView::rebuildGrid()
{
    QStringList rows, columns;
    const std::vector<ModelPtr> models = m_document->models();
    for (const ModelPtr &model : models)
        rows << qs(model->displayName());
    for (const QString &id : m_document->methods())
        columns << methodName(id.toStdString());
    if (m_grid->setShape(rows, columns, {tr("Consensus (mean)"), tr("Disagreement (std)")},
                         tr("All cells"))) {
        m_selected.clear();
        for (size_t r = 0; r < models.size(); ++r)
            m_grid->setRowToolTip(int(r),
                                  qs(models[r]->path()) + (m_document->isSessionRow(int(r))
                                                               ? tr("\n(the Explain tab's model)")
                                                               : QString()));
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
            const CellResult *result = haveImage ? m_document->cellResult(r, c) : nullptr;
            if (!result) {
                view->setMap({}, false);
                view->setMessage(!haveImage                   ? tr("No image")
                                 : m_document->target() == -2 ? tr("Waiting for the Explain "
                                                                   "tab's class")
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
            const Model &model = *m_document->models()[size_t(r)];
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
    const bool current = m_document->isComplete();
    for (int c = 0; c <= m_grid->columnCount(); ++c)
        for (int kind = 0; kind < 2; ++kind) {
            CompareCell *cell = m_grid->extraCell(kind, c);
            if (!cell)
                continue;
            const Consensus *consensus = m_document->consensus(c);
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

} // namespace heatlens::ui
