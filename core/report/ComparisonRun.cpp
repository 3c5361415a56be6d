#include "core/report/ComparisonRun.h"

#include "core/data/Dataset.h"
#include "core/explain/MethodRegistry.h"
#include "core/io/AtomicFile.h"
#include "core/io/Csv.h"
#include "core/model/EnsembleManifest.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <sstream>

namespace heatlens {

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

// "resnet18" for resnet18.pt, the folder's name for an ensemble folder or its manifest.
std::string stemOf(const std::string &path)
{
    namespace fs = std::filesystem;
    fs::path p = fs::path(path).lexically_normal();
    if (p.filename().empty())
        p = p.parent_path();
    if (p.filename() == kEnsembleManifestName)
        p = p.parent_path();
    std::error_code ec;
    return fs::is_directory(p, ec) ? p.filename().string() : p.stem().string();
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

std::string comparisonRunJson(const ComparisonRun &run, const std::string &selection, size_t images,
                              int shardIndex, int shardCount, size_t ofImages)
{
    const ComparisonOptions &o = run.options;
    std::vector<std::string> models, params;
    for (const auto &m : run.models)
        models.push_back(m.argument);
    std::string methods;
    for (const auto &m : o.methods)
        methods += (methods.empty() ? "" : ",") + m;
    for (const auto &[id, p] : o.params)
        for (const auto &[name, value] : p.values())
            params.push_back(id + "." + name + "=" + paramValueText(value));
    // Keys sorted, as heatlens-cli merge writes the run.json of the shards it merges.
    const nlohmann::json j = {{"format", "heatlens-comparison-1"},
                              {"models", models},
                              {"methods", methods},
                              {"params", params},
                              {"target", o.target},
                              {"signed", !o.agreement.absolute},
                              {"top_k", csvNumber(o.agreement.topFraction)},
                              {"max_side", std::to_string(o.maxSide)},
                              {"dataset", run.dataset},
                              {"selection", selection},
                              {"images", images},
                              {"shard",
                               {{"index", shardIndex},
                                {"count", shardCount},
                                {"of_images", ofImages > 0 ? ofImages : images}}}};
    return j.dump(2) + "\n";
}

std::vector<ComparedModel> comparedModels(const std::vector<ModelPtr> &models,
                                          const std::vector<std::string> &arguments)
{
    std::vector<ComparedModel> out;
    for (size_t i = 0; i < models.size(); ++i) {
        ComparedModel m;
        m.argument = i < arguments.size() ? arguments[i] : models[i]->path();
        m.model = models[i];
        const std::string stem = stemOf(models[i]->path());
        m.name = stem.empty() ? models[i]->displayName() : stem;
        const std::string base = m.name;
        for (int k = 2; std::any_of(out.begin(), out.end(),
                                    [&](const ComparedModel &o) { return o.name == m.name; });
             ++k)
            m.name = base + "#" + std::to_string(k);
        out.push_back(std::move(m));
    }
    return out;
}

void runComparison(ComparisonRun &run, const std::shared_ptr<const Dataset> &dataset,
                   const std::vector<size_t> &indices, const JobContext &ctx, bool keepMaps)
{
    const auto start = std::chrono::steady_clock::now();
    const std::vector<ModelPtr> models = run.modelPointers();
    run.requested = indices.size();
    for (size_t i = 0; i < indices.size() && !run.interrupted; ++i) {
        const JobContext ictx =
            ctx.sub(double(i) / double(indices.size()), double(i + 1) / double(indices.size()),
                    "image " + std::to_string(i + 1) + "/" + std::to_string(indices.size()));
        Sample sample;
        try {
            sample = dataset->load(indices[i]);
        } catch (const SampleError &e) {
            run.skipped.push_back(std::to_string(indices[i]) + ": " + e.what());
            continue;
        }
        try {
            ictx.throwIfCancelled();
            ImageComparison image =
                compareImage(models, sample, indices[i], run.options, dataset, ictx);
            if (!keepMaps)
                for (auto &cell : image.cells)
                    cell.map.release();
            run.images.push_back(std::move(image));
        } catch (const Cancelled &) {
            run.interrupted = true; // the image in progress is dropped
        }
    }
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<std::string> writeComparisonTables(const ComparisonRun &run,
                                               const std::vector<PairSummary> &pairs,
                                               const std::string &dir)
{
    std::vector<std::string> written;
    for (const auto &[name, text] :
         {std::pair<std::string, std::string>{"cells.csv", cellsCsv(run)},
          {"pairs.csv", pairsCsv(run)},
          {"summary.json", summaryJson(run, pairs)}}) {
        written.push_back((std::filesystem::path(dir) / name).string());
        writeTextAtomically(written.back(), text);
    }
    return written;
}

} // namespace heatlens
