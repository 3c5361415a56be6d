#pragma once

#include "ui/CompareSession.h"

#include <QWidget>

#include <optional>
#include <vector>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QMenu;
class QSpinBox;
class QToolButton;

namespace heatlens::ui {

class AgreementMatrixView;
class CompareCell;
class CompareDatasetDialog;
class CompareGrid;
class Session;

// The Compare tab: draws its document (CompareSession: models x methods on the current image,
// the agreement of every pair of cells and the consensus of each column, computed while the tab
// is visible) and forwards the user's choices to it. Cells fill in as they arrive. Under the
// grid: the consensus (mean of normalised maps) and disagreement (their spread) of each method
// across models, and of all cells. Beside it: the pairwise agreement matrix, whose entries and
// the cells selected (click, Ctrl+click) show every metric. Colours per cell, shared per method
// or shared by all; signed or |value|; zoom and pan follow each other; double-click enlarges a
// cell.
class CompareView : public QWidget
{
    Q_OBJECT

public:
    using Target = CompareSession::Target;
    enum class Scale { PerCell, PerMethod, Shared };

    explicit CompareView(CompareSession *document, QWidget *parent = nullptr);
    ~CompareView() override;

    QComboBox *cellStatisticBox() const { return m_cellStatistic; }
    CompareSession *document() const { return m_document; }
    void setTargetMode(Target target);
    void setScaleMode(Scale scale);
    void setAbsolute(bool absolute);
    void setTopPercent(int percent);
    void setMatrixMetric(const QString &metric); // an agreementMetrics() name
    Scale scaleMode() const;
    bool absolute() const;
    QString matrixMetric() const;

    CompareGrid *grid() const { return m_grid; }
    AgreementMatrixView *matrixView() const { return m_matrix; }
    QLabel *selectionLabel() const { return m_selection; }
    // Selects up to two cells (grid indices) as Ctrl+click does.
    void selectCells(int first, int second = -1);
    // Opens the dataset-level comparison of this grid (models, methods, target, agreement
    // options) in a window of its own; nullptr (and an error) when the grid has fewer than two
    // cells.
    CompareDatasetDialog *openDatasetDialog();
    // Writes the matrix as shown (PNG or PDF); throws like saveAgreementMatrix.
    void exportMatrix(const QString &path) const;
    // The consensus / disagreement map of a column (a method; columns() = all cells) in the
    // image frame; empty until computed.
    cv::Mat consensusMap(int column, bool disagreement = false) const;

Q_SIGNALS:
    void errorOccurred(const QString &message);
    void message(const QString &text);
    // A consensus or disagreement map, at the session model's input resolution, for the curves.
    void curvesRequested(const QString &name, const cv::Mat &inputMap);

protected:
    void showEvent(QShowEvent *event) override;
    void hideEvent(QHideEvent *event) override;

private:
    QWidget *buildControls();
    void buildMethodMenu();
    void syncMethodMenu();
    void fillAddMenu();
    void forwardOptions();
    void redraw(); // the grid, the cells, the consensus, the matrix as the document has them
    void rebuildGrid();
    void showCells();
    void showConsensus();
    void applyDisplay();
    void updateMatrix();
    void updateSelection();
    void onCellClicked(CompareCell *cell, Qt::KeyboardModifiers modifiers);
    void onCellMenu(CompareCell *cell, const QPoint &pos);
    QString cellName(int index) const;
    QString agreementText(int cellA, int cellB) const;
    void exportDialog();

    CompareSession *m_document;
    Session *m_session;
    CompareGrid *m_grid;
    AgreementMatrixView *m_matrix;
    QToolButton *m_addButton;
    QMenu *m_addMenu;
    QToolButton *m_methodButton;
    QMenu *m_methodMenu;
    QComboBox *m_target;
    QComboBox *m_cellStatistic;
    QComboBox *m_scale;
    QCheckBox *m_absolute;
    QDoubleSpinBox *m_clip;
    QSpinBox *m_topK;
    QComboBox *m_metric;
    QLabel *m_status;
    QLabel *m_selection;

    std::vector<int> m_selected; // grid indices, at most two
};

} // namespace heatlens::ui
