#include "core/report/EvaluationRun.h"

#include "core/io/AtomicFile.h"
#include "core/io/Csv.h"
#include "core/report/RunFolder.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace heatlens {

namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const std::vector<std::string> kFixedColumns = {"index",  "id",          "label",  "predicted",
                                                "target", "probability", "method", "seconds"};
const std::vector<std::string> kCurveColumns = {"index", "method", "kind", "x", "y"};

std::string joinNumbers(const std::vector<double> &values)
{
    std::string text;
    for (size_t i = 0; i < values.size(); ++i)
        text +=
            (i ? ";" : "") + (std::isnan(values[i]) ? std::string("nan") : csvNumber(values[i]));
    return text;
}

std::vector<double> splitNumbers(const std::string &text)
{
    std::vector<double> values;
    std::stringstream s(text);
    std::string item;
    while (std::getline(s, item, ';'))
        values.push_back(item == "nan" ? kNaN : parseNumber(item));
    return values;
}

} // namespace

std::string runOptionsJson(const EvaluationOptions &o, const Model &model,
                           const std::string &dataset, const std::string &references)
{
    nlohmann::json params = nlohmann::json::object();
    for (const auto &[id, p] : o.params)
        params[id] = p.canonical();
    nlohmann::json j = {
        {"format", "heatlens-evaluation-1"},
        {"model",
         {{"path", model.path()}, {"name", model.displayName()}, {"identity", model.cacheKey()}}},
        {"dataset", dataset},
        {"references", references},
        {"options",
         {{"methods", o.methods},
          {"params", params},
          {"metrics", o.metrics},
          {"target", o.target},
          {"curve",
           {{"steps", o.curve.steps}, {"baseline", o.curve.baseline}, {"cells", o.curve.cells}}},
          {"road", {{"fractions", o.road.fractions}, {"noise", o.road.noise}}},
          {"sanity",
           {{"mode", o.sanity.mode},
            {"images", o.sanityImages},
            {"threshold", o.sanity.threshold},
            {"max_steps", o.sanity.maxSteps}}},
          {"accuracy_drop_fractions", o.dropFractions},
          {"seed", o.seed}}}};
    return j.dump(2) + "\n";
}

EvaluationRun::EvaluationRun(const std::string &dir, const EvaluationOptions &options,
                             const std::string &runJson, bool startOver)
    : m_dir(dir)
    , m_runJson(runJson)
    , m_options(options)
    , m_columns(evaluationColumns(options))
{
    const bool resume = openRunFolder(dir, runJson, startOver);
    if (resume) {
        loadRows();
        loadCurves();
        return;
    }
    writeTextAtomically(perImagePath(), csvLine(header()) + "\n");
    writeTextAtomically(curvesPath(), csvLine(kCurveColumns) + "\n");
}

std::vector<std::string> EvaluationRun::header() const
{
    auto h = kFixedColumns;
    h.insert(h.end(), m_columns.begin(), m_columns.end());
    return h;
}

std::string EvaluationRun::perImagePath() const
{
    return (fs::path(m_dir) / "per_image.csv").string();
}

std::string EvaluationRun::curvesPath() const
{
    return (fs::path(m_dir) / "curves.csv").string();
}

std::string EvaluationRun::summaryPath() const
{
    return (fs::path(m_dir) / "summary.json").string();
}

void EvaluationRun::loadRows()
{
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
        m_rows[size_t(std::strtoull((*fields)[0].c_str(), nullptr, 10))][(*fields)[6]] = *fields;
    }
    // An image counts once every method has its row; partial images are evaluated again.
    for (auto it = m_rows.begin(); it != m_rows.end();) {
        bool complete = true;
        for (const auto &m : m_options.methods)
            complete = complete && it->second.count(m);
        if (!complete) {
            dropped = true;
            it = m_rows.erase(it);
        } else {
            ++it;
        }
    }
    if (dropped) {
        std::string text = csvLine(expected) + "\n";
        for (const auto &[index, methods] : m_rows)
            for (const auto &m : m_options.methods)
                text += csvLine(methods.at(m)) + "\n";
        writeTextAtomically(perImagePath(), text);
    }
}

void EvaluationRun::loadCurves()
{
    const auto lines = readLines(curvesPath());
    bool dropped = lines.empty();
    for (size_t i = 1; i < lines.size(); ++i) {
        const auto fields = parseCsvLine(lines[i].first);
        if (!lines[i].second || !fields || fields->size() != kCurveColumns.size()) {
            dropped = true;
            continue;
        }
        const size_t index = size_t(std::strtoull((*fields)[0].c_str(), nullptr, 10));
        if (!m_rows.count(index)) {
            dropped = true;
            continue;
        }
        Curve &c = m_curves[index][(*fields)[1]][(*fields)[2]];
        c.fractions = splitNumbers((*fields)[3]);
        c.probabilities = splitNumbers((*fields)[4]);
    }
    if (dropped) {
        std::string text = csvLine(kCurveColumns) + "\n";
        for (const auto &[index, methods] : m_curves)
            for (const auto &[method, kinds] : methods)
                for (const auto &[kind, c] : kinds)
                    text += csvLine({std::to_string(index), method, kind, joinNumbers(c.fractions),
                                     joinNumbers(c.probabilities)}) +
                            "\n";
        writeTextAtomically(curvesPath(), text);
    }
}

std::vector<std::pair<size_t, size_t>>
EvaluationRun::pending(const std::vector<size_t> &indices) const
{
    std::vector<std::pair<size_t, size_t>> missing;
    for (size_t i = 0; i < indices.size(); ++i)
        if (!m_rows.count(indices[i]))
            missing.push_back({indices[i], i});
    return missing;
}

