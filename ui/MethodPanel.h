#pragma once

#include "core/explain/Params.h"

#include <QWidget>

#include <functional>
#include <map>

class QComboBox;
class QFormLayout;
class QLabel;
class QTreeWidget;

namespace heatlens::ui {

class Session;

// Method selector and a parameter panel built from the method's declaration (ParamSpec):
// spin boxes, check boxes, choices, and a layer picker from the model's module tree.
class MethodPanel : public QWidget
{
    Q_OBJECT

public:
    explicit MethodPanel(Session *session, QWidget *parent = nullptr);

    QComboBox *methodBox() const { return m_method; }
    QTreeWidget *layerPicker() const { return m_layers; }

private:
    void rebuildForm();
    void fillLayers(const std::string &selected);
    QWidget *editorFor(const ParamSpec &spec, const ParamValue &value);
    void commit(const std::string &name, const ParamValue &value);

    Session *m_session;
    QComboBox *m_method;
    QLabel *m_description;
    QWidget *m_formHost;
    QFormLayout *m_form;
    QTreeWidget *m_layers = nullptr;
    QString m_builtFor;        // method id + model the form was built for
    bool m_committing = false; // inside commit(): the session's change is the form's own
};

} // namespace heatlens::ui
