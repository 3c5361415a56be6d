#include "core/report/DatasetRun.h"

#include "core/io/AtomicFile.h"
#include "core/io/Csv.h"
#include "core/report/RunFolder.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace heatlens {

namespace fs = std::filesystem;

DatasetRun::DatasetRun(const std::string &dir, const std::string &runJson,
                       std::vector<std::string> header, std::vector<size_t> keyColumns,
                       std::vector<std::string> combinations, bool startOver)
    : m_dir(dir)
    , m_header(std::move(header))
    , m_keyColumns(std::move(keyColumns))
    , m_combinations(std::move(combinations))
{
    if (!openRunFolder(dir, runJson, startOver)) {
        writeTextAtomically(perImagePath(), csvLine(m_header) + "\n");
        return;
    }
    const auto lines = readLines(perImagePath());
    if (lines.empty() || parseCsvLine(lines[0].first) != std::optional(m_header))
        throw std::runtime_error(perImagePath() +
                                 " does not have the columns this run writes; use another --out "
                                 "folder or --force to start over");
    bool dropped = false;
    for (size_t i = 1; i < lines.size(); ++i) {
        const auto fields = parseCsvLine(lines[i].first);
        if (!lines[i].second || !fields || fields->size() != m_header.size()) {
            dropped = true;
            continue;
        }
        m_rows[size_t(std::strtoull((*fields)[0].c_str(), nullptr, 10))][keyOf(*fields)] = *fields;
    }
    for (auto it = m_rows.begin(); it != m_rows.end();) {
        bool complete = true;
        for (const auto &k : m_combinations)
            complete = complete && it->second.count(k);
        if (complete) {
            ++it;
            continue;
        }
        dropped = true;
        it = m_rows.erase(it);
    }
    if (dropped) { // rewritten without the incomplete images and cut lines
        std::string text = csvLine(m_header) + "\n";
        for (const auto &[index, rows] : m_rows)
            for (const auto &k : m_combinations)
                text += csvLine(rows.at(k)) + "\n";
        writeTextAtomically(perImagePath(), text);
    }
}

std::string DatasetRun::keyOf(const std::vector<std::string> &row) const
{
    std::string key;
    for (size_t i = 0; i < m_keyColumns.size(); ++i)
        key += (i ? "|" : "") + row.at(m_keyColumns[i]);
    return key;
}

std::string DatasetRun::perImagePath() const
{
    return (fs::path(m_dir) / "per_image.csv").string();
}

std::string DatasetRun::summaryPath() const
{
    return (fs::path(m_dir) / "summary.json").string();
}

std::vector<size_t> DatasetRun::pending(const std::vector<size_t> &indices) const
{
    std::vector<size_t> missing;
    for (size_t i : indices)
        if (!m_rows.count(i))
            missing.push_back(i);
    return missing;
}

void DatasetRun::append(size_t index, const std::vector<std::vector<std::string>> &rows)
{
    std::string text;
    for (const auto &row : rows) {
        text += csvLine(row) + "\n";
        m_rows[index][keyOf(row)] = row;
    }
    appendText(perImagePath(), text);
}

std::vector<std::map<std::string, std::string>>
DatasetRun::rowsOf(const std::string &combination, const std::vector<size_t> &indices) const
{
    std::vector<std::map<std::string, std::string>> out;
    for (size_t index : indices) {
        auto it = m_rows.find(index);
        if (it == m_rows.end() || !it->second.count(combination))
            continue;
        std::map<std::string, std::string> row;
        const auto &fields = it->second.at(combination);
        for (size_t c = 0; c < m_header.size(); ++c)
            row[m_header[c]] = fields[c];
        out.push_back(std::move(row));
    }
    return out;
}

std::map<std::string, std::map<std::string, Summary>>
DatasetRun::summarise(const std::vector<size_t> &indices, const std::vector<std::string> &columns,
                      double seconds, const std::vector<std::string> &skipped,
                      const std::string &extra) const
{
    auto number = [](double v) {
        return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
    };
    std::map<std::string, std::map<std::string, Summary>> table;
    nlohmann::json combos = nlohmann::json::object();
    for (const auto &k : m_combinations) {
        const auto rows = rowsOf(k, indices);
        nlohmann::json entry = nlohmann::json::object();
        for (const auto &column : columns) {
            std::vector<double> values;
            for (const auto &row : rows)
                values.push_back(parseNumber(row.at(column)));
            const Summary s = heatlens::summarise(values);
            table[k][column] = s;
            entry[column] = {{"mean", number(s.mean)}, {"ci95", number(s.ci95)}, {"n", s.n}};
        }
        combos[k] = entry;
    }
    int images = 0;
    for (size_t index : indices)
        images += m_rows.count(index) ? 1 : 0;
    nlohmann::json j = {{"images", images},
                        {"seconds", seconds},
                        {"skipped", skipped},
                        {"interval", "95% t-interval of the mean over images"},
                        {"combinations", combos}};
    if (!extra.empty())
        j.update(nlohmann::json::parse(extra));
    writeTextAtomically(summaryPath(), j.dump(2) + "\n");
    return table;
}

MergedShards writeMergedShards(const std::vector<std::string> &shards, const std::string &dir,
                               const std::string &runJson, const std::vector<std::string> &header)
{
    namespace fs = std::filesystem;
    MergedShards merged;
    std::string rows;
    for (const auto &shard : shards) {
        const auto lines = readLines((fs::path(shard) / "per_image.csv").string());
        for (size_t i = 1; i < lines.size(); ++i) {
            if (!lines[i].second)
                continue;
            rows += lines[i].first + "\n";
            const size_t index = std::stoull(lines[i].first.substr(0, lines[i].first.find(',')));
            if (merged.indices.empty() || merged.indices.back() != index)
                merged.indices.push_back(index);
        }
        std::ifstream in(fs::path(shard) / "summary.json");
        const auto summary = nlohmann::json::parse(in);
        merged.seconds += summary.value("seconds", 0.0);
        for (const auto &skip : summary.value("skipped", std::vector<std::string>{}))
            merged.skipped.push_back(skip);
    }
    fs::create_directories(dir);
    writeTextAtomically((fs::path(dir) / "run.json").string(), runJson);
    writeTextAtomically((fs::path(dir) / "per_image.csv").string(), csvLine(header) + "\n" + rows);
    return merged;
}

} // namespace heatlens