void EvaluationRun::append(const ImageEvaluation &e)
{
    std::string curves, rows;
    for (const auto &m : e.methods) {
        for (const auto &[kind, c] : m.curves) {
            std::vector<std::pair<std::string, const std::vector<double> *>> series = {
                {kind, &c.probabilities}};
            if (kind == "deletion" || kind == "insertion")
                series.push_back({kind + "-logit", &c.logits});
            if (kind == "sanity")
                series.push_back({"sanity-ssim", &c.logits});
            for (const auto &[name, values] : series) {
                curves += csvLine({std::to_string(e.index), m.method, name,
                                   joinNumbers(c.fractions), joinNumbers(*values)}) +
                          "\n";
                Curve &stored = m_curves[e.index][m.method][name];
                stored.fractions = c.fractions;
                stored.probabilities = *values;
            }
        }
        std::vector<std::string> fields = {std::to_string(e.index),
                                           e.id,
                                           std::to_string(e.label),
                                           std::to_string(e.predicted),
                                           std::to_string(e.target),
                                           csvNumber(e.probability),
                                           m.method,
                                           csvNumber(m.seconds)};
        for (const auto &column : m_columns) {
            const auto it = m.values.find(column);
            fields.push_back(csvNumber(it == m.values.end() ? kNaN : it->second));
        }
        rows += csvLine(fields) + "\n";
        m_rows[e.index][m.method] = fields;
    }
    // Curves first: rows mark the image as done, so an interruption between the two writes
    // leaves curves without rows, which reopening drops.
    appendText(curvesPath(), curves);
    appendText(perImagePath(), rows);
}

std::map<std::string, std::map<std::string, MeanCurve>>
EvaluationRun::meanCurves(const std::vector<size_t> &indices) const
{
    std::map<std::string, std::map<std::string, MeanCurve>> means;
    std::map<std::string, std::map<std::string, std::vector<const Curve *>>> byKind;
    for (size_t index : indices) {
        const auto it = m_curves.find(index);
        if (it == m_curves.end())
            continue;
        for (const auto &[method, kinds] : it->second)
            for (const auto &[kind, c] : kinds)
                byKind[method][kind].push_back(&c);
    }
    for (const auto &[method, kinds] : byKind)
        for (const auto &[kind, curves] : kinds) {
            MeanCurve &m = means[method][kind];
            m.x = curves.front()->fractions;
            for (size_t p = 0; p < m.x.size(); ++p) {
                std::vector<double> values;
                for (const Curve *c : curves)
                    if (c->fractions.size() == m.x.size())
                        values.push_back(c->probabilities[p]);
                const Summary s = heatlens::summarise(values);
                m.mean.push_back(s.mean);
                m.ci95.push_back(s.ci95);
                m.images = std::max(m.images, s.n);
            }
        }
    return means;
}

std::map<std::string, std::map<std::string, Summary>>
EvaluationRun::summarise(const std::vector<size_t> &indices, double seconds,
                         const std::vector<std::string> &skipped) const
{
    std::map<std::string, std::map<std::string, Summary>> table;
    const auto h = header();
    std::vector<double> correct;
    nlohmann::json methods = nlohmann::json::object();
    for (const auto &method : m_options.methods) {
        std::vector<std::vector<double>> columns(h.size());
        for (size_t index : indices) {
            const auto it = m_rows.find(index);
            if (it == m_rows.end() || !it->second.count(method))
                continue;
            const auto &fields = it->second.at(method);
            for (size_t c = 0; c < h.size(); ++c)
                columns[c].push_back(parseNumber(fields[c]));
            if (method == m_options.methods.front()) {
                const double label = parseNumber(fields[2]);
                if (label >= 0)
                    correct.push_back(double(label == parseNumber(fields[3])));
            }
        }
        nlohmann::json m = nlohmann::json::object();
        for (size_t c = 7; c < h.size(); ++c) {
            const Summary s = heatlens::summarise(columns[c]);
            table[method][h[c]] = s;
            m[h[c]] = {{"mean", std::isfinite(s.mean) ? nlohmann::json(s.mean) : nlohmann::json()},
                       {"ci95", std::isfinite(s.ci95) ? nlohmann::json(s.ci95) : nlohmann::json()},
                       {"n", s.n}};
        }
        methods[method] = m;
    }
    nlohmann::json curves = nlohmann::json::object();
    for (const auto &[method, kinds] : meanCurves(indices))
        for (const auto &[kind, c] : kinds) {
            nlohmann::json mean = nlohmann::json::array(), ci = nlohmann::json::array();
            for (size_t i = 0; i < c.mean.size(); ++i) {
                mean.push_back(std::isfinite(c.mean[i]) ? nlohmann::json(c.mean[i])
                                                        : nlohmann::json());
                ci.push_back(std::isfinite(c.ci95[i]) ? nlohmann::json(c.ci95[i])
                                                      : nlohmann::json());
            }
            curves[method][kind] = {{"x", c.x}, {"mean", mean}, {"ci95", ci}, {"images", c.images}};
        }
    const nlohmann::json run = nlohmann::json::parse(m_runJson);
    const Summary accuracy = heatlens::summarise(correct);
    nlohmann::json j = {{"run", run},
                        {"images", indices.size()},
                        {"model_accuracy", std::isfinite(accuracy.mean)
                                               ? nlohmann::json(accuracy.mean)
                                               : nlohmann::json()},
                        {"seconds_this_session", seconds},
                        {"skipped", skipped},
                        {"methods", methods},
                        {"curves", curves}};
    writeTextAtomically(summaryPath(), j.dump(2) + "\n");
    return table;
}

} // namespace heatlens
