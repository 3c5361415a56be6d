#pragma once

#include "core/explain/Method.h"

#include <memory>
#include <vector>

namespace heatlens {

// Every method Heatlens offers, registered in one explicit table (MethodRegistry.cpp).
class MethodRegistry
{
public:
    static const MethodRegistry &instance();

    const std::vector<std::unique_ptr<Method>> &methods() const { return m_methods; }
    const Method *find(const std::string &id) const;
    const Method &get(const std::string &id) const; // throws listing the known ids

private:
    MethodRegistry();
    std::vector<std::unique_ptr<Method>> m_methods;
};

} // namespace heatlens
