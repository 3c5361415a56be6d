#include "ui/CurvesView.h"

#include "core/explain/Baselines.h"
#include "core/explain/MethodRegistry.h"
#include "ui/CurvesSession.h"
#include "ui/Session.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QMouseEvent>
#include <QSpinBox>
#include <QSplitter>
#include <QToolButton>
#include <QVBoxLayout>

#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>

namespace heatlens::ui {

// The Curves tab's controls and its Compare menu (the rest of the view is in CurvesView.cpp).

namespace {

QString qs(const std::string &s)
{
    return QString::fromStdString(s);
}

} // namespace

QWidget *CurvesView::buildControls()
{
    auto *bar = new QWidget(this);
    auto *rows = new QVBoxLayout(bar);
    rows->setContentsMargins(0, 0, 0, 0);
    auto *row = new QHBoxLayout;
    auto *actions = new QHBoxLayout;
    rows->addLayout(row);
    rows->addLayout(actions);

    m_mode->addItem(tr("deletion + insertion"), QStringLiteral("both"));
    m_mode->addItem(tr("deletion"), QStringLiteral("deletion"));
    m_mode->addItem(tr("insertion"), QStringLiteral("insertion"));
    m_mode->setToolTip(tr("Deletion: the ranked features are replaced by the baseline (a good "
                          "map makes the probability fall fast: low AUC).\nInsertion: from a "
                          "blurred image the ranked features are restored (a good map makes "
                          "it rise fast: high AUC)."));
    m_order->addItem(tr("MoRF"), QStringLiteral("morf"));
    m_order->addItem(tr("LeRF"), QStringLiteral("lerf"));
    m_order->setToolTip(tr("MoRF: most relevant features first; LeRF: least relevant first"));
    for (const auto &kind : baselineKinds())
        m_baseline->addItem(qs(kind), qs(kind));
    m_baseline->setCurrentIndex(m_baseline->findData(qs(CurveOptions().baseline)));
    m_baseline->setToolTip(tr("What deleted features are replaced by. %1").arg(qs(baselineHelp())));
    m_steps->setRange(1, 1000);
    m_steps->setValue(CurveOptions().steps);
    m_steps->setKeyboardTracking(false);
    m_steps->setToolTip(tr("Points on each curve after the first (one forward pass each)"));
    m_features->addItem(tr("pixels"), 0);
    m_features->addItem(tr("grid"), 1);
    m_features->setToolTip(tr("Perturb single pixels, or the cells of an N x N grid ranked by "
                              "their summed attribution"));
    m_cells->setRange(2, 64);
    m_cells->setValue(7);
    m_cells->setPrefix(tr("N = "));
    m_cells->setKeyboardTracking(false);
    m_cells->setEnabled(false);
    m_logit->setToolTip(tr("Plot the target logit instead of its probability (no recomputation)"));

    auto label = [bar](const QString &text) { return new QLabel(text, bar); };
    row->addWidget(label(tr("Mode")));
    row->addWidget(m_mode);
    row->addWidget(label(tr("Order")));
    row->addWidget(m_order);
    row->addWidget(label(tr("Baseline")));
    row->addWidget(m_baseline);
    row->addWidget(label(tr("Steps")));
    row->addWidget(m_steps);
    row->addWidget(label(tr("Features")));
    row->addWidget(m_features);
    row->addWidget(m_cells);
    row->addStretch(1);

    m_pin->setToolTip(tr("Keep the current method's curves on the plot when you move to "
                         "another method (they follow the image and target)"));
    m_clearPins->setToolTip(tr("Remove the pinned methods"));
    m_export->setToolTip(tr("Save the plot as PNG or PDF"));
    m_compareButton->setText(tr("Compare"));
    m_compareButton->setToolTip(tr("Add methods (default parameters) and a random ranking to the "
                                   "plot, explained on this image"));
    m_compareButton->setMenu(m_compareMenu);
    m_compareButton->setPopupMode(QToolButton::InstantPopup);
    m_compareMenu->setToolTipsVisible(true);
    for (QAction *action : {m_pin, m_clearPins, m_export}) {
        auto *button = new QToolButton(bar);
        button->setDefaultAction(action);
        actions->addWidget(button);
        if (action == m_clearPins)
            actions->addWidget(m_compareButton);
    }
    actions->addSpacing(12);
    actions->addWidget(m_logit);
    actions->addStretch(1);

    for (QComboBox *box : {m_mode, m_order, m_baseline, m_features})
        connect(box, &QComboBox::currentIndexChanged, this, &CurvesView::forwardSettings);
    connect(m_steps, &QSpinBox::valueChanged, this, &CurvesView::forwardSettings);
    connect(m_cells, &QSpinBox::valueChanged, this, &CurvesView::forwardSettings);
    connect(m_features, &QComboBox::currentIndexChanged, this,
            [this] { m_cells->setEnabled(m_features->currentData().toInt() == 1); });
    connect(m_mode, &QComboBox::currentIndexChanged, this, [this] {
        m_baseline->setEnabled(m_mode->currentData().toString() != QLatin1String("insertion"));
    });
    connect(m_logit, &QCheckBox::toggled, this, &CurvesView::redraw);
    connect(m_pin, &QAction::triggered, m_document, &CurvesSession::pin);
    connect(m_clearPins, &QAction::triggered, this, [this] {
        m_colours.clear();
        m_document->clearPins();
    });
    connect(m_export, &QAction::triggered, this, &CurvesView::exportDialog);
    return bar;
}

void CurvesView::buildCompareMenu()
{
    m_compareMenu->clear();
    const ModelPtr &model = m_session->model();
    auto add = [this](const QString &text, const std::string &id, const QString &tip,
                      bool enabled) {
        QAction *action = m_compareMenu->addAction(text);
        action->setCheckable(true);
        action->setData(qs(id));
        action->setToolTip(tip);
        action->setEnabled(enabled);
        action->setChecked(m_document->compared().count(id) != 0);
        connect(action, &QAction::toggled, this,
                [this, id](bool on) { m_document->setCompared(id, on); });
    };
    for (const auto &method : MethodRegistry::instance().methods()) {
        std::string why;
        try {
            why = model ? method->whyNotApplicable(*model) : std::string();
        } catch (const std::exception &e) {
            why = e.what();
        }
        // The document has dropped what no longer applies (compared and pinned) already.
        add(qs(method->name()), method->id(), qs(why.empty() ? method->description() : why),
            why.empty());
    }
    m_compareMenu->addSeparator();
    add(tr("Random ranking (control)"), CurvesSession::kRandomId,
        tr("A map of seeded uniform noise: the curves any method should beat"), true);
}

} // namespace heatlens::ui
