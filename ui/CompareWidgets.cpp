#include "ui/CompareWidgets.h"

#include <QContextMenuEvent>
#include <QGridLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QPainter>
#include <QStackedLayout>
#include <QToolTip>
#include <QVBoxLayout>

namespace heatlens::ui {

namespace {

QLabel *headerLabel(const QString &text, QWidget *parent)
{
    auto *label = new QLabel(text, parent);
    label->setAlignment(Qt::AlignCenter);
    label->setWordWrap(true);
    QFont f = label->font();
    f.setBold(true);
    label->setFont(f);
    return label;
}

} // namespace

CompareCell::CompareCell(int row, int column, QWidget *parent)
    : QFrame(parent)
    , m_view(new HeatmapView(this))
    , m_caption(new QLabel(this))
    , m_row(row)
    , m_column(column)
{
    m_view->setMinimumSize(96, 96);
    m_view->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Ignored); // the grid sizes cells
    m_view->setCompact(true);
    m_view->setDoubleClickFits(false);
    // Three short lines (prediction, target, colour range) of a small font, never wrapped so
    // that the grid's rows keep one height; the cell's tooltip says the rest.
    QFont small = m_caption->font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    m_caption->setFont(small);
    m_caption->setAlignment(Qt::AlignCenter);
    m_caption->setTextFormat(Qt::RichText);
    m_caption->setFixedHeight(QFontMetrics(small).lineSpacing() * 3 + 4);
    m_caption->setMinimumWidth(1);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(3, 3, 3, 3);
    layout->setSpacing(1);
    layout->addWidget(m_view, 1);
    layout->addWidget(m_caption);
}

void CompareCell::setCaption(const QString &text)
{
    m_text = text;
    m_caption->setText(m_scale.isEmpty() ? m_text : m_text + QStringLiteral("<br>") + m_scale);
}

void CompareCell::setScaleText(const QString &scale)
{
    m_scale = scale;
    setCaption(m_text);
}

void CompareCell::setSelected(bool selected)
{
    m_selected = selected;
    update();
}

void CompareCell::paintEvent(QPaintEvent *event)
{
    QFrame::paintEvent(event);
    if (!m_selected)
        return;
    QPainter painter(this);
    painter.setPen(QPen(QColor(255, 170, 0), 3));
    painter.drawRect(rect().adjusted(1, 1, -2, -2));
}

CompareGrid::CompareGrid(QWidget *parent)
    : QWidget(parent)
    , m_stack(new QStackedLayout(this))
    , m_gridPage(new QWidget(this))
    , m_grid(new QGridLayout(m_gridPage))
    , m_bigPage(new QWidget(this))
    , m_big(new HeatmapView(m_bigPage))
    , m_bigCaption(new QLabel(m_bigPage))
{
    m_grid->setContentsMargins(0, 0, 0, 0);
    m_grid->setSpacing(3);
    auto *bigLayout = new QVBoxLayout(m_bigPage);
    bigLayout->setContentsMargins(0, 0, 0, 0);
    bigLayout->addWidget(m_big, 1);
    bigLayout->addWidget(m_bigCaption);
    m_bigCaption->setAlignment(Qt::AlignCenter);
    m_bigCaption->setTextFormat(Qt::RichText);
    m_big->setDoubleClickFits(false);
    connect(m_big, &HeatmapView::doubleClicked, this, &CompareGrid::restore);
    m_stack->addWidget(m_gridPage);
    m_stack->addWidget(m_bigPage);
    setFocusPolicy(Qt::StrongFocus);
}

void CompareGrid::clear()
{
    restore();
    for (QWidget *w : m_headers)
        delete w;
    for (CompareCell *c : m_cells)
        delete c;
    for (CompareCell *c : m_extra)
        delete c;
    m_headers.clear();
    m_rowHeaders.clear();
    m_cells.clear();
    m_extra.clear();
}

