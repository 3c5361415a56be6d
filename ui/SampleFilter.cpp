#include "ui/SampleFilter.h"

#include "ui/DatasetListModel.h"

namespace heatlens::ui {

void SampleFilter::setText(const QString &text)
{
    m_text = text;
    invalidateFilter();
}

void SampleFilter::setLabel(int label)
{
    m_label = label;
    invalidateFilter();
}

void SampleFilter::setCorrectness(Correctness c)
{
    m_correctness = c;
    invalidateFilter();
}

bool SampleFilter::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    const QModelIndex index = sourceModel()->index(sourceRow, 0, sourceParent);
    const int label = index.data(DatasetListModel::LabelRole).toInt();
    if (m_label >= 0 && label != m_label)
        return false;
    if (m_correctness != Correctness::All) {
        const int predicted = index.data(DatasetListModel::PredictedRole).toInt();
        const bool known = predicted >= 0;
        if (m_correctness == Correctness::NotPredicted)
            return !known;
        if (!known || (m_correctness == Correctness::Correct) != (predicted == label))
            return false;
    }
    return m_text.isEmpty() ||
           index.data(DatasetListModel::IdRole).toString().contains(m_text, Qt::CaseInsensitive);
}

} // namespace heatlens::ui
