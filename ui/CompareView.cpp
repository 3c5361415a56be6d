#include "ui/CompareView.h"

#include "core/data/Dataset.h"
#include "core/explain/MethodRegistry.h"
#include "core/model/Preprocess.h"
#include "core/model/Zoo.h"
#include "core/uncertainty/StochasticSource.h"
#include "ui/CompareDataset.h"
#include "ui/CompareNames.h"
#include "ui/CompareWidgets.h"
#include "ui/FlowLayout.h"
#include "ui/Session.h"
#include "ui/figure/Figures.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialog>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QPushButton>
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
    , m_cellStatistic(new QComboBox(this))
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
    splitter->setSizes({650, 350}); // the grid first: its cells grow with the window
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
    const std::vector<ModelPtr> models = m_document->models();
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
            const Model &model = *models[size_t(r)];
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
    const GridAgreement *agreement = m_document->agreement();
    const bool current = agreement != nullptr;
    for (int c = 0; c <= m_grid->columnCount(); ++c)
        for (int kind = 0; kind < 2; ++kind) {
            CompareCell *cell = m_grid->extraCell(kind, c);
            if (!cell)
                continue;
            const Consensus *consensus = current && size_t(c) < agreement->consensus.size()
                                             ? &agreement->consensus[size_t(c)]
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

// The controls and what they set: models, methods, target, colours, agreement.

QWidget *CompareView::buildControls()
{
    auto *bar = new QWidget(this);
    auto *row = new FlowLayout(bar); // wraps when the window is narrow
    row->setContentsMargins(0, 0, 0, 0);
    m_addButton->setText(tr("Add model"));
    m_addButton->setMenu(m_addMenu);
    m_addButton->setPopupMode(QToolButton::InstantPopup);
    m_addButton->setToolTip(tr("Compare another model: a demo model or a TorchScript file. "
                               "Right-click a cell to remove its model."));
    connect(m_addMenu, &QMenu::aboutToShow, this, &CompareView::fillAddMenu);
    m_methodButton->setText(tr("Methods"));
    m_methodButton->setMenu(m_methodMenu);
    m_methodButton->setPopupMode(QToolButton::InstantPopup);
    m_methodButton->setToolTip(tr("The methods (columns) of the grid, with default parameters"));
    m_target->addItem(tr("Same class for all"), int(Target::Same));
    m_target->addItem(tr("Each model's prediction"), int(Target::Own));
    m_target->addItem(tr("True label"), int(Target::Label));
    m_target->setToolTip(tr("The class every cell explains: the class of the Explain tab (the "
                            "current model's prediction unless you picked one), each model's own "
                            "prediction, or the image's label"));
    m_cellStatistic->addItem(tr("Single maps"), QStringLiteral("map|"));
    for (const auto &source : SourceRegistry::instance().sources()) {
        const QString name = qs(source->name()), id = qs(source->id());
        m_cellStatistic->addItem(tr("Mean under %1").arg(name), QStringLiteral("mean|") + id);
        m_cellStatistic->addItem(tr("CV under %1").arg(name), QStringLiteral("cv|") + id);
    }
    m_cellStatistic->setToolTip(tr("What each cell shows: its map, or the mean or coefficient "
                                   "of variation of its explanation over %1 samples of a "
                                   "stochastic source (0 where the CV is undefined)")
                                    .arg(CellStatistic().samples));
    m_scale->addItem(tr("Colours per cell"), int(Scale::PerCell));
    m_scale->addItem(tr("Shared per method"), int(Scale::PerMethod));
    m_scale->addItem(tr("Shared by all"), int(Scale::Shared));
    m_scale->setToolTip(tr("Each map's colour scale: its own clip percentile, or the largest of "
                           "its column's (or of all cells) so that colours compare"));
    m_absolute->setChecked(true);
    m_absolute->setToolTip(tr("Compare and show |value| (methods disagree on signs: Grad-CAM is "
                              "never negative); unchecked: signed values, diverging colours"));
    m_clip->setRange(50.0, 100.0);
    m_clip->setValue(99.0);
    m_clip->setSuffix(tr(" %"));
    m_clip->setToolTip(tr("Clip each map at this percentile of |value| for colours, SSIM and the "
                          "consensus"));
    m_topK->setRange(1, 100);
    m_topK->setValue(10);
    m_topK->setPrefix(tr("top "));
    m_topK->setSuffix(tr(" %"));
    m_topK->setToolTip(tr("k of the top-k intersection over union"));
    row->addWidget(m_addButton);
    row->addWidget(m_methodButton);
    row->addWidget(new QLabel(tr("Target"), bar));
    // Combo boxes as wide as a short entry (their lists show the long ones): the toolbar must
    // not set the window's least width.
    for (QComboBox *box : {m_target, m_cellStatistic, m_scale}) {
        box->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
        box->setMinimumContentsLength(10);
    }
    row->addWidget(m_target);
    row->addWidget(m_cellStatistic);
    row->addWidget(m_scale);
    row->addWidget(m_absolute);
    row->addWidget(new QLabel(tr("Clip"), bar));
    row->addWidget(m_clip);
    row->addWidget(m_topK);
    auto *dataset = new QPushButton(tr("Over the dataset..."), bar);
    dataset->setToolTip(tr("The agreement of this grid over many images: mean and 95% interval "
                           "per pair of models, per class, correct vs incorrect; histograms"));
    connect(dataset, &QPushButton::clicked, this, [this] { openDatasetDialog(); });
    row->addWidget(dataset);
    connect(m_target, &QComboBox::currentIndexChanged, this, &CompareView::forwardOptions);
    connect(m_cellStatistic, &QComboBox::currentIndexChanged, this, [this] {
        const QStringList parts = m_cellStatistic->currentData().toString().split(QLatin1Char('|'));
        CellStatistic statistic;
        statistic.statistic = parts[0].toStdString();
        if (!parts[1].isEmpty())
            statistic.sourceId = parts[1].toStdString();
        m_document->setCellStatistic(statistic);
    });
    connect(m_scale, &QComboBox::currentIndexChanged, this, &CompareView::applyDisplay);
    connect(m_absolute, &QCheckBox::toggled, this, &CompareView::forwardOptions);
    connect(m_clip, &QDoubleSpinBox::valueChanged, this, &CompareView::forwardOptions);
    connect(m_topK, &QSpinBox::valueChanged, this, [this] {
        const int i = m_metric->findData(QStringLiteral("top_k_iou"));
        m_metric->setItemText(i, qs(agreementMetricLabel("top_k_iou", m_topK->value() / 100.0)));
        forwardOptions();
    });
    return bar;
}

void CompareView::buildMethodMenu()
{
    m_methodMenu->clear();
    std::string family;
    for (const auto &method : MethodRegistry::instance().methods()) {
        if (method->family() != family) {
            family = method->family();
            m_methodMenu->addSection(qs(family));
        }
        QAction *action = m_methodMenu->addAction(qs(method->name()));
        action->setCheckable(true);
        const QString id = qs(method->id());
        action->setData(id);
        action->setChecked(m_document->methods().contains(id));
        action->setToolTip(qs(method->description()));
        connect(action, &QAction::toggled, this, [this, id](bool on) {
            QStringList ids = m_document->methods();
            ids.removeAll(id);
            if (on)
                ids << id;
            m_document->setMethods(ids);
        });
    }
    m_methodMenu->setToolTipsVisible(true);
}

void CompareView::syncMethodMenu()
{
    for (QAction *a : m_methodMenu->actions()) {
        const QSignalBlocker block(a);
        if (a->isCheckable())
            a->setChecked(m_document->methods().contains(a->data().toString()));
    }
}

void CompareView::fillAddMenu()
{
    m_addMenu->clear();
    m_addMenu->addAction(tr("Model file..."), this, [this] {
        const QString path = QFileDialog::getOpenFileName(
            this, tr("Add a TorchScript model to the comparison"), QString(),
            tr("TorchScript models and ensembles (*.pt *.pth *.torchscript ensemble.json);;"
               "All files (*)"));
        if (!path.isEmpty())
            m_document->addModelFile(path);
    });
    m_addMenu->addSeparator();
    std::vector<std::string> twins;
    for (const auto &entry : zooEntries()) {
        QAction *a =
            m_addMenu->addAction(qs(entry.displayName), this,
                                 [this, path = qs(entry.path)] { m_document->addModelFile(path); });
        a->setEnabled(entry.available);
        a->setObjectName(QStringLiteral("add:") + qs(entry.name));
        if (entry.available && (entry.name == "demo-cnn" || entry.name == "demo-vit" ||
                                entry.name == "demo-cnn-sg" || entry.name == "demo-vit-sg"))
            twins.push_back(entry.path);
    }
    if (twins.size() == 4) {
        m_addMenu->addSeparator();
        QAction *all = m_addMenu->addAction(tr("Demo CNN, ViT and their saliency-guided twins"),
                                            this, [this, twins] {
                                                for (const auto &path : twins)
                                                    m_document->addModelFile(qs(path));
                                            });
        all->setObjectName(QStringLiteral("add:twins"));
    }
}

void CompareView::setTargetMode(Target target)
{
    m_target->setCurrentIndex(m_target->findData(int(target)));
}

void CompareView::setScaleMode(Scale scale)
{
    m_scale->setCurrentIndex(m_scale->findData(int(scale)));
}

void CompareView::setAbsolute(bool absolute)
{
    m_absolute->setChecked(absolute);
}

void CompareView::setTopPercent(int percent)
{
    m_topK->setValue(percent);
}

void CompareView::setMatrixMetric(const QString &metric)
{
    m_metric->setCurrentIndex(m_metric->findData(metric));
}

CompareView::Scale CompareView::scaleMode() const
{
    return Scale(m_scale->currentData().toInt());
}

bool CompareView::absolute() const
{
    return m_absolute->isChecked();
}

QString CompareView::matrixMetric() const
{
    return m_metric->currentData().toString();
}

CompareDatasetDialog *CompareView::openDatasetDialog()
{
    const ComparisonOptions options = m_document->comparisonOptions();
    const std::vector<ModelPtr> models = m_document->models();
    try {
        validateComparison(options, models);
    } catch (const std::invalid_argument &e) {
        Q_EMIT errorOccurred(tr("Cannot compare over the dataset: %1").arg(e.what()));
        return nullptr;
    }
    auto *dialog = new CompareDatasetDialog(m_session, models, options, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &CompareDatasetDialog::errorOccurred, this, &CompareView::errorOccurred);
    dialog->show();
    return dialog;
}

// The agreement: matrix, selection, consensus cells' menu, export.

namespace compare {} // namespace compare

QString CompareView::cellName(int index) const
{
    const int columns = m_grid->columnCount();
    return qs(m_document->models()[size_t(index / columns)]->displayName()) +
           QStringLiteral(" / ") + methodName(m_document->methods()[index % columns].toStdString());
}

QString CompareView::agreementText(int a, int b) const
{
    const auto agreement = m_document->agreementOf(a, b);
    if (!agreement)
        return {};
    QStringList parts;
    for (const auto &metric : agreementMetrics()) {
        const double v = agreement->value(metric);
        parts << QStringLiteral("%1 %2").arg(
            qs(agreementMetricLabel(metric, m_topK->value() / 100.0)),
            std::isfinite(v) ? QString::number(v, 'f', 3) : QStringLiteral("-"));
    }
    return tr("<b>%1</b> vs <b>%2</b> (%3):<br>%4")
        .arg(cellName(a).toHtmlEscaped(), cellName(b).toHtmlEscaped(),
             m_absolute->isChecked() ? tr("|maps|") : tr("signed maps"),
             parts.join(QStringLiteral(", ")));
}

void CompareView::updateMatrix()
{
    const GridAgreement *agreement = m_document->agreement();
    const int n = m_grid->rowCount() * m_grid->columnCount();
    if (!agreement || agreement->pairs.size() != size_t(n * (n - 1) / 2))
        return;
    // Short labels, as in exported figures (the tooltips give the full names).
    QStringList models, methods;
    for (const ModelPtr &model : m_document->models())
        models << qs(model->displayName());
    for (const QString &id : m_document->methods())
        methods << methodName(id.toStdString());
    const std::string metric = m_metric->currentData().toString().toStdString();
    AgreementMatrix m =
        gridAgreementMatrix(*agreement, models, methods, metric,
                            qs(agreementMetricLabel(metric, m_topK->value() / 100.0)));
    m.title = tr("%1 of %2, %3")
                  .arg(m.metric, m_absolute->isChecked() ? tr("|maps|") : tr("signed maps"),
                       m_session->sampleId());
    if (m_selected.size() == 2)
        m.highlighted = {m_selected[0], m_selected[1]};
    m_matrix->setMatrix(std::move(m));
}

void CompareView::selectCells(int first, int second)
{
    m_selected.clear();
    const int n = m_grid->rowCount() * m_grid->columnCount();
    for (int i : {first, second})
        if (i >= 0 && i < n)
            m_selected.push_back(i);
    updateSelection();
}

void CompareView::onCellClicked(CompareCell *cell, Qt::KeyboardModifiers modifiers)
{
    if (cell->row() >= m_grid->rowCount())
        return; // consensus cells are not in the matrix
    const int index = cell->row() * m_grid->columnCount() + cell->column();
    if (modifiers & (Qt::ControlModifier | Qt::ShiftModifier)) {
        if (auto it = std::find(m_selected.begin(), m_selected.end(), index);
            it != m_selected.end())
            m_selected.erase(it);
        else
            m_selected.push_back(index);
        if (m_selected.size() > 2)
            m_selected.erase(m_selected.begin());
    } else {
        m_selected =
            m_selected == std::vector<int>{index} ? std::vector<int>{} : std::vector<int>{index};
    }
    updateSelection();
}

void CompareView::updateSelection()
{
    const int columns = m_grid->columnCount();
    for (CompareCell *cell : m_grid->cells()) {
        const int index = cell->row() * columns + cell->column();
        cell->setSelected(std::find(m_selected.begin(), m_selected.end(), index) !=
                          m_selected.end());
        cell->view()->setToolTip(QString());
    }
    QString text = tr("Click a cell and Ctrl+click another to compare them; hover the matrix "
                      "for every metric; right-click a consensus cell for its curves.");
    if (m_selected.size() == 2 && m_document->agreementOf(m_selected[0], m_selected[1])) {
        text = agreementText(m_selected[0], m_selected[1]);
        for (int i : m_selected)
            m_grid->cells()[size_t(i)]->view()->setToolTip(text);
    }
    m_selection->setText(text);
    updateMatrix();
}

void CompareView::onCellMenu(CompareCell *cell, const QPoint &pos)
{
    QMenu menu(this);
    menu.addAction(tr("Enlarge"), this, [this, cell] { m_grid->enlarge(cell); });
    const int row = cell->row();
    if (row < m_grid->rowCount()) {
        if (row > 0)
            menu.addAction(tr("Remove %1 from the comparison")
                               .arg(qs(m_document->models()[size_t(row)]->displayName())),
                           this, [this, row] { m_document->removeModel(row); });
        const QString id = m_document->methods().value(cell->column());
        menu.addAction(tr("Remove %1").arg(methodName(id.toStdString())), this, [this, id] {
            QStringList ids = m_document->methods();
            ids.removeAll(id);
            m_document->setMethods(ids);
        });
    } else if (!cell->view()->map().empty() && m_session->model()) {
        const bool disagreement = row == m_grid->rowCount() + 1;
        const QString name =
            (disagreement ? tr("Disagreement of %1") : tr("Consensus of %1"))
                .arg(cell->column() < m_grid->columnCount()
                         ? methodName(m_document->methods()[cell->column()].toStdString())
                         : tr("all cells"));
        menu.addAction(tr("Deletion and insertion curves (Curves tab)"), this,
                       [this, name, map = cell->view()->map()] {
                           InputGeometry geometry;
                           m_session->model()->preprocess(m_session->image(), &geometry);
                           Q_EMIT curvesRequested(name, frameToInput(map, geometry));
                       });
    }
    menu.exec(pos);
}

cv::Mat CompareView::consensusMap(int column, bool disagreement) const
{
    const Consensus *c = m_document->consensus(column);
    if (!c)
        return {};
    return disagreement ? c->spread : c->mean;
}

void CompareView::exportMatrix(const QString &path) const
{
    saveAgreementMatrix(m_matrix->matrix(), path);
}

void CompareView::exportDialog()
{
    if (!m_document->isComplete()) {
        Q_EMIT errorOccurred(tr("Nothing to export yet: wait until every cell is computed."));
        return;
    }
    const QString path = QFileDialog::getSaveFileName(this, tr("Export the agreement matrix"),
                                                      QStringLiteral("agreement.png"),
                                                      tr("PNG image (*.png);;PDF (*.pdf)"));
    if (path.isEmpty())
        return;
    try {
        exportMatrix(path);
        Q_EMIT message(tr("Exported %1").arg(path));
    } catch (const std::exception &e) {
        Q_EMIT errorOccurred(tr("Export failed:\n%1").arg(QString::fromUtf8(e.what())));
    }
}

} // namespace heatlens::ui
