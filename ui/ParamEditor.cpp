#include "ui/ParamEditor.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QSpinBox>

namespace heatlens::ui {

QWidget *scalarParamEditor(const ParamSpec &spec, const ParamValue &value, QWidget *parent,
                           const std::function<void(const ParamValue &)> &commit)
{
    switch (spec.type) {
    case ParamType::Bool: {
        auto *box = new QCheckBox(parent);
        box->setChecked(std::get<bool>(value));
        QObject::connect(box, &QCheckBox::toggled, box, [commit](bool on) { commit(on); });
        return box;
    }
    case ParamType::Int: {
        auto *box = new QSpinBox(parent);
        box->setRange(int(spec.min), int(spec.max));
        box->setValue(std::get<int>(value));
        box->setKeyboardTracking(false);
        QObject::connect(box, &QSpinBox::valueChanged, box, [commit](int v) { commit(v); });
        return box;
    }
    case ParamType::Double: {
        auto *box = new QDoubleSpinBox(parent);
        box->setRange(spec.min, spec.max);
        box->setDecimals(3);
        box->setSingleStep((spec.max - spec.min) / 100.0);
        box->setValue(std::holds_alternative<double>(value) ? std::get<double>(value)
                                                            : std::get<int>(value));
        box->setKeyboardTracking(false);
        QObject::connect(box, &QDoubleSpinBox::valueChanged, box,
                         [commit](double v) { commit(v); });
        return box;
    }
    case ParamType::Choice: {
        auto *box = new QComboBox(parent);
        for (const auto &choice : spec.choices)
            box->addItem(QString::fromStdString(choice));
        box->setCurrentText(QString::fromStdString(std::get<std::string>(value)));
        QObject::connect(box, &QComboBox::currentTextChanged, box,
                         [commit](const QString &t) { commit(t.toStdString()); });
        return box;
    }
    case ParamType::Layer:
        break;
    }
    return nullptr;
}

} // namespace heatlens::ui
