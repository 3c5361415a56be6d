#include "core/explain/Params.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace heatlens {

namespace {

std::string rangeText(const ParamSpec &spec, bool integer)
{
    std::ostringstream out;
    if (integer)
        out << "[" << static_cast<long long>(spec.min) << ", " << static_cast<long long>(spec.max)
            << "]";
    else
        out << "[" << spec.min << ", " << spec.max << "]";
    return out.str();
}

[[noreturn]] void reject(const ParamSpec &spec, const std::string &methodId,
                         const std::string &expected, const std::string &got)
{
    throw std::invalid_argument("parameter \"" + spec.name + "\" of " + methodId + ": expected " +
                                expected + ", got \"" + got + "\"");
}

std::string choicesText(const ParamSpec &spec)
{
    std::string text = "one of ";
    for (size_t i = 0; i < spec.choices.size(); ++i)
        text += (i ? ", " : "") + spec.choices[i];
    return text;
}

ParamValue checked(const ParamSpec &spec, const ParamValue &value, const std::string &methodId)
{
    const std::string text = paramValueText(value);
    switch (spec.type) {
    case ParamType::Bool:
        if (!std::holds_alternative<bool>(value))
            reject(spec, methodId, "true or false", text);
        return value;
    case ParamType::Int: {
        if (!std::holds_alternative<int>(value))
            reject(spec, methodId, "an integer in " + rangeText(spec, true), text);
        const int v = std::get<int>(value);
        if (v < spec.min || v > spec.max)
            reject(spec, methodId, "an integer in " + rangeText(spec, true), text);
        return value;
    }
    case ParamType::Double: {
        double v = std::holds_alternative<int>(value) ? std::get<int>(value) : NAN;
        if (std::holds_alternative<double>(value))
            v = std::get<double>(value);
        if (!std::isfinite(v) || v < spec.min || v > spec.max)
            reject(spec, methodId, "a number in " + rangeText(spec, false), text);
        return v;
    }
    case ParamType::Choice:
        if (!std::holds_alternative<std::string>(value))
            reject(spec, methodId, choicesText(spec), text);
        for (const auto &c : spec.choices)
            if (c == std::get<std::string>(value))
                return value;
        reject(spec, methodId, choicesText(spec), text);
    case ParamType::Layer:
        if (!std::holds_alternative<std::string>(value))
            reject(spec, methodId, "a module path such as features.block2", text);
        return value;
    }
    return value;
}

ParamSpec spec(std::string name, std::string label, ParamType type, ParamValue defaultValue)
{
    ParamSpec s;
    s.name = std::move(name);
    s.label = std::move(label);
    s.type = type;
    s.defaultValue = std::move(defaultValue);
    return s;
}

} // namespace

ParamSpec ParamSpec::integer(std::string name, std::string label, int defaultValue)
{
    return spec(std::move(name), std::move(label), ParamType::Int, defaultValue)
        .range(defaultValue, defaultValue);
}

ParamSpec ParamSpec::real(std::string name, std::string label, double defaultValue)
{
    return spec(std::move(name), std::move(label), ParamType::Double, defaultValue)
        .range(defaultValue, defaultValue);
}

ParamSpec ParamSpec::flag(std::string name, std::string label, bool defaultValue)
{
    return spec(std::move(name), std::move(label), ParamType::Bool, defaultValue);
}

ParamSpec ParamSpec::choice(std::string name, std::string label, std::string defaultValue,
                            std::vector<std::string> choices)
{
    ParamSpec s =
        spec(std::move(name), std::move(label), ParamType::Choice, std::move(defaultValue));
    s.choices = std::move(choices);
    return s;
}

ParamSpec ParamSpec::layer(std::string name, std::string label)
{
    return spec(std::move(name), std::move(label), ParamType::Layer, std::string());
}

