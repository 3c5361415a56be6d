#pragma once

#include <QSortFilterProxyModel>

namespace heatlens::ui {

// Filters dataset rows by id text, true class and prediction correctness.
class SampleFilter : public QSortFilterProxyModel
{
    Q_OBJECT

public:
    enum class Correctness { All, Correct, Wrong, NotPredicted };

    using QSortFilterProxyModel::QSortFilterProxyModel;

    void setText(const QString &text);
    void setLabel(int label); // -1: all classes
    void setCorrectness(Correctness c);

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    QString m_text;
    int m_label = -1;
    Correctness m_correctness = Correctness::All;
};

} // namespace heatlens::ui
