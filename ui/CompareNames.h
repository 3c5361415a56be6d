#pragma once

// Names the Compare tab's files share (not part of the ui library's interface).

#include "core/explain/MethodRegistry.h"

#include <QRegularExpression>
#include <QString>

namespace heatlens::ui::compare {

inline QString qs(const std::string &s)
{
    return QString::fromStdString(s);
}

// A method's display name ("Integrated Gradients"), or its id when it is not registered.
inline QString methodName(const std::string &id)
{
    const Method *m = MethodRegistry::instance().find(id);
    return qs(m ? m->name() : id);
}

// A name short enough for the matrix's labels: "Integrated Gradients" -> "IG",
// "CNN (saliency-guided)" -> "CNN sg"; names of up to 12 characters stay.
QString shortName(const QString &name);

} // namespace heatlens::ui::compare
