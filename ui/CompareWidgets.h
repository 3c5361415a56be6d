#pragma once

#include "ui/HeatmapView.h"
#include "ui/figure/AgreementMatrix.h"

#include <QFrame>
#include <QStringList>

#include <functional>
#include <vector>

class QGridLayout;
class QLabel;
class QStackedLayout;

namespace heatlens::ui {

// One cell of the comparison grid: a caption (prediction, target) over a heatmap view.
class CompareCell : public QFrame
{
    Q_OBJECT

public:
    CompareCell(int row, int column, QWidget *parent = nullptr);

    HeatmapView *view() const { return m_view; }
    QLabel *caption() const { return m_caption; }
    int row() const { return m_row; }
    int column() const { return m_column; }
    void setSelected(bool selected);
    bool isSelected() const { return m_selected; }
    // The caption is `text` (rich text) with a last line giving the colour scale, if any.
    void setCaption(const QString &text);
    void setScaleText(const QString &scale);

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    HeatmapView *m_view;
    QLabel *m_caption;
    int m_row, m_column;
    bool m_selected = false;
    QString m_text, m_scale;
};

// The grid of the Compare tab: a header row (methods), a header column (models), one cell per
// model and method, then extra rows (consensus, disagreement) with one more column ("all").
// Every view shows the same image and follows the others' zoom and pan; double-clicking a cell
// shows it alone, enlarged, until the next double-click (or Escape).
class CompareGrid : public QWidget
{
    Q_OBJECT

public:
    explicit CompareGrid(QWidget *parent = nullptr);

    // Rebuilds the cells; returns false (and keeps the cells) when the shape is unchanged.
    bool setShape(const QStringList &rows, const QStringList &columns, const QStringList &extraRows,
                  const QString &extraColumn);
    void setRowToolTip(int row, const QString &text);
    int rowCount() const { return int(m_rows.size()); }
    int columnCount() const { return int(m_columns.size()); }
    // Model x method cells: row-major; extra cells: extraRows x (columns + 1), row-major.
    CompareCell *cell(int row, int column) const;
    CompareCell *extraCell(int row, int column) const;
    const std::vector<CompareCell *> &cells() const { return m_cells; }
    const std::vector<CompareCell *> &extraCells() const { return m_extra; }
    // Every view, main and extra.
    std::vector<HeatmapView *> views() const;
    void setImage(const cv::Mat &image);
    const cv::Mat &image() const { return m_image; }

    // The enlarged cell (nullptr: the grid is shown); its view mirrors the cell's.
    CompareCell *enlarged() const { return m_enlargedCell; }
    HeatmapView *enlargedView() const { return m_big; }
    void enlarge(CompareCell *cell);
    void restore();
    // Copies `cell`'s map and display settings to the enlarged view (after the cell changed).
    void refreshEnlarged();

Q_SIGNALS:
    void cellClicked(heatlens::ui::CompareCell *cell, Qt::KeyboardModifiers modifiers);
    void cellContextMenu(heatlens::ui::CompareCell *cell, const QPoint &globalPos);

protected:
    void keyPressEvent(QKeyEvent *event) override;

private:
    void clear();
    void connectView(HeatmapView *view, CompareCell *cell);
    void syncFrom(HeatmapView *source);

    QStackedLayout *m_stack;
    QWidget *m_gridPage;
    QGridLayout *m_grid;
    QWidget *m_bigPage;
    HeatmapView *m_big;
    QLabel *m_bigCaption;
    QStringList m_rows, m_columns, m_extraRows;
    QString m_extraColumn;
    std::vector<QLabel *> m_rowHeaders;
    std::vector<QWidget *> m_headers;
    std::vector<CompareCell *> m_cells;
    std::vector<CompareCell *> m_extra;
    CompareCell *m_enlargedCell = nullptr;
    cv::Mat m_image;
    bool m_syncing = false;
};

// The pairwise agreement matrix on screen (the same drawing as the exported figure); hovering
// an entry shows the tooltip the view provides, clicking selects the pair.
class AgreementMatrixView : public QWidget
{
    Q_OBJECT

public:
    explicit AgreementMatrixView(QWidget *parent = nullptr);

    void setMatrix(AgreementMatrix matrix);
    const AgreementMatrix &matrix() const { return m_matrix; }
    void setToolTipProvider(std::function<QString(int, int)> provider);
    QSize sizeHint() const override { return {360, 320}; }
    QSize minimumSizeHint() const override { return {200, 180}; }

Q_SIGNALS:
    void entryClicked(int row, int column);
    void doubleClicked();

protected:
    void paintEvent(QPaintEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseDoubleClickEvent(QMouseEvent *event) override;

private:
    AgreementMatrix m_matrix;
    std::function<QString(int, int)> m_tooltip;
};

} // namespace heatlens::ui
