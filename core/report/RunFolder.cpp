#include "core/report/RunFolder.h"

#include "core/io/AtomicFile.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>

namespace heatlens {

namespace fs = std::filesystem;

namespace {

// The first flattened key whose value differs, for the "other options" message.
std::string firstDifference(const nlohmann::json &was, const nlohmann::json &now)
{
    const auto a = was.flatten(), b = now.flatten();
    for (const auto &[key, value] : b.items())
        if (!a.contains(key) || a[key] != value)
            return key + " was " + (a.contains(key) ? a[key].dump() : "absent") + ", now " +
                   value.dump();
    for (const auto &[key, value] : a.items())
        if (!b.contains(key))
            return key + " was " + value.dump() + ", now absent";
    return "unknown";
}

} // namespace

bool openRunFolder(const std::string &dir, const std::string &runJson, bool startOver)
{
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir))
        throw std::runtime_error("cannot create the output folder " + dir + ": " + ec.message());
    const std::string runPath = (fs::path(dir) / "run.json").string();
    if (fs::exists(runPath) && !startOver) {
        std::ifstream in(runPath);
        nlohmann::json was;
        try {
            was = nlohmann::json::parse(in);
        } catch (const std::exception &e) {
            throw std::runtime_error(runPath + " is not a Heatlens run description (" + e.what() +
                                     "); use another --out folder or --force to start over");
        }
        const auto now = nlohmann::json::parse(runJson);
        if (was != now)
            throw std::runtime_error(runPath + " describes a run with other options (" +
                                     firstDifference(was, now) +
                                     "); use another --out folder, or --force to start over "
                                     "and replace its results");
        return true;
    }
    writeTextAtomically(runPath, runJson);
    return false;
}

std::vector<std::pair<std::string, bool>> readLines(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    std::vector<std::pair<std::string, bool>> lines;
    std::string line;
    while (std::getline(in, line))
        lines.push_back({line, !in.eof()});
    return lines;
}

void appendText(const std::string &path, const std::string &text)
{
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << text;
    out.flush();
    if (!out)
        throw std::runtime_error("cannot append to " + path);
}

double parseNumber(const std::string &field)
{
    if (field.empty())
        return std::numeric_limits<double>::quiet_NaN();
    char *end = nullptr;
    const double v = std::strtod(field.c_str(), &end);
    return end && *end == '\0' ? v : std::numeric_limits<double>::quiet_NaN();
}

} // namespace heatlens
