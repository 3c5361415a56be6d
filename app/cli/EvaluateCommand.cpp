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
#include "core/metrics/Evaluation.h"
#include "core/report/EvaluationRun.h"
#include "core/report/RunFolder.h"
#include "ui/figure/EvaluationPlots.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace heatlens::cli {

namespace fs = std::filesystem;

namespace {

const char *kUsage =
    R"(usage: heatlens-cli evaluate --model M --dataset D [--limit N | --indices LIST]
                            --methods a,b,... [--metrics m1,m2,...] --out DIR
                            [--param METHOD.k=v ...] [--target predicted|label]
                            [--steps S] [--baseline B] [--cells N] [--batch B]
                            [--road-noise X] [--sanity-images N] [--sanity-mode M]
                            [--seed S] [--references D] [--shard I/N] [--no-plots]
                            [--force]

Measures how faithful explanations are, over a dataset. For every image and method it writes a
row of DIR/per_image.csv (and the curves to DIR/curves.csv); at the end DIR/summary.json holds
means and 95% confidence intervals per method, and DIR/*.png the mean curves.
  --methods      method and control ids (heatlens-cli --list-methods; the control "random" is
                 the ranking every metric is read against)
  --metrics      deletion, insertion, road, accuracy-drop, localisation, complexity, sanity
                 (default: deletion,insertion)
  --limit N      the first N images (default 100); --indices 0,5,10-19 picks images instead
  --param        a parameter of one method: --param grad-cam.layer=features.block2
  --target       explain and score the predicted class (default) or the true label
  --steps S      points of the deletion/insertion curves (default 100)
  --baseline B   what deleted pixels become: black, zero, mean, blur, uniform (default black)
  --cells N      rank N x N grid cells instead of pixels (default 0: pixels)
  --sanity-images N  run the sanity check on the first N images only (default 10)
  --sanity-mode  cascading (default) or independent
  --shard I/N    do shard I of N (from 0): a contiguous Nth of the images, into DIR/shard-I-of-N
                 (the sanity check still runs on the run's first N images); without it, a Slurm
                 array task or a Kubernetes indexed job (with --shards N) picks its shard;
                 heatlens-cli merge combines the folders
  --no-plots     do not write the PNG plots
  --force        start over in a DIR that holds a run with other options
The run is resumable: run the same command again after an interruption (Ctrl-C) and it skips
the images already in per_image.csv.
)";

EvaluationOptions evaluationOptions(const Args &args, const Model &model)
{
    EvaluationOptions o;
    o.methods = splitList(args.required("methods"));
    if (args.has("metrics"))
        o.metrics = splitList(args.value("metrics"));
    o.target = args.value("target", "predicted");
    o.curve.steps = args.intValue("steps", 100);
    o.curve.baseline = args.value("baseline", "black");
    o.curve.cells = args.intValue("cells", 0);
    o.curve.batch = args.intValue("batch", 32);
    o.road.batch = o.curve.batch;
    o.road.noise = args.doubleValue("road-noise", 0.01);
    o.sanityImages = args.intValue("sanity-images", 10);
    o.sanity.mode = args.value("sanity-mode", "cascading");
    o.seed = uint64_t(args.intValue("seed", 0));
    o.sanity.seed = o.seed;
    o.params = parseMethodParams(args.all("param"));
    try {
        validateEvaluation(o, model);
        sanitySteps(model, o.sanity);
    } catch (const std::invalid_argument &e) {
        throw UsageError(e.what());
    }
    if (o.curve.steps < 1 || o.curve.cells < 0 || o.curve.batch < 1 || o.sanityImages < 0)
        throw UsageError("--steps and --batch must be at least 1, --cells and --sanity-images "
                         "at least 0");
    return o;
}

std::string fixed(double v, int digits = 3)
{
    if (!std::isfinite(v))
        return "";
    std::ostringstream s;
    s << std::fixed << std::setprecision(digits) << v;
    return s.str();
}

} // namespace

int mergeEvaluation(const std::vector<std::string> &shards, const std::string &runJson,
                    const std::string &out)
{
    const auto run = nlohmann::json::parse(runJson);
    const auto &o = run.at("options");
    EvaluationOptions options; // what the files' columns need
    options.methods = o.at("methods").get<std::vector<std::string>>();
    options.metrics = o.at("metrics").get<std::vector<std::string>>();
    options.dropFractions = o.at("accuracy_drop_fractions").get<std::vector<double>>();
    // Every shard's rows and curves in shard order (each shard's are in its image order).
    std::string perImage, curves;
    std::vector<size_t> indices;
    double seconds = 0.0;
    std::vector<std::string> skipped;
    for (const auto &dir : shards) {
        for (const char *file : {"per_image.csv", "curves.csv"}) {
            const auto lines = readLines((fs::path(dir) / file).string());
            std::string &text = std::string(file) == "curves.csv" ? curves : perImage;
            if (lines.empty())
                throw std::runtime_error((fs::path(dir) / file).string() + ": missing or empty");
            if (text.empty())
                text = lines.front().first + "\n";
            else if (text.substr(0, text.find('\n')) != lines.front().first)
                throw std::runtime_error((fs::path(dir) / file).string() +
                                         ": other columns than the first shard's");
            for (size_t i = 1; i < lines.size(); ++i)
                if (lines[i].second)
                    text += lines[i].first + "\n";
            if (std::string(file) == "per_image.csv")
                for (size_t i = 1; i < lines.size(); ++i) {
                    const size_t index =
                        std::stoull(lines[i].first.substr(0, lines[i].first.find(',')));
                    if (indices.empty() || indices.back() != index)
                        indices.push_back(index);
                }
        }
        std::ifstream in(fs::path(dir) / "summary.json");
        const auto summary = nlohmann::json::parse(in);
        seconds += summary.value("seconds_this_session", 0.0);
        for (const auto &k : summary.value("skipped", std::vector<std::string>{}))
            skipped.push_back(k);
    }
    fs::create_directories(out);
    writeTextAtomically((fs::path(out) / "per_image.csv").string(), perImage);
    writeTextAtomically((fs::path(out) / "curves.csv").string(), curves);
    writeTextAtomically((fs::path(out) / "run.json").string(), runJson);
    const EvaluationRun files(out, options, runJson, false); // resumes: holds every row
    files.summarise(indices, seconds, skipped);
    std::vector<std::string> written = {files.perImagePath(), files.curvesPath(),
                                        files.summaryPath()};
    drawOffscreen([&] {
        for (const auto &png : ui::writeEvaluationPlots(files, indices, options.methods,
                                                        run.at("model").value("name", "")))
            written.push_back(png);
    });
    std::cout << "merged " << shards.size() << " shards, " << indices.size() << " images, into "
              << out << ":";
    for (const auto &w : written)
        std::cout << " " << w;
    std::cout << "\n";
    return 0;
}

int runEvaluate(const std::vector<std::string> &argv)
{
    Args args(argv, {"model",       "dataset", "limit",      "indices",    "methods",
                     "metrics",     "out",     "param",      "target",     "steps",
                     "baseline",    "cells",   "batch",      "road-noise", "sanity-images",
                     "sanity-mode", "seed",    "references", "shard",      "shards"},
              {"no-plots", "force", "help"});
    if (args.has("help")) {
        std::cout << kUsage;
        return 0;
    }
    const Shard shard = shardOf(args);
    const std::string outDir = shardFolder(args.required("out"), shard);
    const auto model = Model::load(args.required("model"));
    for (const auto &w : model->warnings())
        std::cerr << "warning: " << w << "\n";
    const EvaluationOptions options = evaluationOptions(args, *model);
    const auto dataset = std::shared_ptr<const Dataset>(openDataset(args.required("dataset")));
    const std::vector<size_t> selected = selectedIndices(args, dataset->size(), 100);
    const std::vector<size_t> indices = shardPart(selected, shard);
    // Positions are the whole run's: the sanity check runs on its first images, whichever
    // shard holds them.
    const size_t offset = selected.size() * size_t(shard.index) / size_t(shard.count);
    nlohmann::json run = nlohmann::json::parse(
        runOptionsJson(options, *model, args.required("dataset"), args.value("references")));
    run["selection"] = args.has("indices") ? "indices:" + args.value("indices")
                                           : "limit:" + std::to_string(selected.size());
    run["images"] = indices.size();
    run["shard"] = {{"index", shard.index}, {"count", shard.count}, {"of_images", selected.size()}};
    const std::string runDescription = run.dump(2) + "\n";
    std::unique_ptr<EvaluationRun> opened;
    try {
        opened =
            std::make_unique<EvaluationRun>(outDir, options, runDescription, args.has("force"));
    } catch (const std::runtime_error &e) {
        throw UsageError(e.what());
    }
    EvaluationRun &files = *opened;
    const auto pending = files.pending(indices);
    std::cerr << "evaluating " << model->displayName() << " on " << indices.size() << " images x "
              << options.methods.size() << " methods";
    if (pending.size() < indices.size())
        std::cerr << " (" << indices.size() - pending.size() << " already in "
                  << files.perImagePath() << ")";
    std::cerr << "\n";

    torch::Tensor references;
    const bool needsReferences =
        std::any_of(options.methods.begin(), options.methods.end(), [](const std::string &id) {
            const Method *m = MethodRegistry::instance().find(id);
            return m && m->usesReferences();
        });
    if (needsReferences && !pending.empty()) {
        const auto from =
            args.has("references")
                ? std::shared_ptr<const Dataset>(openDataset(args.value("references")))
                : dataset;
        references = drawReferences(*model, *from, 64, JobContext{});
    }

    const auto start = std::chrono::steady_clock::now();
    std::vector<std::string> skipped;
    {
        TerminalProgress progress("evaluate");
        const JobContext ctx = progress.context(interruptToken());
        for (size_t i = 0; i < pending.size(); ++i) {
            const size_t index = pending[i].first;
            const JobContext ictx =
                ctx.sub(double(i) / double(pending.size()), double(i + 1) / double(pending.size()),
                        "image " + std::to_string(i + 1) + "/" + std::to_string(pending.size()));
            Sample sample;
            try {
                sample = dataset->load(index);
            } catch (const SampleError &e) {
                skipped.push_back(std::to_string(index) + ": " + e.what());
                continue;
            }
            try {
                files.append(evaluateImage(model, sample, index, offset + pending[i].second,
                                           options, references, ictx));
            } catch (const Cancelled &) {
                progress.finish();
                std::cerr << "interrupted: " << i << " of " << pending.size()
                          << " images done this time are in " << files.perImagePath()
                          << "; run the same command again to go on\n";
                return 130;
            }
        }
        progress.finish();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (const auto &s : skipped)
        std::cerr << "skipped " << s << "\n";

    const auto summary = files.summarise(indices, seconds, skipped);
    std::vector<std::string> written = {files.perImagePath(), files.curvesPath(),
                                        files.summaryPath()};
    if (!args.has("no-plots"))
        drawOffscreen([&] {
            for (const auto &png :
                 ui::writeEvaluationPlots(files, indices, options.methods, model->displayName()))
                written.push_back(png);
        });

    // The table people read first: mean [95% CI] per method.
    const auto columns = evaluationColumns(options);
    std::cout << std::left << std::setw(22) << "method";
    for (const auto &c : columns)
        if (c.rfind("correct_at_", 0) != 0 && c.find("logit") == std::string::npos)
            std::cout << std::setw(22) << c;
    std::cout << "\n";
    for (const auto &method : options.methods) {
        std::cout << std::setw(22) << method;
        for (const auto &c : columns) {
            if (c.rfind("correct_at_", 0) == 0 || c.find("logit") != std::string::npos)
                continue;
            const Summary s = summary.at(method).at(c);
            const std::string ci = std::isfinite(s.ci95) ? " +-" + fixed(s.ci95) : "";
            std::cout << std::setw(22) << (std::isfinite(s.mean) ? fixed(s.mean) + ci : "-");
        }
        std::cout << "\n";
    }
    std::cout << "wrote";
    for (const auto &w : written)
        std::cout << " " << w;
    std::cout << "\n";
    return 0;
}

} // namespace heatlens::cli
