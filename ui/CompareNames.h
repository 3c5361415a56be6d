#pragma once

// Names the Compare tab's files share (not part of the ui library's interface).

#include "core/explain/MethodRegistry.h"

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

} // namespace heatlens::ui::compare
