#pragma once

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace heatlens::cli {

// A usage error: printed as one line, exit code 2.
class UsageError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

// "--name value", "--name=value" and "--flag" options of one command.
class Args
{
public:
    // `valued`: options taking a value (may repeat); `flags`: options without one.
    Args(const std::vector<std::string> &argv, const std::set<std::string> &valued,
         const std::set<std::string> &flags);

    bool has(const std::string &name) const { return m_values.count(name) != 0; }
    std::string value(const std::string &name, const std::string &fallback = {}) const;
    std::string required(const std::string &name) const;
    std::vector<std::string> all(const std::string &name) const;
    int intValue(const std::string &name, int fallback) const;
    double doubleValue(const std::string &name, double fallback) const;

private:
    std::map<std::string, std::vector<std::string>> m_values;
};

} // namespace heatlens::cli
