#pragma once

#include "core/metrics/Comparison.h"

#include <QDialog>

#include <memory>
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
// per-image histograms of a pair of models. The same numbers as heatlens-cli compare.
class CompareDatasetDialog : public QDialog
{
    Q_OBJECT

public:
    CompareDatasetDialog(Session *session, std::vector<ModelPtr> models, ComparisonOptions options,
                         QWidget *parent = nullptr);

    QSpinBox *imagesBox() const { return m_images; }
    QPushButton *runButton() const { return m_run; }
    QComboBox *groupBox() const { return m_group; }
    QTableWidget *table() const { return m_table; }
    QCustomPlot *histogram() const { return m_plot; }
    // The compared images of the last complete run.
    const std::vector<ImageComparison> &images() const { return m_results; }
    bool isComplete() const { return m_complete; }

Q_SIGNALS:
    void finished(); // a run completed
    void errorOccurred(const QString &message);

private:
    void run();
    void showResults();
    void showHistogram();
    QString cellName(size_t cell) const;

    Session *m_session;
    std::vector<ModelPtr> m_models;
    ComparisonOptions m_options;
    QSpinBox *m_images;
    QPushButton *m_run;
    QComboBox *m_group;
    QComboBox *m_pair;
    QTableWidget *m_table;
    QCustomPlot *m_plot;
    QLabel *m_status;
    std::vector<ImageComparison> m_results;
    std::vector<PairSummary> m_summary;
    bool m_complete = false;
};

} // namespace heatlens::ui
