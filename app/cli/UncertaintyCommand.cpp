#include "ArgLists.h"
#include "Args.h"
#include "Commands.h"
#include "Offscreen.h"
#include "TerminalProgress.h"

#include "core/data/Dataset.h"
#include "core/explain/ExplainJob.h"
#include "core/explain/MethodRegistry.h"
#include "core/io/AtomicFile.h"
#include "core/io/Csv.h"
#include "core/jobs/CancelToken.h"
#include "core/report/DatasetRun.h"
#include "core/report/ExplanationExport.h"
#include "core/report/RunFolder.h"
#include "core/report/UncertaintyExport.h"
#include "core/report/UncertaintyRun.h"
#include "core/uncertainty/UncertaintyCurves.h"
#include "core/uncertainty/UncertaintySanity.h"
#include "ui/figure/UncertaintyPlots.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace heatlens::cli {

namespace {

const char *kUsage =
    R"(usage: heatlens-cli uncertainty --model M (--image F | --dataset D [--index K | --limit N
                               | --indices LIST] [--shard I/N]) --methods a,b --sources s1,s2
                               --out DIR
                               [--samples T] [--target C|predicted|label]
                               [--param METHOD.k=v ...] [--source-param SOURCE.k=v ...]
                               [--members A.pt,B.pt,...] [--target-error E] [--time-budget S]
                               [--batch-rows N] [--percentiles] [--normalise raw|max]
                               [--curves deletion|insertion|road] [--ranking mean|p5|snr]
                               [--curve-samples N] [--steps S] [--cells N] [--baseline B]
                               [--sanity] [--save-samples] [--no-figures] [--force]