bool CompareGrid::setShape(const QStringList &rows, const QStringList &columns,
                           const QStringList &extraRows, const QString &extraColumn)
{
    if (rows == m_rows && columns == m_columns && extraRows == m_extraRows &&
        extraColumn == m_extraColumn && !m_cells.empty())
        return false;
    clear();
    m_rows = rows;
    m_columns = columns;
    m_extraRows = extraRows;
    m_extraColumn = extraColumn;
    auto addHeader = [&](QLabel *label, int r, int c) {
        m_grid->addWidget(label, r, c);
        m_headers.push_back(label);
    };
    for (int c = 0; c < columns.size(); ++c)
        addHeader(headerLabel(columns[c], m_gridPage), 0, c + 1);
    if (!extraRows.isEmpty() && !rows.isEmpty())
        addHeader(headerLabel(extraColumn, m_gridPage), 0, int(columns.size()) + 1);
    for (int r = 0; r < rows.size(); ++r) {
        auto *label = headerLabel(rows[r], m_gridPage);
        label->setFixedWidth(110);
        addHeader(label, r + 1, 0);
        m_rowHeaders.push_back(label);
        for (int c = 0; c < columns.size(); ++c) {
            auto *cell = new CompareCell(r, c, m_gridPage);
            m_grid->addWidget(cell, r + 1, c + 1);
            connectView(cell->view(), cell);
            m_cells.push_back(cell);
        }
    }
    if (!rows.isEmpty())
        for (int r = 0; r < extraRows.size(); ++r) {
            auto *label = headerLabel(extraRows[r], m_gridPage);
            label->setFixedWidth(110);
            addHeader(label, int(rows.size()) + 1 + r, 0);
            for (int c = 0; c <= columns.size(); ++c) {
                auto *cell = new CompareCell(int(rows.size()) + r, c, m_gridPage);
                m_grid->addWidget(cell, int(rows.size()) + 1 + r, c + 1);
                connectView(cell->view(), cell);
                m_extra.push_back(cell);
            }
        }
    for (int r = 1; r <= rows.size() + (rows.isEmpty() ? 0 : extraRows.size()); ++r)
        m_grid->setRowStretch(r, 1);
    for (int c = 1; c <= columns.size() + (extraRows.isEmpty() ? 0 : 1); ++c)
        m_grid->setColumnStretch(c, 1);
    for (HeatmapView *v : views())
        v->setImage(m_image);
    for (QWidget *w : m_headers)
        w->show();
    for (CompareCell *c : m_cells)
        c->show();
    for (CompareCell *c : m_extra)
        c->show();
    return true;
}

void CompareGrid::setRowToolTip(int row, const QString &text)
{
    if (row >= 0 && size_t(row) < m_rowHeaders.size())
        m_rowHeaders[size_t(row)]->setToolTip(text);
}

CompareCell *CompareGrid::cell(int row, int column) const
{
    if (row < 0 || column < 0 || row >= rowCount() || column >= columnCount())
        return nullptr;
    return m_cells[size_t(row * columnCount() + column)];
}

CompareCell *CompareGrid::extraCell(int row, int column) const
{
    const int width = columnCount() + 1;
    const size_t i = size_t(row * width + column);
    if (row < 0 || column < 0 || column >= width || i >= m_extra.size())
        return nullptr;
    return m_extra[i];
}

std::vector<HeatmapView *> CompareGrid::views() const
{
    std::vector<HeatmapView *> out;
    for (CompareCell *c : m_cells)
        out.push_back(c->view());
    for (CompareCell *c : m_extra)
        out.push_back(c->view());
    out.push_back(m_big);
    return out;
}

void CompareGrid::setImage(const cv::Mat &image)
{
    m_image = image;
    for (HeatmapView *v : views())
        v->setImage(image);
}

