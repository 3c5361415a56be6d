#include "ui/CompareView.h"

#include "core/data/Dataset.h"
#include "core/explain/MethodRegistry.h"
#include "core/model/Preprocess.h"
#include "core/model/Zoo.h"
#include "ui/CompareDataset.h"
#include "ui/CompareNames.h"
#include "ui/CompareWidgets.h"
#include "ui/Session.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QPushButton>
#include <QSpinBox>
#include <QToolButton>

// The Compare tab's controls and what they set: models, methods, target, colours, agreement.

namespace heatlens::ui {

using compare::methodName;
using compare::qs;

QWidget *CompareView::buildControls()
{
    auto *bar = new QWidget(this);
    auto *row = new QHBoxLayout(bar);
    row->setContentsMargins(0, 0, 0, 0);
    m_addButton->setText(tr("Add model"));
    m_addButton->setMenu(m_addMenu);
    m_addButton->setPopupMode(QToolButton::InstantPopup);
    m_addButton->setToolTip(tr("Compare another model: a demo model or a TorchScript file. "
                               "Right-click a cell to remove its model."));
    connect(m_addMenu, &QMenu::aboutToShow, this, &CompareView::fillAddMenu);
    m_methodButton->setText(tr("Methods"));
    m_methodButton->setMenu(m_methodMenu);
    m_methodButton->setPopupMode(QToolButton::InstantPopup);
    m_methodButton->setToolTip(tr("The methods (columns) of the grid, with default parameters"));
    m_target->addItem(tr("Same class for all"), int(Target::Same));
    m_target->addItem(tr("Each model's prediction"), int(Target::Own));
    m_target->addItem(tr("True label"), int(Target::Label));
    m_target->setToolTip(tr("The class every cell explains: the class of the Explain tab (the "
                            "current model's prediction unless you picked one), each model's own "
                            "prediction, or the image's label"));
    m_scale->addItem(tr("Colours per cell"), int(Scale::PerCell));
    m_scale->addItem(tr("Shared per method"), int(Scale::PerMethod));
    m_scale->addItem(tr("Shared by all"), int(Scale::Shared));
    m_scale->setToolTip(tr("Each map's colour scale: its own clip percentile, or the largest of "
                           "its column's (or of all cells) so that colours compare"));
    m_absolute->setChecked(true);
    m_absolute->setToolTip(tr("Compare and show |value| (methods disagree on signs: Grad-CAM is "
                              "never negative); unchecked: signed values, diverging colours"));
    m_clip->setRange(50.0, 100.0);
    m_clip->setValue(99.0);
    m_clip->setSuffix(tr(" %"));
    m_clip->setToolTip(tr("Clip each map at this percentile of |value| for colours, SSIM and the "
                          "consensus"));
    m_topK->setRange(1, 100);
    m_topK->setValue(10);
    m_topK->setPrefix(tr("top "));
    m_topK->setSuffix(tr(" %"));
    m_topK->setToolTip(tr("k of the top-k intersection over union"));
    row->addWidget(m_addButton);
    row->addWidget(m_methodButton);
    row->addWidget(new QLabel(tr("Target"), bar));
    row->addWidget(m_target);
    row->addWidget(m_scale);
    row->addWidget(m_absolute);
    row->addWidget(new QLabel(tr("Clip"), bar));
    row->addWidget(m_clip);
    row->addWidget(m_topK);
    row->addStretch(1);
    auto *dataset = new QPushButton(tr("Over the dataset..."), bar);
    dataset->setToolTip(tr("The agreement of this grid over many images: mean and 95% interval "
                           "per pair of models, per class, correct vs incorrect; histograms"));
    connect(dataset, &QPushButton::clicked, this, [this] { openDatasetDialog(); });
    row->addWidget(dataset);
    connect(m_target, &QComboBox::currentIndexChanged, this, &CompareView::forwardOptions);
    connect(m_scale, &QComboBox::currentIndexChanged, this, &CompareView::applyDisplay);
    connect(m_absolute, &QCheckBox::toggled, this, &CompareView::forwardOptions);
    connect(m_clip, &QDoubleSpinBox::valueChanged, this, &CompareView::forwardOptions);
    connect(m_topK, &QSpinBox::valueChanged, this, [this] {
        const int i = m_metric->findData(QStringLiteral("top_k_iou"));
        m_metric->setItemText(i, qs(agreementMetricLabel("top_k_iou", m_topK->value() / 100.0)));
        forwardOptions();
    });
    return bar;
}

void CompareView::buildMethodMenu()
{
    m_methodMenu->clear();
    std::string family;
    for (const auto &method : MethodRegistry::instance().methods()) {
        if (method->family() != family) {
            family = method->family();
            m_methodMenu->addSection(qs(family));
        }
        QAction *action = m_methodMenu->addAction(qs(method->name()));
        action->setCheckable(true);
        const QString id = qs(method->id());
        action->setData(id);
        action->setChecked(m_document->methods().contains(id));
        action->setToolTip(qs(method->description()));
        connect(action, &QAction::toggled, this, [this, id](bool on) {
            QStringList ids = m_document->methods();
            ids.removeAll(id);
            if (on)
                ids << id;
            m_document->setMethods(ids);
        });
    }
    m_methodMenu->setToolTipsVisible(true);
}

void CompareView::syncMethodMenu()
{
    for (QAction *a : m_methodMenu->actions()) {
        const QSignalBlocker block(a);
        if (a->isCheckable())
            a->setChecked(m_document->methods().contains(a->data().toString()));
    }
}

void CompareView::fillAddMenu()
{
    m_addMenu->clear();
    m_addMenu->addAction(tr("Model file..."), this, [this] {
        const QString path = QFileDialog::getOpenFileName(
            this, tr("Add a TorchScript model to the comparison"), QString(),
            tr("TorchScript models and ensembles (*.pt *.pth *.torchscript ensemble.json);;"
               "All files (*)"));
        if (!path.isEmpty())
            m_document->addModelFile(path);
    });
    m_addMenu->addSeparator();
    std::vector<std::string> twins;
    for (const auto &entry : zooEntries()) {
        QAction *a =
            m_addMenu->addAction(qs(entry.displayName), this,
                                 [this, path = qs(entry.path)] { m_document->addModelFile(path); });
        a->setEnabled(entry.available);
        a->setObjectName(QStringLiteral("add:") + qs(entry.name));
        if (entry.available && (entry.name == "demo-cnn" || entry.name == "demo-vit" ||
                                entry.name == "demo-cnn-sg" || entry.name == "demo-vit-sg"))
            twins.push_back(entry.path);
    }
    if (twins.size() == 4) {
        m_addMenu->addSeparator();
        QAction *all = m_addMenu->addAction(tr("Demo CNN, ViT and their saliency-guided twins"),
                                            this, [this, twins] {
                                                for (const auto &path : twins)
                                                    m_document->addModelFile(qs(path));
                                            });
        all->setObjectName(QStringLiteral("add:twins"));
    }
}

void CompareView::setTargetMode(Target target)
{
    m_target->setCurrentIndex(m_target->findData(int(target)));
}

void CompareView::setScaleMode(Scale scale)
{
    m_scale->setCurrentIndex(m_scale->findData(int(scale)));
}

void CompareView::setAbsolute(bool absolute)
{
    m_absolute->setChecked(absolute);
}

void CompareView::setTopPercent(int percent)
{
    m_topK->setValue(percent);
}

void CompareView::setMatrixMetric(const QString &metric)
{
    m_metric->setCurrentIndex(m_metric->findData(metric));
}

CompareDatasetDialog *CompareView::openDatasetDialog()
{
    const ComparisonOptions options = m_document->comparisonOptions();
    const std::vector<ModelPtr> models = m_document->models();
    try {
        validateComparison(options, models);
    } catch (const std::invalid_argument &e) {
        Q_EMIT errorOccurred(tr("Cannot compare over the dataset: %1").arg(e.what()));
        return nullptr;
    }
    auto *dialog = new CompareDatasetDialog(m_session, models, options, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &CompareDatasetDialog::errorOccurred, this, &CompareView::errorOccurred);
    dialog->show();
    return dialog;
}

} // namespace heatlens::ui
