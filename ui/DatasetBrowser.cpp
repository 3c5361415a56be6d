#include "ui/DatasetBrowser.h"

#include "ui/DatasetListModel.h"
#include "ui/SampleFilter.h"
#include "ui/Session.h"

#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QVBoxLayout>

namespace heatlens::ui {

DatasetBrowser::DatasetBrowser(Session *session, QWidget *parent)
    : QWidget(parent)
    , m_session(session)
    , m_model(new DatasetListModel(session, this))
    , m_filter(new SampleFilter(this))
    , m_text(new QLineEdit(this))
    , m_class(new QComboBox(this))
    , m_correct(new QComboBox(this))
    , m_view(new QListView(this))
    , m_count(new QLabel(this))
{
    m_filter->setSourceModel(m_model);
    m_text->setPlaceholderText(tr("Filter by id..."));
    m_text->setClearButtonEnabled(true);
    m_correct->addItems({tr("All predictions"), tr("Correct"), tr("Wrong"), tr("Not predicted")});
    m_correct->setToolTip(tr("Filter by prediction (Explain > Predict all fills them in)"));
    m_view->setModel(m_filter);
    m_view->setViewMode(QListView::IconMode);
    m_view->setUniformItemSizes(true);
    m_view->setResizeMode(QListView::Adjust);
    m_view->setIconSize(QSize(72, 72));
    m_view->setGridSize(QSize(96, 100));
    m_view->setMovement(QListView::Static);
    // Single pass (cheap with uniform sizes): a batched layout defers scrollTo() to the
    // current image until every batch is laid out.
    m_view->setLayoutMode(QListView::SinglePass);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_text);
    layout->addWidget(m_class);
    layout->addWidget(m_correct);
    layout->addWidget(m_view, 1);
    layout->addWidget(m_count);
    connect(m_text, &QLineEdit::textChanged, m_filter, &SampleFilter::setText);
    connect(m_class, &QComboBox::currentIndexChanged, this,
            [this](int i) { m_filter->setLabel(m_class->itemData(i).toInt()); });
    connect(m_correct, &QComboBox::currentIndexChanged, this,
            [this](int i) { m_filter->setCorrectness(static_cast<SampleFilter::Correctness>(i)); });
    connect(m_view->selectionModel(), &QItemSelectionModel::currentChanged, this,
            &DatasetBrowser::onCurrentChanged);
    connect(m_filter, &QAbstractItemModel::modelReset, this, &DatasetBrowser::updateCount);
    connect(m_filter, &QAbstractItemModel::rowsInserted, this, &DatasetBrowser::updateCount);
    connect(m_filter, &QAbstractItemModel::rowsRemoved, this, &DatasetBrowser::updateCount);
    connect(m_filter, &QAbstractItemModel::layoutChanged, this, &DatasetBrowser::updateCount);
    connect(session, &Session::datasetChanged, this, &DatasetBrowser::onDatasetChanged);
    connect(session, &Session::modelChanged, this, &DatasetBrowser::onDatasetChanged);
    connect(session, &Session::sampleChanged, this, [this] {
        if (m_filter->mapToSource(m_view->currentIndex()).row() != m_session->currentIndex())
            selectRow(m_session->currentIndex());
    });
    onDatasetChanged();
}

void DatasetBrowser::onDatasetChanged()
{
    const QSignalBlocker block(m_class);
    m_class->clear();
    m_class->addItem(tr("All classes"), -1);
    const auto &dataset = m_session->dataset();
    const size_t classes = dataset ? dataset->classNames().size() : 0;
    for (size_t c = 0; c < classes; ++c)
        m_class->addItem(m_model->labelName(int(c)), int(c));
    m_filter->setLabel(-1);
    updateCount();
    if (m_session->currentIndex() >= 0)
        selectRow(m_session->currentIndex());
}

void DatasetBrowser::onCurrentChanged()
{
    const QModelIndex source = m_filter->mapToSource(m_view->currentIndex());
    if (source.isValid())
        m_session->setCurrentIndex(source.row());
}

void DatasetBrowser::selectRow(int datasetRow)
{
    const QModelIndex proxy = m_filter->mapFromSource(m_model->index(datasetRow));
    if (!proxy.isValid())
        return;
    m_view->setCurrentIndex(proxy);
    m_view->scrollTo(proxy);
}

int DatasetBrowser::visibleCount() const
{
    return m_filter->rowCount();
}

void DatasetBrowser::updateCount()
{
    const auto &dataset = m_session->dataset();
    m_count->setText(dataset ? tr("%1 of %2 images").arg(visibleCount()).arg(dataset->size())
                             : tr("No dataset"));
}

} // namespace heatlens::ui