void CompareGrid::connectView(HeatmapView *view, CompareCell *cell)
{
    connect(view, &HeatmapView::viewChanged, this, [this, view] { syncFrom(view); });
    connect(view, &HeatmapView::clicked, this,
            [this, cell](Qt::KeyboardModifiers m) { Q_EMIT cellClicked(cell, m); });
    connect(view, &HeatmapView::doubleClicked, this, [this, cell] { enlarge(cell); });
    view->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(view, &QWidget::customContextMenuRequested, this, [this, cell, view](const QPoint &p) {
        Q_EMIT cellContextMenu(cell, view->mapToGlobal(p));
    });
}

void CompareGrid::syncFrom(HeatmapView *source)
{
    if (m_syncing)
        return;
    m_syncing = true;
    const auto state = source->viewState();
    for (HeatmapView *v : views())
        if (v != source && v != m_big)
            v->setViewState(state);
    m_syncing = false;
}

void CompareGrid::enlarge(CompareCell *cell)
{
    if (!cell)
        return;
    m_enlargedCell = cell;
    refreshEnlarged();
    m_big->fitToWindow();
    m_stack->setCurrentWidget(m_bigPage);
}

void CompareGrid::refreshEnlarged()
{
    if (!m_enlargedCell)
        return;
    HeatmapView *v = m_enlargedCell->view();
    m_big->setSharedScale(v->sharedScale());
    m_big->setMap(v->map(), v->signedMap());
    m_big->setMessage(v->message());
    const int r = m_enlargedCell->row(), c = m_enlargedCell->column();
    const bool extra = r >= rowCount();
    const QString rowName = extra ? m_extraRows.value(r - rowCount()) : m_rows.value(r);
    const QString columnName = c < columnCount() ? m_columns.value(c) : m_extraColumn;
    m_bigCaption->setText(QStringLiteral("<b>%1 / %2</b><br>%3")
                              .arg(rowName.toHtmlEscaped(), columnName.toHtmlEscaped(),
                                   m_enlargedCell->caption()->text()) +
                          tr(" <i>(double-click or Escape: back to the grid)</i>"));
}

void CompareGrid::restore()
{
    m_enlargedCell = nullptr;
    m_stack->setCurrentWidget(m_gridPage);
}

void CompareGrid::keyPressEvent(QKeyEvent *event)
{
    if (event->key() == Qt::Key_Escape && m_enlargedCell) {
        restore();
        event->accept();
        return;
    }
    QWidget::keyPressEvent(event);
}

AgreementMatrixView::AgreementMatrixView(QWidget *parent)
    : QWidget(parent)
{
    setMouseTracking(true);
}

void AgreementMatrixView::setMatrix(AgreementMatrix matrix)
{
    m_matrix = std::move(matrix);
    update();
}

void AgreementMatrixView::setToolTipProvider(std::function<QString(int, int)> provider)
{
    m_tooltip = std::move(provider);
}

void AgreementMatrixView::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    painter.setPen(palette().color(QPalette::WindowText));
    drawAgreementMatrix(painter, QRectF(rect()), m_matrix);
}

void AgreementMatrixView::mouseMoveEvent(QMouseEvent *event)
{
    const auto entry = agreementMatrixEntryAt(QRectF(rect()), m_matrix, event->position());
    if (entry && m_tooltip && entry->first != entry->second)
        QToolTip::showText(event->globalPosition().toPoint(),
                           m_tooltip(entry->first, entry->second), this);
    else
        QToolTip::hideText();
}

void AgreementMatrixView::mouseDoubleClickEvent(QMouseEvent *)
{
    Q_EMIT doubleClicked();
}

void AgreementMatrixView::mousePressEvent(QMouseEvent *event)
{
    const auto entry = agreementMatrixEntryAt(QRectF(rect()), m_matrix, event->position());
    if (entry && entry->first != entry->second)
        Q_EMIT entryClicked(entry->first, entry->second);
}

} // namespace heatlens::ui
