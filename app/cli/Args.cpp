#include "Args.h"

namespace heatlens::cli {

Args::Args(const std::vector<std::string> &argv, const std::set<std::string> &valued,
           const std::set<std::string> &flags)
{
    for (size_t i = 0; i < argv.size(); ++i) {
        std::string arg = argv[i];
        if (arg.rfind("--", 0) != 0)
            throw UsageError("unexpected argument \"" + arg + "\"");
        std::string name = arg.substr(2), value;
        const auto eq = name.find('=');
        const bool inlineValue = eq != std::string::npos;
        if (inlineValue) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        if (flags.count(name)) {
            if (inlineValue)
                throw UsageError("--" + name + " takes no value");
            m_values[name].push_back("true");
        } else if (valued.count(name)) {
            if (!inlineValue) {
                if (i + 1 >= argv.size())
                    throw UsageError("--" + name + " needs a value");
                value = argv[++i];
            }
            m_values[name].push_back(value);
        } else {
            throw UsageError("unknown option --" + name);
        }
    }
}

std::string Args::value(const std::string &name, const std::string &fallback) const
{
    auto it = m_values.find(name);
    return it == m_values.end() ? fallback : it->second.back();
}

std::string Args::required(const std::string &name) const
{
    if (!has(name))
        throw UsageError("--" + name + " is required");
    return value(name);
}

std::vector<std::string> Args::all(const std::string &name) const
{
    auto it = m_values.find(name);
    return it == m_values.end() ? std::vector<std::string>{} : it->second;
}

int Args::intValue(const std::string &name, int fallback) const
{
    if (!has(name))
        return fallback;
    const std::string v = value(name);
    try {
        size_t used = 0;
        int result = std::stoi(v, &used);
        if (used == v.size())
            return result;
    } catch (const std::exception &) {
    }
    throw UsageError("--" + name + " expects an integer, got \"" + v + "\"");
}

double Args::doubleValue(const std::string &name, double fallback) const
{
    if (!has(name))
        return fallback;
    const std::string v = value(name);
    try {
        size_t used = 0;
        double result = std::stod(v, &used);
        if (used == v.size())
            return result;
    } catch (const std::exception &) {
    }
    throw UsageError("--" + name + " expects a number, got \"" + v + "\"");
}

} // namespace heatlens::cli
