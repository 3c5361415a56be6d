#pragma once

#include "core/explain/Method.h"

#include <memory>
#include <vector>

namespace heatlens {

// Every method Heatlens offers, registered in one explicit table (MethodRegistry.cpp), and the
// controls: rankings that are not explanations (the random map) but run like a method wherever
// a method can be named (curves, evaluation, figures). Pickers list methods(); find() and get()
// know both.
class MethodRegistry
{
public:
    static const MethodRegistry &instance();

    const std::vector<std::unique_ptr<Method>> &methods() const { return m_methods; }
    const std::vector<std::unique_ptr<Method>> &controls() const { return m_controls; }
    const Method *find(const std::string &id) const;
    const Method &get(const std::string &id) const; // throws listing the known ids
    bool isControl(const std::string &id) const;

private:
    MethodRegistry();
    std::vector<std::unique_ptr<Method>> m_methods;
    std::vector<std::unique_ptr<Method>> m_controls;
};

} // namespace heatlens
