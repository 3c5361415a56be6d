#include "ui/PredictionPanel.h"

#include "ui/Session.h"

#include <QHeaderView>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace heatlens::ui {

PredictionPanel::PredictionPanel(Session *session, QWidget *parent)
    : QWidget(parent)
    , m_session(session)
    , m_list(new QTreeWidget(this))
    , m_target(new QLabel(this))
    , m_reset(new QPushButton(tr("Explain the predicted class"), this))
{
    m_list->setColumnCount(3);
    m_list->setHeaderLabels({tr("#"), tr("Class"), tr("Probability")});
    m_list->setRootIsDecorated(false);
    m_list->setUniformRowHeights(true);
    m_list->header()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    m_list->header()->setSectionResizeMode(1, QHeaderView::Stretch);
    m_list->header()->setSectionResizeMode(2, QHeaderView::Fixed);
    m_list->header()->resizeSection(2, 90);
    m_list->header()->setStretchLastSection(false);
    m_list->setMinimumHeight(140);
    m_list->setToolTip(tr("Click a class to explain it"));
    m_target->setWordWrap(true);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_list);
    layout->addWidget(m_target);
    layout->addWidget(m_reset);
    connect(m_list, &QTreeWidget::itemClicked, this, [this](QTreeWidgetItem *item) {
        m_session->setTarget(item->data(0, Qt::UserRole).toInt());
    });
    connect(m_reset, &QPushButton::clicked, this, [this] { m_session->setTarget(-1); });
    connect(session, &Session::explanationReady, this, &PredictionPanel::refresh);
    connect(session, &Session::sampleChanged, this, &PredictionPanel::refresh);
    connect(session, &Session::modelChanged, this, &PredictionPanel::refresh);
    refresh();
}

void PredictionPanel::refresh()
{
    m_list->clear();
    const auto &outcome = m_session->outcome();
    const auto &model = m_session->model();
    m_reset->setEnabled(m_session->target() >= 0);
    if (!outcome || !model) {
        m_target->setText(model ? tr("No prediction yet") : tr("Open a model"));
        return;
    }
    const auto &p = outcome->prediction;
    int rank = 1;
    for (int c : p.topK(5)) {
        auto *item = new QTreeWidgetItem(m_list);
        item->setText(0, QString::number(rank++));
        item->setText(1, QString::fromStdString(model->label(c)));
        item->setData(0, Qt::UserRole, c);
        auto *bar = new QProgressBar(m_list);
        bar->setRange(0, 1000);
        bar->setValue(int(p.probabilities[size_t(c)] * 1000));
        bar->setFormat(QString::number(double(p.probabilities[size_t(c)]), 'f', 3));
        m_list->setItemWidget(item, 2, bar);
        if (c == outcome->explanation.target)
            item->setSelected(true);
    }
    const int target = outcome->explanation.target;
    m_target->setText(tr("Explaining <b>%1</b> (%2)")
                          .arg(QString::fromStdString(model->label(target)),
                               m_session->target() < 0 ? tr("predicted") : tr("chosen")));
}

} // namespace heatlens::ui
