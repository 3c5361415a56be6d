#pragma once

#include "core/report/ComparisonRun.h"

#include <QDialog>

#include <memory>
#include <string>
#include <vector>

class QComboBox;
class QCustomPlot;
class QLabel;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace heatlens::ui {

class Session;

// The Compare tab's grid over many images: every model x method cell on the first N images of
// the dataset (core compareImage, on the JobRunner, slot "compare-dataset", cancellable), then
// per pair of models and method the mean and 95% interval of every agreement metric, over all
// images, per true class, and where both models are right / both wrong / one right; and the
// per-image histograms of a pair of models. The same loop (core runComparison) and numbers as
// heatlens-cli compare; Export... writes the files it writes.
class CompareDatasetDialog : public QDialog
{
    Q_OBJECT

public:
    CompareDatasetDialog(Session *session, std::vector<ModelPtr> models, ComparisonOptions options,
                         QWidget *parent = nullptr);

    QSpinBox *imagesBox() const { return m_images; }
    QPushButton *runButton() const { return m_run; }
    QPushButton *exportButton() const { return m_export; }
    QComboBox *groupBox() const { return m_group; }
    QTableWidget *table() const { return m_table; }
    QCustomPlot *histogram() const { return m_plot; }
    // The compared images of the last complete run.
    const std::vector<ImageComparison> &images() const { return m_results; }
    bool isComplete() const { return m_complete; }
    // Writes cells.csv, pairs.csv, summary.json and the figures of the last complete run into
    // `dir` (made if missing), exactly the files of heatlens-cli compare; returns their paths.
    // Throws when there is no complete run or a file cannot be written.
    std::vector<std::string> exportTo(const QString &dir) const;

Q_SIGNALS:
    void finished(); // a run completed
    void errorOccurred(const QString &message);

private:
    void run();
    void showResults();
    void showHistogram();
    void exportDialog();
    QString cellName(size_t cell) const;

    Session *m_session;
    std::vector<ModelPtr> m_models;
    ComparisonOptions m_options;
    QSpinBox *m_images;
    QPushButton *m_run;
    QPushButton *m_export;
    QComboBox *m_group;
    QComboBox *m_pair;
    QTableWidget *m_table;
    QCustomPlot *m_plot;
    QLabel *m_status;
    ComparisonRun m_comparison;
    std::vector<ImageComparison> m_results;
    std::vector<PairSummary> m_summary;
    bool m_complete = false;
};

} // namespace heatlens::ui
