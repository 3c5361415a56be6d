#include "core/report/UncertaintyRun.h"

#include "core/io/AtomicFile.h"
#include "core/io/Csv.h"
#include "core/report/RunFolder.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>

namespace heatlens {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kKeyColumns = {"index",  "id",     "label", "predicted",
                                              "target", "method", "source"};

double meanOf(const cv::Mat &m)
{
    return cv::mean(m)[0];
}

std::string key(const std::vector<std::string> &row)
{
    return row[5] + "|" + row[6];
}

} // namespace

const std::vector<std::string> &uncertaintyColumns()
{
    static const std::vector<std::string> columns = {"samples",
                                                     "mean_cv",
                                                     "median_cv",
                                                     "undefined_cv",
                                                     "rank_stability",
                                                     "top_iou",
                                                     "relative_std_error",
                                                     "mean_std",
                                                     "entropy",
                                                     "mutual_information",
                                                     "flip_rate",
                                                     "deletion_auc",
                                                     "band_auc",
                                                     "band_auc_p5",
                                                     "band_auc_p95",
                                                     "delta_auc",
                                                     "delta_p5",
                                                     "delta_p95",
                                                     "seconds",
                                                     "stop_reason"};
    return columns;
}

std::vector<std::string> uncertaintyRow(size_t index, const Sample &sample, int predicted,
                                        const UncertaintyResult &r, double deletionAuc,
                                        const UncertaintyCurves *c)
{
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const PredictionSpread &p = r.prediction;
    std::vector<std::string> row = {std::to_string(index),
                                    sample.id,
                                    std::to_string(sample.label),
                                    std::to_string(predicted),
                                    std::to_string(r.target),
                                    r.methodId,
                                    r.sourceId};
    for (double v : {double(r.samples), r.meanCv, r.medianCv, r.undefinedCvFraction,
                     r.rankStability, r.topIoU, r.relativeStdError, meanOf(r.stdDev), p.entropy,
                     p.mutualInformation, p.flipRate, deletionAuc, c ? c->samples.aucMean : nan,
                     c ? c->samples.aucLow : nan, c ? c->samples.aucHigh : nan, c ? c->delta : nan,
                     c ? c->deltaLow : nan, c ? c->deltaHigh : nan, r.seconds})
        row.push_back(csvNumber(v));
    row.push_back(r.stopReason);
    return row;
}

UncertaintyRun::UncertaintyRun(const std::string &dir, const std::string &runJson,
                               std::vector<std::string> combinations, bool startOver)
    : m_dir(dir)
    , m_combinations(std::move(combinations))
{
    if (!openRunFolder(dir, runJson, startOver)) {
        writeTextAtomically(perImagePath(), csvLine(header()) + "\n");
        return;
    }
    const auto lines = readLines(perImagePath());
    const auto expected = header();
    if (lines.empty() || parseCsvLine(lines[0].first) != std::optional(expected))
        throw std::runtime_error(perImagePath() +
                                 " does not have the columns this run writes; use another --out "
                                 "folder or --force to start over");
    bool dropped = false;
    for (size_t i = 1; i < lines.size(); ++i) {
        const auto fields = parseCsvLine(lines[i].first);
        if (!lines[i].second || !fields || fields->size() != expected.size()) {
            dropped = true;
            continue;
        }
        m_rows[size_t(std::strtoull((*fields)[0].c_str(), nullptr, 10))][key(*fields)] = *fields;
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
    if (dropped) { // rewrite without the partial images and cut lines
        std::string text = csvLine(expected) + "\n";
        for (const auto &[index, rows] : m_rows)
            for (const auto &k : m_combinations)
                text += csvLine(rows.at(k)) + "\n";
        writeTextAtomically(perImagePath(), text);
    }
}

std::vector<std::string> UncertaintyRun::header() const
{
    auto h = kKeyColumns;
    h.insert(h.end(), uncertaintyColumns().begin(), uncertaintyColumns().end());
    return h;
}

std::string UncertaintyRun::perImagePath() const
{
    return (fs::path(m_dir) / "per_image.csv").string();
}

std::string UncertaintyRun::summaryPath() const
{
    return (fs::path(m_dir) / "summary.json").string();
}

std::vector<size_t> UncertaintyRun::pending(const std::vector<size_t> &indices) const
{
    std::vector<size_t> missing;
    for (size_t i : indices)
        if (!m_rows.count(i))
            missing.push_back(i);
    return missing;
}

void UncertaintyRun::append(size_t index, const std::vector<std::vector<std::string>> &rows)
{
    std::string text;
    for (const auto &row : rows) {
        text += csvLine(row) + "\n";
        m_rows[index][key(row)] = row;
    }
    appendText(perImagePath(), text);
}

std::map<std::string, std::map<std::string, Summary>>
UncertaintyRun::summarise(const std::vector<size_t> &indices, double seconds,
                          const std::vector<std::string> &skipped) const
{
    const auto h = header();
    std::map<std::string, std::map<std::string, Summary>> table;
    nlohmann::json combos = nlohmann::json::object();
    int images = 0;
    for (const auto &k : m_combinations) {
        std::map<std::string, std::vector<double>> columns;
        for (size_t index : indices) {
            auto it = m_rows.find(index);
            if (it == m_rows.end() || !it->second.count(k))
                continue;
            const auto &row = it->second.at(k);
            for (size_t c = kKeyColumns.size(); c + 1 < h.size(); ++c)
                columns[h[c]].push_back(parseNumber(row[c]));
        }
        nlohmann::json entry = nlohmann::json::object();
        for (const auto &[column, values] : columns) {
            const Summary s = heatlens::summarise(values);
            table[k][column] = s;
            auto number = [](double v) {
                return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
            };
            entry[column] = {{"mean", number(s.mean)}, {"ci95", number(s.ci95)}, {"n", s.n}};
        }
        combos[k] = entry;
    }
    for (size_t index : indices)
        images += m_rows.count(index) ? 1 : 0;
    nlohmann::json j = {{"images", images},
                        {"seconds", seconds},
                        {"skipped", skipped},
                        {"interval", "95% t-interval of the mean over images"},
                        {"method_source", combos}};
    writeTextAtomically(summaryPath(), j.dump(2) + "\n");
    return table;
}

} // namespace heatlens
