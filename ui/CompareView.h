#pragma once

#include "core/metrics/Comparison.h"

#include <QWidget>

#include <any>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
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

// The Compare tab: the current image explained by several models (rows: the session's model
// first, then the ones added here: demo models, files) with several methods (columns), every
// map brought to the image's frame (core explainCell). Cells are computed one by one on the
// JobRunner (slot "compare") while the tab is visible, fill in as they arrive and are cached by
// model, image, method, parameters and target, so that changing the grid reuses them. Under the
// grid: the consensus (mean of normalised maps) and disagreement (their spread) of each method
// across models, and of all cells. Beside it: the pairwise agreement matrix (slot
// "compare-agreement"), whose entries and the cells selected (click, Ctrl+click) show every
// metric. Colours per cell, shared per method or shared by all; signed or |value|; zoom and
// pan follow each other; double-click enlarges a cell.
class CompareView : public QWidget
{
    Q_OBJECT

public:
    enum class Target { Same, Own, Label };
    enum class Scale { PerCell, PerMethod, Shared };

    explicit CompareView(Session *session, QWidget *parent = nullptr);
    ~CompareView() override;

    // The models compared besides the session's (which is always the first row).
    void addModel(ModelPtr model);
    void addModelFile(const QString &path); // loaded on the JobRunner; errors are reported
    void removeModel(int row);              // row > 0 (the session's model stays)
    std::vector<ModelPtr> models() const;   // rows, in order
    void setMethods(const QStringList &ids);
    QStringList methods() const { return m_methods; }
    void setTargetMode(Target target);
    void setScaleMode(Scale scale);
    void setAbsolute(bool absolute);
    void setTopPercent(int percent);
    void setMatrixMetric(const QString &metric); // an agreementMetrics() name

    CompareGrid *grid() const { return m_grid; }
    AgreementMatrixView *matrixView() const { return m_matrix; }
    QLabel *selectionLabel() const { return m_selection; }
    // The computed cell of (row, column), if any.
    const CellResult *cellResult(int row, int column) const;
    // Every cell has its result (or its reason for having none) and the agreement is computed.
    bool isComplete() const { return m_complete; }
    // The agreement of two cells (row-major grid indices), when computed.
    std::optional<Agreement> agreementOf(int cellA, int cellB) const;
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
    void comparisonReady(); // every cell and the agreement are computed
    void errorOccurred(const QString &message);
    void message(const QString &text);
    // A consensus or disagreement map, at the session model's input resolution, for the curves.
    void curvesRequested(const QString &name, const cv::Mat &inputMap);

protected:
    void showEvent(QShowEvent *event) override;

private:
    struct Row
    {
        ModelPtr model;
        bool session = false;
    };
    struct Agreements
    {
        std::string key;
        std::vector<Agreement> pairs;
        std::vector<Consensus> consensus; // per column, then all cells
    };

    QWidget *buildControls();
    void buildMethodMenu();
    void fillAddMenu();
    void refresh(); // reshapes the grid, shows what is cached, computes what is missing
    void rebuildGrid();
    void showCells();
    void showConsensus();
    void applyDisplay();
    void submitCells();
    void submitAgreement();
    void onCell(const std::any &update);
    std::string cellKey(int row, int column) const;
    int targetFor() const; // the class explained, -1: each model's own; -2: not known yet
    AgreementOptions agreementOptions() const;
    std::string agreementKey() const;
    void updateMatrix();
    void updateSelection();
    void onCellClicked(CompareCell *cell, Qt::KeyboardModifiers modifiers);
    void onCellMenu(CompareCell *cell, const QPoint &pos);
    QString cellName(int index) const;
    QString agreementText(int cellA, int cellB) const;
    void setComplete(bool complete);
    void exportDialog();

    Session *m_session;
    CompareGrid *m_grid;
    AgreementMatrixView *m_matrix;
    QToolButton *m_addButton;
    QMenu *m_addMenu;
    QToolButton *m_methodButton;
    QMenu *m_methodMenu;
    QComboBox *m_target;
    QComboBox *m_scale;
    QCheckBox *m_absolute;
    QDoubleSpinBox *m_clip;
    QSpinBox *m_topK;
    QComboBox *m_metric;
    QLabel *m_status;
    QLabel *m_selection;

    std::vector<Row> m_rows;
    QStringList m_methods;
    std::map<std::string, CellResult> m_cache; // cellKey -> result
    std::list<std::string> m_cacheOrder;
    std::string m_cellJob; // keys the running cell job computes
    std::weak_ptr<int> m_cellJobAlive;
    Agreements m_agreements;
    std::string m_agreementJob; // key the running agreement job computes
    std::weak_ptr<int> m_agreementJobAlive;
    std::vector<int> m_selected; // grid indices, at most two
    bool m_complete = false;
};

} // namespace heatlens::ui
