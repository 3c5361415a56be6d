#pragma once

#include <map>
#include <string>
#include <variant>
#include <vector>

namespace heatlens {

using ParamValue = std::variant<bool, int, double, std::string>;

enum class ParamType { Bool, Int, Double, Choice, Layer };

// A method parameter as declared by the method; the UI builds its panel from these and the CLI
// parses "--param name=value" against them.
struct ParamSpec
{
    std::string name;  // short word: steps, baseline, layer, abs
    std::string label; // for the UI: "Steps"
    ParamType type = ParamType::Int;
    ParamValue defaultValue;
    double min = 0.0; // Int / Double range, inclusive
    double max = 0.0;
    std::vector<std::string> choices; // Choice
    std::string help;

    // Named builders, so that a declaration reads as what it says:
    //   ParamSpec::integer("steps", "Steps", 50).range(1, 4096).describe("Integration points.")
    static ParamSpec integer(std::string name, std::string label, int defaultValue);
    static ParamSpec real(std::string name, std::string label, double defaultValue);
    static ParamSpec flag(std::string name, std::string label, bool defaultValue);
    static ParamSpec choice(std::string name, std::string label, std::string defaultValue,
                            std::vector<std::string> choices);
    static ParamSpec layer(std::string name, std::string label); // default: empty
    ParamSpec range(double lowest, double highest) const;        // Int / Double, inclusive
    ParamSpec describe(std::string text) const;
};

// Values of a method's parameters, keyed by name.
class Params
{
public:
    void set(const std::string &name, ParamValue value) { m_values[name] = std::move(value); }
    bool has(const std::string &name) const { return m_values.count(name) != 0; }
    const ParamValue &get(const std::string &name) const; // throws naming the parameter

    bool getBool(const std::string &name) const;
    int getInt(const std::string &name) const;
    double getDouble(const std::string &name) const;
    std::string getString(const std::string &name) const;

    const std::map<std::string, ParamValue> &values() const { return m_values; }
    // Deterministic "a=1;b=black" text (sorted by name), for cache keys and summaries.
    std::string canonical() const;

private:
    std::map<std::string, ParamValue> m_values;
};

std::string paramValueText(const ParamValue &value);

// Parses text for one parameter, checking type, range and choices; throws std::invalid_argument
// like: parameter "steps" of integrated-gradients: expected an integer in [1, 4096], got "abc".
ParamValue parseParamValue(const ParamSpec &spec, const std::string &text,
                           const std::string &methodId);

// Defaults overridden by `overrides` (name -> text). Unknown names are errors.
Params resolveParams(const std::vector<ParamSpec> &specs,
                     const std::map<std::string, std::string> &overrides,
                     const std::string &methodId);

// Checks typed values against the declaration (range, choices), filling missing defaults.
Params completeParams(const std::vector<ParamSpec> &specs, const Params &given,
                      const std::string &methodId);

} // namespace heatlens
