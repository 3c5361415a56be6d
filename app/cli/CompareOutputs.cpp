#include "CompareOutputs.h"

#include "core/explain/MethodRegistry.h"
#include "core/io/AtomicFile.h"
#include "core/io/Csv.h"
#include "ui/figure/AgreementHistogram.h"
#include "ui/figure/AgreementMatrix.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <sstream>

namespace heatlens::cli {

namespace {

using Json = nlohmann::ordered_json;

std::string integerOr(int value)
{
    return value >= 0 ? std::to_string(value) : std::string();
}

Json number(double value)
{
    return std::isfinite(value) ? Json(value) : Json();
}

Json summaryObject(const Summary &s)
{
    return {{"mean", number(s.mean)}, {"ci95", number(s.ci95)}, {"n", s.n}};
}

std::string methodName(const std::string &id)
{
    const Method *m = MethodRegistry::instance().find(id);
    return m ? m->name() : id;
}

// The class a cell's model predicted, from any cell of that model on the image that has one
// (every cell of a model sees the same input); -1 when none has.
int modelPrediction(const ComparisonRun &run, const ImageComparison &image, size_t model)
{
    const size_t methods = run.options.methods.size();
    for (size_t k = 0; k < methods; ++k) {
        const CellResult &cell = image.cells[model * methods + k];
        if (cell.ok)
            return cell.prediction.predicted;
    }
    return -1;
}

// Writes a figure through a temporary file ending in .png (the figure savers pick the format
// by the suffix), renamed over `path` once complete.
void saveAtomically(const std::string &path, const std::function<void(const QString &)> &save)
{
    const std::string tmp = temporarySiblingPath(path) + ".png";
    try {
        save(QString::fromStdString(tmp));
    } catch (...) {
        std::remove(tmp.c_str());
        throw;
    }
    commitTemporary(tmp, path);
}

ui::AgreementMatrix agreementMatrix(const ComparisonRun &run, const std::vector<PairSummary> &pairs,
                                    const std::string &metric)
{
    const size_t n = run.cellCount();
    ui::AgreementMatrix m;
    for (size_t c = 0; c < n; ++c)
        m.labels << QString::fromStdString(run.models[run.modelOf(c)].name + " / " +
                                           methodName(run.methodOf(c)));
    m.values.assign(n * n, std::nan(""));
    for (size_t r = 0; r < n; ++r)
        for (size_t c = 0; c < n; ++c) {
            QString annotation;
            if (r == c) {
                m.values[r * n + c] = 1.0;
            } else {
                const PairSummary &pair = pairs[pairIndex(r, c, n)];
                const auto all = pair.find("all");
                if (all != pair.end() && all->second.count(metric)) {
                    const Summary &s = all->second.at(metric);
                    m.values[r * n + c] = s.n > 0 ? s.mean : std::nan("");
                    if (std::isfinite(s.ci95))
                        annotation = QStringLiteral("+-") + QString::number(s.ci95, 'f', 2);
                }
            }
            m.annotations << annotation;
        }
    const AgreementOptions &a = run.options.agreement;
    m.metric = QString::fromStdString(agreementMetricLabel(metric, a.topFraction));
    m.title = QStringLiteral("%1 (%2), mean over %3 images, target: %4")
                  .arg(m.metric, a.absolute ? QStringLiteral("|maps|") : QStringLiteral("signed"))
                  .arg(run.images.size())
                  .arg(QString::fromStdString(targetDescription(run.options.target)));
    return m;
}

// The histogram series of models a and b: one per method both explain, coloured by the
// method's place in --methods.
std::vector<ui::HistogramSeries> histogramSeries(const ComparisonRun &run, size_t a, size_t b)
{
    const size_t methods = run.options.methods.size(), cells = run.cellCount();
    std::vector<ui::HistogramSeries> series;
    for (size_t k = 0; k < methods; ++k) {
        const size_t i = a * methods + k, j = b * methods + k;
        ui::HistogramSeries s;
        s.label = QString::fromStdString(methodName(run.options.methods[k]));
        s.colour = ui::seriesColour(int(k));
        for (const auto &image : run.images) {
            if (!image.cells[i].ok || !image.cells[j].ok)
                continue;
            for (const auto &metric : agreementMetrics())
                s.values[metric].push_back(image.pairs[pairIndex(i, j, cells)].value(metric));
        }
        if (!s.values.empty())
            series.push_back(std::move(s));
    }
    return series;
}

} // namespace

std::vector<ModelPtr> ComparisonRun::modelPointers() const
{
    std::vector<ModelPtr> pointers;
    for (const auto &m : models)
        pointers.push_back(m.model);
    return pointers;
}

std::string ComparisonRun::cellName(size_t cell) const
{
    return models[modelOf(cell)].name + "/" + methodOf(cell);
}

std::string targetDescription(const std::string &target)
{
    if (target == "label")
        return "true label";
    if (target == "first")
        return "the first model's prediction";
    return "each model's own prediction";
}

std::vector<PairSummary> summarise(const ComparisonRun &run)
{
    return summariseComparisons(run.images, run.modelPointers(), run.options.methods.size());
}

std::string cellsCsv(const ComparisonRun &run)
{
    std::ostringstream out;
    out << csvLine({"index", "id", "label", "model", "method", "ok", "error", "predicted",
                    "probability_predicted", "target", "probability_target", "seconds"})
        << "\n";
    for (const auto &image : run.images)
        for (size_t c = 0; c < image.cells.size(); ++c) {
            const CellResult &cell = image.cells[c];
            const Prediction &p = cell.prediction;
            const auto probability = [&p](int k) {
                return k >= 0 && size_t(k) < p.probabilities.size()
                           ? csvNumber(p.probabilities[size_t(k)])
                           : std::string();
            };
            out << csvLine({std::to_string(image.index), image.id, integerOr(image.label),
                            run.models[run.modelOf(c)].name, run.methodOf(c), cell.ok ? "1" : "0",
                            cell.error, integerOr(p.predicted), probability(p.predicted),
                            integerOr(cell.target), probability(cell.target),
                            csvNumber(cell.seconds)})
                << "\n";
        }
    return out.str();
}

std::string pairsCsv(const ComparisonRun &run)
{
    std::vector<std::string> header = {
        "index",   "id",       "label",       "cell_a",      "cell_b",    "model_a",  "method_a",
        "model_b", "method_b", "predicted_a", "predicted_b", "correct_a", "correct_b"};
    for (const auto &metric : agreementMetrics())
        header.push_back(metric);
    std::ostringstream out;
    out << csvLine(header) << "\n";
    const size_t cells = run.cellCount();
    for (const auto &image : run.images) {
        const auto correct = [&image](int predicted) {
            return image.label < 0 ? std::string() : predicted == image.label ? "1" : "0";
        };
        for (size_t i = 0; i < cells; ++i)
            for (size_t j = i + 1; j < cells; ++j) {
                const CellResult &a = image.cells[i], &b = image.cells[j];
                if (!a.ok || !b.ok)
                    continue;
                std::vector<std::string> row = {std::to_string(image.index),
                                                image.id,
                                                integerOr(image.label),
                                                run.cellName(i),
                                                run.cellName(j),
                                                run.models[run.modelOf(i)].name,
                                                run.methodOf(i),
                                                run.models[run.modelOf(j)].name,
                                                run.methodOf(j),
                                                integerOr(a.prediction.predicted),
                                                integerOr(b.prediction.predicted),
                                                correct(a.prediction.predicted),
                                                correct(b.prediction.predicted)};
                const Agreement &agreement = image.pairs[pairIndex(i, j, cells)];
                for (const auto &metric : agreementMetrics())
                    row.push_back(csvNumber(agreement.value(metric)));
                out << csvLine(row) << "\n";
            }
    }
    return out.str();
}

std::string summaryJson(const ComparisonRun &run, const std::vector<PairSummary> &pairs)
{
    const ComparisonOptions &o = run.options;
    Json models = Json::array();
    for (const auto &m : run.models)
        models.push_back({{"name", m.name},
                          {"path", m.model->path()},
                          {"display_name", m.model->displayName()},
                          {"classes", m.model->numClasses()}});
    Json params = Json::object();
    for (const auto &[id, p] : o.params)
        params[id] = p.canonical();
    const Json options = {{"models", models},
                          {"methods", o.methods},
                          {"params", params},
                          {"target", o.target},
                          {"absolute", o.agreement.absolute},
                          {"top_k", o.agreement.topFraction},
                          {"clip_percentile", o.agreement.clipPercentile},
                          {"max_side", o.maxSide},
                          {"dataset", run.dataset}};

    Json accuracy = Json::object();
    for (size_t m = 0; m < run.models.size(); ++m) {
        std::vector<double> correct;
        for (const auto &image : run.images) {
            const int predicted = modelPrediction(run, image, m);
            if (image.label >= 0 && predicted >= 0)
                correct.push_back(predicted == image.label ? 1.0 : 0.0);
        }
        accuracy[run.models[m].name] = summaryObject(heatlens::summarise(correct));
    }

    Json cells = Json::array();
    for (size_t c = 0; c < run.cellCount(); ++c) {
        int ok = 0;
        double seconds = 0.0;
        std::string error;
        for (const auto &image : run.images) {
            const CellResult &cell = image.cells[c];
            if (cell.ok) {
                ++ok;
                seconds += cell.seconds;
            } else if (error.empty()) {
                error = cell.error;
            }
        }
        const Method &method = MethodRegistry::instance().get(run.methodOf(c));
        cells.push_back(
            {{"name", run.cellName(c)},
             {"model", run.models[run.modelOf(c)].name},
             {"method", run.methodOf(c)},
             {"applicable", method.whyNotApplicable(*run.models[run.modelOf(c)].model).empty()},
             {"ok", ok},
             {"failed", int(run.images.size()) - ok},
             {"error", ok == 0 && !error.empty() ? Json(error) : Json()},
             {"mean_seconds", ok > 0 ? Json(seconds / ok) : Json()}});
    }

    Json pairList = Json::array();
    const size_t n = run.cellCount();
    for (size_t i = 0; i < n; ++i)
        for (size_t j = i + 1; j < n; ++j) {
            Json groups = Json::object();
            for (const auto &[group, metrics] : pairs[pairIndex(i, j, n)]) {
                Json values = Json::object();
                for (const auto &metric : agreementMetrics())
                    if (metrics.count(metric))
                        values[metric] = summaryObject(metrics.at(metric));
                groups[group] = values;
            }
            pairList.push_back({{"a", run.cellName(i)},
                                {"b", run.cellName(j)},
                                {"same_model", run.modelOf(i) == run.modelOf(j)},
                                {"same_method", run.methodOf(i) == run.methodOf(j)},
                                {"groups", groups}});
        }

    const Json j = {{"format", "heatlens-comparison-1"},
                    {"interrupted", run.interrupted},
                    {"options", options},
                    {"images",
                     {{"requested", run.requested},
                      {"compared", run.images.size()},
                      {"skipped", run.skipped.size()}}},
                    {"skipped", run.skipped},
                    {"seconds", run.seconds},
                    {"accuracy", accuracy},
                    {"cells", cells},
                    {"pairs", pairList}};
    return j.dump(2) + "\n";
}

std::vector<std::string> writeComparisonFigures(const ComparisonRun &run,
                                                const std::vector<PairSummary> &pairs,
                                                const std::string &dir)
{
    namespace fs = std::filesystem;
    std::vector<std::string> written;
    for (const auto &metric : agreementMetrics()) {
        const std::string path = (fs::path(dir) / ("matrix_" + metric + ".png")).string();
        const ui::AgreementMatrix matrix = agreementMatrix(run, pairs, metric);
        saveAtomically(path, [&](const QString &tmp) { ui::saveAgreementMatrix(matrix, tmp); });
        written.push_back(path);
    }
    QStringList metrics;
    for (const auto &metric : agreementMetrics())
        metrics << QString::fromStdString(metric);
    for (size_t a = 0; a < run.models.size(); ++a)
        for (size_t b = a + 1; b < run.models.size(); ++b) {
            const auto series = histogramSeries(run, a, b);
            if (series.empty())
                continue; // no method explains both models
            const std::string &nameA = run.models[a].name, &nameB = run.models[b].name;
            const std::string path =
                (fs::path(dir) / ("histogram_" + nameA + "_vs_" + nameB + ".png")).string();
            const QString title =
                QStringLiteral("%1 vs %2: agreement per image (%3 images)")
                    .arg(QString::fromStdString(nameA), QString::fromStdString(nameB))
                    .arg(run.images.size());
            saveAtomically(path, [&](const QString &tmp) {
                ui::saveAgreementHistograms(series, metrics, title, tmp, run.options.agreement);
            });
            written.push_back(path);
        }
    return written;
}

} // namespace heatlens::cli