Explanation uncertainty: every method under every stochastic source. Each model sample gives
one explanation; the distribution is summarised per pixel (mean, std, CV, SNR, percentiles) with
the prediction's spread.
  --sources      mc-dropout (the model's dropout layers sample), dropconnect (weights dropped
                 post hoc, any model), ensemble (an ensemble folder's members, or --members),
                 flipout (Bayesian Flipout layers: demo-cnn-flipout), tta (flips, shifts,
                 brightness), noise (Gaussian input noise)
  --samples T    at most T samples per distribution (default 32); ensembles and TTA stop at
                 their members or transforms
  --target-error E  stop early once the std map's estimated relative error is below E
                 (default 0.1; 0 runs all T)
  --time-budget S   stop after S seconds per distribution (default: none)
  --param, --source-param   a parameter of one method or source (see --list-methods and the
                 sources' descriptions): --source-param dropconnect.rate=0.2
  --normalise    raw (default) or max: each sample map divided by its max |value| first
  --percentiles  also the 5/25/50/75/95th percentile maps (keeps every sample map)
  --curves K     banded faithfulness curves of kind K: every sample map under its model sample,
                 the mean (or --ranking) map under every model sample, and the confident-versus-
                 uncertain test; --curve-samples N model samples (default 16)
  --sanity       the randomisation test on the mean and std maps (one image only; costs a
                 distribution per layer, so --samples should be small)
  --save-samples also the [T, H, W] stack of sample maps (one image only)
One image (--image, or --dataset with --index) writes DIR/<image>-<method>-<source>-*.npy,
PNG overlays and a JSON summary. A dataset writes DIR/per_image.csv and DIR/summary.json (mean
and 95% interval per method and source), figures, and prints the table; the run is resumable:
run the same command again after Ctrl-C and it goes on where it stopped.
)";

struct Setup
{
    ModelPtr model;
    std::vector<std::string> methods, sources;
    std::map<std::string, Params> methodParams, sourceParams;
    std::vector<ModelPtr> members;
    UncertaintyOptions sampling;
    bool curves = false;
    UncertaintyCurveOptions curve;
    int deletionSteps = 100;
};

UncertaintyOptions samplingOptions(const Args &args)
{
    UncertaintyOptions o;
    o.maxSamples = args.intValue("samples", 32);
    o.targetError = args.doubleValue("target-error", 0.1);
    o.timeBudget = args.doubleValue("time-budget", 0.0);
    o.batchRows = args.intValue("batch-rows", o.batchRows);
    o.percentiles = args.has("percentiles");
    o.normalise = args.value("normalise", "raw");
    if (o.percentiles)
        o.keepMaps = std::max(o.keepMaps, o.maxSamples);
    try {
        o.validate();
    } catch (const std::invalid_argument &e) {
        throw UsageError(e.what());
    }
    return o;
}

Setup setupFrom(const Args &args)
{
    Setup s;
    s.model = Model::load(args.required("model"));
    for (const auto &w : s.model->warnings())
        std::cerr << "warning: " << w << "\n";
    s.methods = splitList(args.required("methods"));
    s.sources = splitList(args.required("sources"));
    for (const auto &m : s.methods)
        MethodRegistry::instance().get(m); // throws naming the known ids
    for (const auto &id : s.sources)
        SourceRegistry::instance().get(id);
    s.methodParams = parseMethodParams(args.all("param"));
    s.sourceParams = parseDottedParams(
        args.all("source-param"), "source-param", "source",
        [](const std::string &id) { return SourceRegistry::instance().get(id).params(); });
    for (const auto &path : splitList(args.value("members")))
        s.members.push_back(Model::load(path));
    s.sampling = samplingOptions(args);
    s.curves = args.has("curves");
    s.curve.kind = args.value("curves", "deletion");
    s.curve.ranking = args.value("ranking", "mean");
    s.curve.modelSamples = args.intValue("curve-samples", 16);
    s.curve.curve.steps = args.intValue("steps", 100);
    s.curve.curve.cells = args.intValue("cells", 0);
    s.curve.curve.baseline = args.value("baseline", "black");
    s.deletionSteps = s.curve.curve.steps;
    try {
        s.curve.validate();
    } catch (const std::invalid_argument &e) {
        throw UsageError(e.what());
    }
    if (s.curve.ranking == "p5" && !s.sampling.percentiles)
        throw UsageError("--ranking p5 needs --percentiles");
    return s;
}

UncertaintyRequest requestFor(const Setup &s, const torch::Tensor &input, int target,
                              const std::string &method, const std::string &source,
                              const torch::Tensor &references)
{
    UncertaintyRequest r;
    r.model = s.model;
    r.input = input;
    r.target = target;
    r.methodId = method;
    r.params = s.methodParams.count(method) ? s.methodParams.at(method) : Params{};
    r.sourceId = source;
    r.sourceParams = s.sourceParams.count(source) ? s.sourceParams.at(source) : Params{};
    r.members = s.members;
    r.references = references;
    r.options = s.sampling;
    return r;
}

// Sources that cannot sample this model, with why; they are skipped with a warning.
std::vector<std::string> usableSources(const Setup &s)
{
    std::vector<std::string> usable;
    for (const auto &id : s.sources) {
        const auto &source = SourceRegistry::instance().get(id);
        std::string why = source.whyNotApplicable(*s.model);
        if (id == "ensemble" && s.members.size() >= 2)
            why.clear();
        if (why.empty())
            usable.push_back(id);
        else
            std::cerr << "skipping " << id << ": " << why << "\n";
    }
    if (usable.empty())
        throw UsageError("none of the sources can sample " + s.model->displayName());
    return usable;
}

torch::Tensor referencesFor(const Setup &s, const Dataset *dataset)
{
    const bool needed = std::any_of(s.methods.begin(), s.methods.end(), [](const auto &id) {
        return MethodRegistry::instance().get(id).usesReferences();
    });
    return needed && dataset ? drawReferences(*s.model, *dataset, 64, JobContext{})
                             : torch::Tensor();
}

std::string fixed(double v, int digits = 3)
{
    if (!std::isfinite(v))
        return "-";
    std::ostringstream s;
    s << std::fixed << std::setprecision(digits) << v;
    return s.str();
}

int targetFor(const Args &args, const Model &model, const Sample &sample)
{
    const std::string t = args.value("target", "predicted");
    if (t == "predicted")
        return -1;
    if (t == "label") {
        if (sample.label < 0)
            throw UsageError("--target label: " + sample.id + " has no label");
        return sample.label;
    }
    return parseTarget(t, model);
}

int runOneImage(const Args &args, const Setup &s, const Sample &sample, const Dataset *dataset)
{
    const std::string out = args.required("out");
    const auto input = s.model->preprocess(sample.image);
    const int target = targetFor(args, *s.model, sample);
    const auto references = referencesFor(s, dataset);
    UncertaintyExportOptions exportOptions;
    exportOptions.samples = args.has("save-samples");
    exportOptions.overwrite = args.has("force");
    const auto sources = usableSources(s);
    TerminalProgress progress("uncertainty");
    const JobContext ctx = progress.context(interruptToken());
    const double total = double(s.methods.size() * sources.size());
    int done = 0;
    std::vector<std::string> lines;
    for (const auto &method : s.methods)
        for (const auto &source : sources) {
            const auto sub = ctx.sub(done / total, (done + 1) / total, method + " x " + source);
            ++done;
            const auto request = requestFor(s, input, target, method, source, references);
            const auto result = explainUncertainty(request, sub.sub(0, 0.5));
            std::optional<UncertaintyCurves> curves;
            if (s.curves)
                curves = uncertaintyCurves(request, result, s.curve, sub.sub(0.5, 0.8));
            std::optional<UncertaintySanityResult> sanity;
            if (args.has("sanity"))
                sanity = uncertaintySanity(request, SanityOptions{}, sub.sub(0.8, 1.0));
            const std::string stem = safeStem(sample.id) + "-" + method + "-" + source;
            exportUncertainty(*s.model, input, sample.id, result, curves ? &*curves : nullptr,
                              sanity ? &*sanity : nullptr, out, stem, exportOptions);
            std::ostringstream line;
            line << std::left << std::setw(22) << method << std::setw(13) << source << " T "
                 << std::setw(4) << result.samples << " mean CV " << std::setw(7)
                 << fixed(result.meanCv) << " undefined " << std::setw(6)
                 << fixed(result.undefinedCvFraction, 2) << " rank stability " << std::setw(6)
                 << fixed(result.rankStability) << " flips " << fixed(result.prediction.flipRate, 2)
                 << "  (" << result.stopReason << ")";
            if (curves)
                line << "\n    " << curves->kind << " AUC of sample maps "
                     << fixed(curves->samples.aucMean) << " [" << fixed(curves->samples.aucLow)
                     << ", " << fixed(curves->samples.aucHigh) << "], confident-uncertain delta "
                     << fixed(curves->delta) << " [" << fixed(curves->deltaLow) << ", "
                     << fixed(curves->deltaHigh) << "]";
            if (sanity)
                line << "\n    sanity " << sanity->verdict;
            for (const auto &w : result.warnings)
                line << "\n    warning: " << w;
            lines.push_back(line.str());
        }
    progress.finish();
    for (const auto &l : lines)
        std::cout << l << "\n";
    std::cout << "wrote " << out << "\n";
    return 0;
}

std::string runJsonFor(const Args &args, const Setup &s, const std::vector<std::string> &sources,
                       const Shard &shard, size_t images)
{
    nlohmann::json methodParams = nlohmann::json::object(), sourceParams = nlohmann::json::object();
    for (const auto &[id, p] : s.methodParams)
        methodParams[id] = p.canonical();
    for (const auto &[id, p] : s.sourceParams)
        sourceParams[id] = p.canonical();
    std::vector<std::string> members;
    for (const auto &m : s.members)
        members.push_back(m->cacheKey());
    nlohmann::json j = {{"format", "heatlens-uncertainty-1"},
                        {"model",
                         {{"path", s.model->path()},
                          {"name", s.model->displayName()},
                          {"identity", s.model->cacheKey()}}},
                        {"dataset", args.required("dataset")},
                        {"methods", s.methods},
                        {"sources", sources},
                        {"method_params", methodParams},
                        {"source_params", sourceParams},
                        {"members", members},
                        {"target", args.value("target", "predicted")},
                        {"sampling", s.sampling.canonical()},
                        {"deletion_steps", s.deletionSteps},
                        {"curves", s.curves ? s.curve.canonical() : std::string()}};
    if (shard.count > 1) { // a shard says which; the merged run.json is a whole run's
        j["shard"] = {{"index", shard.index}, {"count", shard.count}};
        j["images"] = images;
        j["selection"] = args.has("indices") ? "indices:" + args.value("indices")
                                             : "limit:" + args.value("limit", "100");
    }
    return j.dump(2) + "\n";
}

void printTable(const std::map<std::string, std::map<std::string, Summary>> &table,
                const std::vector<std::string> &keys)
{
    const std::vector<std::string> columns = {"samples",  "mean_cv",   "rank_stability",
                                              "top_iou",  "flip_rate", "deletion_auc",
                                              "delta_auc"};
    std::cout << std::left << std::setw(34) << "method x source";
    for (const auto &c : columns)
        std::cout << std::setw(18) << c;
    std::cout << "\n";
    for (const auto &k : keys) {
        std::cout << std::setw(34) << k;
        for (const auto &c : columns) {
            const auto &row = table.at(k);
            auto it = row.find(c);
            std::string text = "-";
            if (it != row.end() && std::isfinite(it->second.mean))
                text = fixed(it->second.mean) +
                       (std::isfinite(it->second.ci95) ? " +-" + fixed(it->second.ci95) : "");
            std::cout << std::setw(18) << text;
        }
        std::cout << "\n";
    }
}

// What a dataset run ends with, and a merge of its shards too: summary.json over `indices`, the
// figures (unless `figures` is false) and the table on standard output.
int finishRun(const DatasetRun &run, const std::vector<size_t> &indices,
              const std::vector<std::string> &keys, double seconds,
              const std::vector<std::string> &skipped, const std::string &modelName,
              const std::string &out, bool figures)
{
    std::vector<std::string> summarised = uncertaintyColumns();
    summarised.pop_back(); // stop_reason: text
    const auto table = run.summarise(indices, summarised, seconds, skipped);
    std::vector<std::string> written = {run.perImagePath(), run.summaryPath()};
    if (figures)
        drawOffscreen([&] {
            for (const auto &png : ui::writeUncertaintyPlots(table, keys, modelName, out))
                written.push_back(png);
        });
    printTable(table, keys);
    std::cout << "wrote";
    for (const auto &w : written)
        std::cout << " " << w;
    std::cout << "\n";
    return 0;
}

int runDataset(const Args &args, const Setup &s)
{
    const Shard shard = shardOf(args);
    const std::string out = shardFolder(args.required("out"), shard);
    const auto dataset = std::shared_ptr<const Dataset>(openDataset(args.required("dataset")));
    const auto indices = shardPart(selectedIndices(args, dataset->size(), 100), shard);
    if (shard.count > 1)
        std::cerr << "shard " << shard.index << " of " << shard.count << " (" << shard.from
                  << "): " << indices.size() << " images, into " << out << "\n";
    const auto sources = usableSources(s);
    std::vector<std::string> keys;
    for (const auto &m : s.methods)
        for (const auto &src : sources)
            keys.push_back(m + "|" + src);
    std::unique_ptr<DatasetRun> opened;
    try {
        opened = std::make_unique<DatasetRun>(
            out, runJsonFor(args, s, sources, shard, indices.size()), uncertaintyHeader(),
            uncertaintyKeyColumns(), keys, args.has("force"));
    } catch (const std::runtime_error &e) {
        throw UsageError(e.what());
    }
    DatasetRun &run = *opened;
    const auto pending = run.pending(indices);
    std::cerr << "uncertainty of " << s.model->displayName() << " on " << indices.size()
              << " images x " << keys.size() << " method x source";
    if (pending.size() < indices.size())
        std::cerr << " (" << indices.size() - pending.size() << " already in " << run.perImagePath()
                  << ")";
    std::cerr << "\n";
    const auto references = pending.empty() ? torch::Tensor() : referencesFor(s, dataset.get());
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::string> skipped;
    {
        TerminalProgress progress("uncertainty");
        const JobContext ctx = progress.context(interruptToken());
        for (size_t i = 0; i < pending.size(); ++i) {
            const size_t index = pending[i];
            const auto ictx =
                ctx.sub(double(i) / pending.size(), double(i + 1) / pending.size(),
                        "image " + std::to_string(i + 1) + "/" + std::to_string(pending.size()));
            Sample sample;
            try {
                sample = dataset->load(index);
            } catch (const SampleError &e) {
                skipped.push_back(std::to_string(index) + ": " + e.what());
                continue;
            }
            try {
                const auto input = s.model->preprocess(sample.image);
                const int predicted = int(s.model->predict(input).argmax(1).item<int64_t>());
                const int target = targetFor(args, *s.model, sample);
                std::vector<std::vector<std::string>> rows;
                for (size_t k = 0; k < keys.size(); ++k) {
                    const auto bar = keys[k].find('|');
                    const auto kctx =
                        ictx.sub(double(k) / keys.size(), double(k + 1) / keys.size());
                    const auto request = requestFor(s, input, target, keys[k].substr(0, bar),
                                                    keys[k].substr(bar + 1), references);
                    const auto result = explainUncertainty(request, kctx.sub(0, 0.7));
                    CurveOptions deletion;
                    deletion.steps = s.deletionSteps;
                    deletion.baseline = s.curve.curve.baseline;
                    const double auc = perturbationCurve(*s.model, input, result.target,
                                                         result.mean, deletion, kctx.sub(0.7, 0.8))
                                           .aucProbability;
                    std::optional<UncertaintyCurves> curves;
                    if (s.curves)
                        curves = uncertaintyCurves(request, result, s.curve, kctx.sub(0.8, 1.0));
                    rows.push_back(uncertaintyRow(index, sample, predicted, result, auc,
                                                  curves ? &*curves : nullptr));
                }
                run.append(index, rows);
            } catch (const Cancelled &) {
                progress.finish();
                std::cerr << "interrupted: " << i << " of " << pending.size()
                          << " images done this time are in " << run.perImagePath()
                          << "; run the same command again to go on\n";
                return 130;
            }
        }
        progress.finish();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (const auto &skip : skipped)
        std::cerr << "skipped " << skip << "\n";
    return finishRun(run, indices, keys, seconds, skipped, s.model->displayName(), out,
                     !args.has("no-figures"));
}

} // namespace

int mergeUncertainty(const std::vector<std::string> &shards, const std::string &runJson,
                     const std::string &out)
{
    const auto run = nlohmann::json::parse(runJson);
    std::vector<std::string> keys;
    for (const auto &m : run.at("methods"))
        for (const auto &src : run.at("sources"))
            keys.push_back(m.get<std::string>() + "|" + src.get<std::string>());
    const MergedShards shardRows = writeMergedShards(shards, out, runJson, uncertaintyHeader());
    const DatasetRun merged(out, runJson, uncertaintyHeader(), uncertaintyKeyColumns(), keys,
                            false);
    return finishRun(merged, shardRows.indices, keys, shardRows.seconds, shardRows.skipped,
                     run.at("model").at("name").get<std::string>(), out, true);
}

int runUncertainty(const std::vector<std::string> &argv)
{
    Args args(argv,
              {"model",   "image",         "dataset",     "index",      "limit",     "indices",
               "methods", "sources",       "samples",     "target",     "param",     "source-param",
               "members", "target-error",  "time-budget", "batch-rows", "normalise", "curves",
               "ranking", "curve-samples", "steps",       "cells",      "baseline",  "out",
               "shard",   "shards"},
              {"percentiles", "sanity", "save-samples", "no-figures", "force", "help"});
    if (args.has("help")) {
        std::cout << kUsage;
        return 0;
    }
    if (args.has("image") == args.has("dataset"))
        throw UsageError("give either --image F or --dataset D (with --index K for one image)");
    args.required("out");
    const Setup setup = setupFrom(args);
    if (args.has("image"))
        return runOneImage(args, setup, openImageFiles({args.value("image")})->load(0), nullptr);
    if (args.has("index")) {
        const auto dataset = openDataset(args.value("dataset"));
        const int index = args.intValue("index", -1);
        if (index < 0 || size_t(index) >= dataset->size())
            throw UsageError("--index must be in [0, " + std::to_string(dataset->size() - 1) +
                             "] for " + args.value("dataset") + ", got " + args.value("index"));
        return runOneImage(args, setup, dataset->load(size_t(index)), dataset.get());
    }
    if (args.has("sanity") || args.has("save-samples"))
        throw UsageError("--sanity and --save-samples apply to one image (--image or --index)");
    return runDataset(args, setup);
}

} // namespace heatlens::cli
