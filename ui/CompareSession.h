#pragma once

#include "core/jobs/ResultCache.h"
#include "core/metrics/Comparison.h"
#include "core/uncertainty/CellUncertainty.h"

#include <QObject>
#include <QString>
#include <QStringList>

#include <optional>
#include <string>
#include <vector>

namespace heatlens::ui {

class Session;

// The Compare tab's document: the current image explained by several models (rows: the
// session's model first, then the ones added here) with several methods (columns, default
// parameters), every map brought to the image's frame (core explainCell), and the agreement of
// every pair of cells with the consensus of each column and of all cells (core gridAgreement).
// While active it computes the missing cells one by one on the JobRunner (slot "compare") and
// then the agreement (slot "compare-agreement"), both keyed by their requests; cells are cached
// in the viewer's shared cache, so that changing the grid reuses them. No widgets.
class CompareSession : public QObject
{
    Q_OBJECT

public:
    enum class Target { Same, Own, Label };

    explicit CompareSession(Session *session, QObject *parent = nullptr);

    Session *session() const { return m_session; }
    void setActive(bool active); // computes only while active

    // Rows: the session's model and the models added (loaded on the JobRunner from files).
    void addModel(ModelPtr model);
    void addModelFile(const QString &path); // errors are reported with errorOccurred
    void removeModel(int row);              // row > 0 (the session's model stays)
    std::vector<ModelPtr> models() const;
    int rowCount() const { return int(m_rows.size()); }
    bool isSessionRow(int row) const;
    // Columns: registered method ids (unknown and repeated ones are left out).
    void setMethods(const QStringList &ids);
    const QStringList &methods() const { return m_methods; }
    int columnCount() const { return int(m_methods.size()); }

    void setTargetMode(Target target);
    Target targetMode() const { return m_targetMode; }
    // The class explained: -1 each model's own, -2 not known yet (the Explain tab's is coming).
    int target() const;
    // Cells show their single maps (default) or the mean or CV of their explanation
    // distribution under a stochastic source (the dataset run keeps single maps).
    void setCellStatistic(const CellStatistic &statistic);
    const CellStatistic &cellStatistic() const { return m_statistic; }
    void setAgreementOptions(const AgreementOptions &options);
    const AgreementOptions &agreementOptions() const { return m_options; }
    // What "Over the dataset..." runs for this grid.
    ComparisonOptions comparisonOptions() const;

    // The computed cell of (row, column), if any.
    const CellResult *cellResult(int row, int column) const;
    int cellsComputed() const;
    // Every cell has its result (or its reason for having none) and the agreement is computed.
    bool isComplete() const;
    // The agreement of two cells (row-major grid indices), when complete.
    std::optional<Agreement> agreementOf(int cellA, int cellB) const;
    // The consensus of a column (columnCount(): of all cells) in the image frame, when complete.
    const Consensus *consensus(int column) const;
    // All of the agreement at once (pairs in pairIndex order, consensus per column then of all
    // cells), when complete; null otherwise. For views that read many entries: one check.
    const GridAgreement *agreement() const;

Q_SIGNALS:
    void shapeChanged(); // rows or columns
    void changed();      // cells, the agreement or its options: redraw
    void statusChanged(const QString &text);
    void comparisonReady(); // every cell and the agreement are computed
    void errorOccurred(const QString &message);
    void message(const QString &text);

private:
    struct Row
    {
        ModelPtr model;
        bool session = false;
    };
    struct Computed
    {
        std::string key;
        GridAgreement grid;
    };

    void refresh(); // shows what is cached and, when active, computes what is missing
    void submitCells();
    void submitAgreement();
    std::string cellKey(int row, int column) const;
    std::string agreementKey() const; // empty until every cell is computed

    Session *m_session;
    bool m_active = false;
    std::vector<Row> m_rows;
    QStringList m_methods;
    Target m_targetMode = Target::Same;
    AgreementOptions m_options;
    CellStatistic m_statistic;
    ResultCache<CellResult> m_cells;
    Computed m_agreement;
};

} // namespace heatlens::ui
