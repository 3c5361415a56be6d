#pragma once

#include "core/explain/Params.h"

#include <functional>

class QWidget;

namespace heatlens::ui {

// An editor for one declared parameter of a scalar type (flag, integer, real, choice), built from
// its ParamSpec: a check box, spin box or combo box showing `value`, that calls `commit` with
// each new value (spin boxes on Enter or when focus leaves, not on every keystroke). Returns
// null for other types (layers: the method panel's layer picker).
QWidget *scalarParamEditor(const ParamSpec &spec, const ParamValue &value, QWidget *parent,
                           const std::function<void(const ParamValue &)> &commit);

} // namespace heatlens::ui
