#include "ui/MethodPanel.h"

#include "core/explain/MethodRegistry.h"
#include "ui/ParamEditor.h"
#include "ui/Session.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace heatlens::ui {

namespace {

QString qs(const std::string &s)
{
    return QString::fromStdString(s);
}

} // namespace

MethodPanel::MethodPanel(Session *session, QWidget *parent)
    : QWidget(parent)
    , m_session(session)
    , m_method(new QComboBox(this))
    , m_description(new QLabel(this))
    , m_formHost(new QWidget(this))
    , m_form(new QFormLayout(m_formHost))
{
    for (const auto &method : MethodRegistry::instance().methods())
        m_method->addItem(qs(method->name()), qs(method->id()));
    m_description->setWordWrap(true);
    m_description->setStyleSheet(QStringLiteral("color: palette(mid);"));
    m_form->setContentsMargins(0, 0, 0, 0);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_method);
    layout->addWidget(m_description);
    layout->addWidget(m_formHost);
    layout->addStretch(1);
    connect(m_method, &QComboBox::currentIndexChanged, this,
            [this](int i) { m_session->setMethod(m_method->itemData(i).toString()); });
    connect(session, &Session::methodChanged, this, &MethodPanel::rebuildForm);
    connect(session, &Session::modelChanged, this, &MethodPanel::rebuildForm);
    rebuildForm();
}

void MethodPanel::rebuildForm()
{
    const Method &method = MethodRegistry::instance().get(m_session->methodId().toStdString());
    // The form's own edits also signal methodChanged; the form already shows them, and
    // rebuilding would delete the editor that is emitting. Parameters set from elsewhere
    // (Session::setParams) rebuild it, so it never shows other values than those explained.
    const QString key = m_session->methodId() + QLatin1Char('|') +
                        (m_session->model() ? qs(m_session->model()->cacheKey()) : QString());
    if (key == m_builtFor && m_committing)
        return;
    m_builtFor = key;
    {
        const QSignalBlocker block(m_method);
        m_method->setCurrentIndex(m_method->findData(qs(method.id())));
    }
    m_description->setText(qs(method.description()));
    // Methods that cannot explain this model (attention methods on a CNN) are greyed out.
    if (auto *items = qobject_cast<QStandardItemModel *>(m_method->model()))
        for (int i = 0; i < m_method->count(); ++i) {
            const Method &m =
                MethodRegistry::instance().get(m_method->itemData(i).toString().toStdString());
            std::string why;
            try {
                why = m_session->model() ? m.whyNotApplicable(*m_session->model()) : std::string();
            } catch (const std::exception &e) {
                why = e.what();
            }
            items->item(i)->setEnabled(why.empty() || m.id() == method.id());
            items->item(i)->setToolTip(why.empty() ? qs(m.description()) : qs(why));
        }
    while (m_form->rowCount() > 0)
        m_form->removeRow(0);
    m_layers = nullptr;
    const Params values = m_session->params();
    for (const auto &spec : method.params()) {
        QWidget *editor = editorFor(spec, values.get(spec.name));
        editor->setObjectName(QStringLiteral("param-") + qs(spec.name));
        editor->setToolTip(qs(spec.help));
        if (spec.type == ParamType::Layer)
            m_form->addRow(new QLabel(
                tr("%1 (Ctrl+click several to average them)").arg(qs(spec.label)), m_formHost));
        m_form->addRow(spec.type == ParamType::Layer ? QString() : qs(spec.label), editor);
    }
}

QWidget *MethodPanel::editorFor(const ParamSpec &spec, const ParamValue &value)
{
    const std::string name = spec.name;
    if (QWidget *editor = scalarParamEditor(spec, value, m_formHost,
                                            [this, name](const ParamValue &v) { commit(name, v); }))
        return editor;
    if (spec.type == ParamType::Layer) {
        m_layers = new QTreeWidget(m_formHost);
        m_layers->setHeaderLabels({tr("Layer"), tr("Type")});
        m_layers->setMinimumHeight(220);
        m_layers->header()->setSectionResizeMode(0, QHeaderView::Stretch);
        // Ctrl+click selects several layers: their CAMs are averaged.
        m_layers->setSelectionMode(QAbstractItemView::ExtendedSelection);
        fillLayers(std::get<std::string>(value));
        connect(m_layers, &QTreeWidget::itemSelectionChanged, this, [this, name] {
            QStringList paths;
            for (const auto *item : m_layers->selectedItems()) {
                const QString path = item->data(0, Qt::UserRole).toString();
                if (path.isEmpty()) { // the model default wins over anything else selected
                    paths.clear();
                    break;
                }
                paths << path;
            }
            commit(name, paths.join(QLatin1Char(',')).toStdString());
        });
        return m_layers;
    }
    return new QWidget(m_formHost);
}

void MethodPanel::fillLayers(const std::string &selected)
{
    const auto &model = m_session->model();
    if (!model)
        return;
    std::vector<std::string> chosen;
    for (const auto &part : qs(selected).split(QLatin1Char(','), Qt::SkipEmptyParts))
        chosen.push_back(part.trimmed().toStdString());
    if (chosen.empty())
        chosen.push_back(model->defaultCamLayer());
    auto *automatic = new QTreeWidgetItem(
        m_layers, {tr("(model default: %1)").arg(qs(model->defaultCamLayer())), QString()});
    automatic->setData(0, Qt::UserRole, QString());
    std::map<std::string, QTreeWidgetItem *> items;
    for (const auto &layer : model->layers()) {
        const auto dot = layer.path.rfind('.');
        auto parent =
            dot == std::string::npos ? items.end() : items.find(layer.path.substr(0, dot));
        auto *item = parent == items.end() ? new QTreeWidgetItem(m_layers)
                                           : new QTreeWidgetItem(parent->second);
        item->setText(0, qs(dot == std::string::npos ? layer.path : layer.path.substr(dot + 1)));
        item->setText(1, qs(layer.type));
        item->setToolTip(0, qs(layer.path));
        item->setData(0, Qt::UserRole, qs(layer.path));
        items[layer.path] = item;
    }
    const QSignalBlocker block(m_layers);
    if (selected.empty())
        automatic->setSelected(true);
    for (const auto &path : chosen) {
        auto it = items.find(path);
        if (it == items.end())
            continue;
        m_layers->scrollToItem(it->second);
        it->second->setExpanded(true);
        if (!selected.empty())
            it->second->setSelected(true);
    }
}

void MethodPanel::commit(const std::string &name, const ParamValue &value)
{
    Params params = m_session->params();
    params.set(name, value);
    m_committing = true;
    m_session->setParams(params);
    m_committing = false;
}

} // namespace heatlens::ui