ParamSpec ParamSpec::range(double lowest, double highest) const
{
    ParamSpec s = *this;
    s.min = lowest;
    s.max = highest;
    return s;
}

ParamSpec ParamSpec::describe(std::string text) const
{
    ParamSpec s = *this;
    s.help = std::move(text);
    return s;
}

const ParamValue &Params::get(const std::string &name) const
{
    auto it = m_values.find(name);
    if (it == m_values.end())
        throw std::invalid_argument("parameter \"" + name + "\" is missing");
    return it->second;
}

bool Params::getBool(const std::string &name) const
{
    return std::get<bool>(get(name));
}
int Params::getInt(const std::string &name) const
{
    return std::get<int>(get(name));
}

double Params::getDouble(const std::string &name) const
{
    const auto &v = get(name);
    return std::holds_alternative<int>(v) ? std::get<int>(v) : std::get<double>(v);
}

std::string Params::getString(const std::string &name) const
{
    return std::get<std::string>(get(name));
}

std::string Params::canonical() const
{
    std::string text;
    for (const auto &[name, value] : m_values)
        text += (text.empty() ? "" : ";") + name + "=" + paramValueText(value);
    return text;
}

std::string paramValueText(const ParamValue &value)
{
    if (std::holds_alternative<bool>(value))
        return std::get<bool>(value) ? "true" : "false";
    if (std::holds_alternative<int>(value))
        return std::to_string(std::get<int>(value));
    if (std::holds_alternative<double>(value)) {
        std::ostringstream out;
        out << std::get<double>(value);
        return out.str();
    }
    return std::get<std::string>(value);
}

ParamValue parseParamValue(const ParamSpec &spec, const std::string &text,
                           const std::string &methodId)
{
    switch (spec.type) {
    case ParamType::Bool:
        if (text == "true" || text == "1" || text == "yes" || text == "on")
            return true;
        if (text == "false" || text == "0" || text == "no" || text == "off")
            return false;
        reject(spec, methodId, "true or false", text);
    case ParamType::Int: {
        size_t used = 0;
        int v = 0;
        try {
            v = std::stoi(text, &used);
        } catch (const std::exception &) {
            used = 0;
        }
        if (used == 0 || used != text.size())
            reject(spec, methodId, "an integer in " + rangeText(spec, true), text);
        return checked(spec, v, methodId);
    }
    case ParamType::Double: {
        size_t used = 0;
        double v = 0;
        try {
            v = std::stod(text, &used);
        } catch (const std::exception &) {
            used = 0;
        }
        if (used == 0 || used != text.size())
            reject(spec, methodId, "a number in " + rangeText(spec, false), text);
        return checked(spec, v, methodId);
    }
    case ParamType::Choice:
    case ParamType::Layer:
        return checked(spec, text, methodId);
    }
    return text;
}

Params resolveParams(const std::vector<ParamSpec> &specs,
                     const std::map<std::string, std::string> &overrides,
                     const std::string &methodId)
{
    Params params;
    for (const auto &spec : specs)
        params.set(spec.name, spec.defaultValue);
    for (const auto &[name, text] : overrides) {
        const ParamSpec *spec = nullptr;
        for (const auto &s : specs)
            spec = s.name == name ? &s : spec;
        if (!spec) {
            std::string known;
            for (const auto &s : specs)
                known += (known.empty() ? "" : ", ") + s.name;
            throw std::invalid_argument(methodId + " has no parameter \"" + name +
                                        "\" (it has: " + (known.empty() ? "none" : known) + ")");
        }
        params.set(name, parseParamValue(*spec, text, methodId));
    }
    return params;
}

Params completeParams(const std::vector<ParamSpec> &specs, const Params &given,
                      const std::string &methodId)
{
    Params params;
    for (const auto &spec : specs)
        params.set(spec.name, given.has(spec.name) ? checked(spec, given.get(spec.name), methodId)
                                                   : spec.defaultValue);
    return params;
}

} // namespace heatlens
