#include "ArgLists.h"
#include "Args.h"
#include "Commands.h"
#include "Offscreen.h"
#include "TerminalProgress.h"

#include "core/data/Dataset.h"
#include "core/io/AtomicFile.h"
#include "core/io/Csv.h"
#include "core/jobs/CancelToken.h"
#include "core/model/Ensemble.h"
#include "core/model/Zoo.h"
#include "core/report/ComparisonRun.h"
#include "core/report/RunFolder.h"
#include "ui/figure/ComparisonFigures.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <set>
#include <sstream>

namespace heatlens::cli {

namespace {

namespace fs = std::filesystem;

const char *kUsage =
    R"(usage: heatlens-cli compare --models A,B,... --methods m1,m2,... --dataset D
                           [--limit N | --indices LIST] --out DIR [--param METHOD.k=v ...]
                           [--target label|first|own] [--signed] [--top-k F] [--max-side S]
                           [--no-plots] [--force]

How far explanations agree across models and methods, over a dataset. Every model explains
every image with every method (a cell: model x method); each map is brought to one frame of the
image (the part of it every model saw) and every pair of cells is compared with Spearman,
Pearson, cosine, SSIM and top-k IoU.
  --models       TorchScript files, ensemble folders or demo-zoo names (demo-cnn, demo-vit,
                 demo-cnn-sg, demo-vit-sg, ...; trained by heatlens-cli zoo); the models must
                 have the same classes. Outputs name them by file stem ("#2" if two collide)
  --methods      method ids (heatlens-cli --list-methods); a method that does not apply to a
                 model (attention methods on a CNN) leaves that cell empty
  --dataset D    an IDX file, a folder of IDX files or images, or a list file
  --limit N      the first N images (default 100); --indices 0,5,10-19 picks images instead
  --param        a parameter of one method: --param grad-cam.layer=features.block2
  --target       the class every map explains: label (the true class; the first model's
                 prediction when an image has no label, the default), first (the first
                 model's prediction) or own (each model explains its own prediction)
  --signed       compare signed maps (default: magnitudes |map|, since methods disagree on
                 sign conventions)
  --top-k F      the fraction of pixels of the top-k IoU, in (0, 1] (default 0.1)
  --max-side S   the longest side of the comparison frame in pixels (default 512)
  --shard I/N    do shard I of N (from 0): a contiguous Nth of the images, into DIR/shard-I-of-N;
                 without it, a Slurm array task or a Kubernetes indexed job (with --shards N)
                 picks its shard; heatlens-cli merge combines the folders
  --no-plots     do not write the PNG figures
  --force        replace the results of an earlier comparison in DIR
Writes into DIR:
  cells.csv      one row per image and cell: prediction, target, probabilities, seconds, and
                 why there is no map (ok = 0)
  pairs.csv      one row per image and pair of cells that both have maps: predictions, whether
                 each is correct, every agreement metric
  run.json       the options as given, the images and the shard
  summary.json   the options, each model's accuracy, each cell's success, and per pair of cells
                 the mean, 95% confidence interval and n of every metric over all images, per
                 true class (class:<name>), and where both models are correct, neither is
                 (incorrect) or one is (mixed); NaN is written as null
  matrix_<metric>.png            mean agreement of every pair of cells, with 95% intervals
  histogram_<A>_vs_<B>.png       per pair of models: the per-image agreement of every method
                                 both explain, one panel per metric
Ctrl-C stops the comparison (the image in progress is dropped) and writes the results of the
images compared so far; summary.json then says "interrupted": true and the exit code is 130.
)";

// A model file or folder when `argument` exists, else the demo-zoo model of that name.
std::string resolveModel(const std::string &argument)
{
    std::error_code ec;
    if (fs::exists(argument, ec))
        return argument;
    std::string names;
    for (const auto &entry : zooEntries()) {
        names += (names.empty() ? "" : ", ") + entry.name;
        if (entry.name != argument)
            continue;
        if (!entry.available && !fs::exists(entry.path, ec))
            throw std::runtime_error("the demo model " + argument + " is not trained yet (" +
                                     entry.path + " is missing): run heatlens-cli zoo");
        if (!entry.available)
            std::cerr << "warning: " << entry.path
                      << " was trained with another recipe; heatlens-cli zoo retrains it\n";
        return entry.path;
    }
    throw UsageError("--models: \"" + argument +
                     "\" is neither a model file nor a demo-zoo model (" + names + ")");
}

std::vector<ComparedModel> loadModels(const std::vector<std::string> &arguments)
{
    std::vector<ModelPtr> models;
    for (const auto &argument : arguments) {
        models.push_back(Model::load(resolveModel(argument)));
        for (const auto &w : models.back()->warnings())
            std::cerr << "warning: " << argument << ": " << w << "\n";
    }
    return comparedModels(models, arguments);
}

ComparisonOptions comparisonOptions(const Args &args, const std::vector<ModelPtr> &models)
{
    ComparisonOptions o;
    o.methods = splitList(args.required("methods"));
    o.target = args.value("target", "label");
    o.agreement.absolute = !args.has("signed");
    o.agreement.topFraction = args.doubleValue("top-k", 0.1);
    o.maxSide = args.intValue("max-side", 512);
    if (!(o.agreement.topFraction > 0.0 && o.agreement.topFraction <= 1.0))
        throw UsageError("--top-k must be a fraction of the pixels in (0, 1], got " +
                         args.value("top-k"));
    try {
        o.params = parseMethodParams(args.all("param"));
        for (const auto &[id, params] : o.params)
            if (std::find(o.methods.begin(), o.methods.end(), id) == o.methods.end())
                throw UsageError("--param sets a parameter of " + id +
                                 ", which is not in --methods");
        validateComparison(o, models);
    } catch (const std::invalid_argument &e) {
        throw UsageError(e.what());
    }
    return o;
}

// Refuses to replace an earlier comparison's results unless --force.
void checkOutputFolder(const std::string &dir, bool force)
{
    for (const char *name : {"summary.json", "pairs.csv", "cells.csv"}) {
        const std::string path = (fs::path(dir) / name).string();
        std::error_code ec;
        if (!force && fs::exists(path, ec))
            throw UsageError(path + " exists: choose another --out or add --force to replace it");
    }
    std::error_code created, checked;
    fs::create_directories(dir, created);
    if (!fs::is_directory(dir, checked))
        throw std::runtime_error("cannot create the folder " + dir + ": " +
                                 (created ? created : checked).message());
}

const std::set<std::string> kValueOptions = {"models",  "methods",  "dataset", "limit",
                                             "indices", "out",      "param",   "target",
                                             "top-k",   "max-side", "shard",   "shards"};

// The comparison options of a run.json, as the arguments that gave them.
std::vector<std::string> argumentsOf(const nlohmann::json &run)
{
    std::string models;
    for (const auto &m : run.at("models"))
        models += (models.empty() ? "" : ",") + m.get<std::string>();
    std::vector<std::string> argv = {"--models",   models,
                                     "--methods",  run.at("methods").get<std::string>(),
                                     "--target",   run.at("target").get<std::string>(),
                                     "--top-k",    run.at("top_k").get<std::string>(),
                                     "--max-side", run.at("max_side").get<std::string>(),
                                     "--dataset",  run.at("dataset").get<std::string>()};
    for (const auto &p : run.at("params"))
        argv.insert(argv.end(), {"--param", p.get<std::string>()});
    if (run.at("signed").get<bool>())
        argv.push_back("--signed");
    return argv;
}

double numberOr(const std::string &text)
{
    return text.empty() ? std::numeric_limits<double>::quiet_NaN() : std::stod(text);
}

int intOr(const std::string &text)
{
    return text.empty() ? -1 : std::stoi(text);
}

// The data rows of a CSV file by column name.
std::vector<std::map<std::string, std::string>> csvRecords(const fs::path &path)
{
    const auto lines = readLines(path.string());
    if (lines.empty())
        throw std::runtime_error(path.string() + ": missing or empty");
    const auto header = parseCsvLine(lines.front().first);
    std::vector<std::map<std::string, std::string>> records;
    for (size_t i = 1; i < lines.size(); ++i) {
        const auto fields = parseCsvLine(lines[i].first);
        if (!lines[i].second || !fields || !header || fields->size() != header->size())
            throw std::runtime_error(path.string() + ": line " + std::to_string(i + 1) +
                                     " is cut or malformed");
        std::map<std::string, std::string> r;
        for (size_t k = 0; k < fields->size(); ++k)
            r[(*header)[k]] = (*fields)[k];
        records.push_back(std::move(r));
    }
    return records;
}

std::string meanCi(const Summary &s)
{
    if (s.n == 0 || !std::isfinite(s.mean))
        return "-";
    std::ostringstream out;
    out << std::fixed << std::setprecision(3) << s.mean;
    if (std::isfinite(s.ci95))
        out << " +-" << s.ci95;
    return out.str();
}

std::string meanN(const PairSummary &pair, const std::string &group, const std::string &metric)
{
    const auto g = pair.find(group);
    if (g == pair.end() || !g->second.count(metric) || g->second.at(metric).n == 0)
        return "-";
    const Summary &s = g->second.at(metric);
    std::ostringstream out;
    out << std::fixed << std::setprecision(3) << s.mean << " (" << s.n << ")";
    return out.str();
}

// The table people read first: for every pair of models and every method both explain (for
// one model: every pair of its methods), each metric's mean and 95% interval over all images,
// n, and the mean Spearman where both models are correct, neither is, or one is.
void printTable(const ComparisonRun &run, const std::vector<PairSummary> &pairs)
{
    const size_t n = run.cellCount();
    struct Row
    {
        std::string first, second;
        size_t pair;
    };
    std::vector<Row> rows;
    const size_t models = run.models.size(), methods = run.options.methods.size();
    const auto add = [&](size_t i, size_t j, std::string first, std::string second) {
        const size_t p = pairIndex(i, j, n);
        if (pairs[p].count("all"))
            rows.push_back({std::move(first), std::move(second), p});
    };
    for (size_t a = 0; a < models; ++a) // model pairs in order, each with every method
        for (size_t b = a + 1; b < models; ++b)
            for (size_t k = 0; k < methods; ++k)
                add(a * methods + k, b * methods + k,
                    run.models[a].name + " vs " + run.models[b].name, run.options.methods[k]);
    if (models == 1)
        for (size_t i = 0; i < n; ++i)
            for (size_t j = i + 1; j < n; ++j)
                add(i, j, run.models.front().name, run.methodOf(i) + " vs " + run.methodOf(j));
    if (rows.empty()) {
        std::cout << "no pair of cells has maps on any image to compare\n";
        return;
    }
    size_t firstWidth = 8, secondWidth = 9;
    for (const auto &r : rows) {
        firstWidth = std::max(firstWidth, r.first.size() + 2);
        secondWidth = std::max(secondWidth, r.second.size() + 2);
    }
    const bool crossModel = run.models.size() > 1;
    std::cout << std::left << std::setw(int(firstWidth)) << (crossModel ? "models" : "model")
              << std::setw(int(secondWidth)) << (crossModel ? "method" : "methods");
    for (const auto &metric : agreementMetrics())
        std::cout << std::setw(16) << metric;
    std::cout << std::setw(6) << "n" << std::setw(19) << "spearman|correct" << std::setw(19)
              << "spearman|incorrect"
              << "spearman|mixed\n";
    for (const auto &r : rows) {
        const auto &all = pairs[r.pair].at("all");
        std::cout << std::setw(int(firstWidth)) << r.first << std::setw(int(secondWidth))
                  << r.second;
        for (const auto &metric : agreementMetrics())
            std::cout << std::setw(16) << (all.count(metric) ? meanCi(all.at(metric)) : "-");
        std::cout << std::setw(6) << all.at("spearman").n << std::setw(19)
                  << meanN(pairs[r.pair], "correct", "spearman") << std::setw(19)
                  << meanN(pairs[r.pair], "incorrect", "spearman")
                  << meanN(pairs[r.pair], "mixed", "spearman") << "\n";
    }
    std::cout << "(+- the half-width of the 95% confidence interval of the mean; correct: both "
                 "models right, incorrect: both wrong, mixed: one right; (n) images)\n";
}

} // namespace

int mergeComparison(const std::vector<std::string> &shards, const std::string &runJson,
                    const std::string &out)
{
    const auto json = nlohmann::json::parse(runJson);
    const Args args(argumentsOf(json), kValueOptions, {"signed"});
    ComparisonRun run;
    run.models = loadModels(splitList(args.required("models")));
    run.options = comparisonOptions(args, run.modelPointers());
    run.dataset = args.required("dataset");
    run.requested = json.at("images").get<size_t>();
    std::map<std::string, size_t> cellOf;
    for (size_t c = 0; c < run.cellCount(); ++c)
        cellOf[run.cellName(c)] = c;
    const size_t pairCount = run.cellCount() * (run.cellCount() - 1) / 2;
    for (const auto &dir : shards) {
        std::ifstream in(fs::path(dir) / "summary.json");
        const auto summary = nlohmann::json::parse(in);
        if (summary.value("interrupted", false))
            throw UsageError(dir + " is unfinished (interrupted); run its command again");
        run.seconds += summary.value("seconds", 0.0);
        for (const auto &k : summary.value("skipped", std::vector<std::string>{}))
            run.skipped.push_back(k);
        // The shard's images from its cells, one row per cell in the grid's order.
        std::map<size_t, size_t> imageAt; // dataset index -> position in run.images
        for (const auto &r : csvRecords(fs::path(dir) / "cells.csv")) {
            const size_t index = std::stoull(r.at("index"));
            if (!imageAt.count(index)) {
                imageAt[index] = run.images.size();
                ImageComparison image;
                image.index = index;
                image.id = r.at("id");
                image.label = intOr(r.at("label"));
                image.pairs.resize(pairCount);
                run.images.push_back(std::move(image));
            }
            ImageComparison &image = run.images[imageAt[index]];
            const size_t c = image.cells.size();
            if (c >= run.cellCount() || cellOf.at(r.at("model") + "/" + r.at("method")) != c)
                throw std::runtime_error(dir + "/cells.csv: the cells of image " + r.at("id") +
                                         " are not the grid's");
            CellResult cell;
            cell.ok = r.at("ok") == "1";
            cell.error = r.at("error");
            cell.target = intOr(r.at("target"));
            cell.seconds = numberOr(r.at("seconds"));
            Prediction &p = cell.prediction;
            p.predicted = intOr(r.at("predicted"));
            p.probabilities.assign(size_t(run.models[run.modelOf(c)].model->numClasses()),
                                   std::numeric_limits<float>::quiet_NaN());
            if (p.predicted >= 0 && size_t(p.predicted) < p.probabilities.size())
                p.probabilities[size_t(p.predicted)] =
                    float(numberOr(r.at("probability_predicted")));
            if (cell.target >= 0 && size_t(cell.target) < p.probabilities.size())
                p.probabilities[size_t(cell.target)] = float(numberOr(r.at("probability_target")));
            image.cells.push_back(std::move(cell));
        }
        for (const auto &r : csvRecords(fs::path(dir) / "pairs.csv")) {
            ImageComparison &image = run.images.at(imageAt.at(std::stoull(r.at("index"))));
            Agreement &a = image.pairs[pairIndex(cellOf.at(r.at("cell_a")),
                                                 cellOf.at(r.at("cell_b")), run.cellCount())];
            a.spearman = numberOr(r.at("spearman"));
            a.pearson = numberOr(r.at("pearson"));
            a.cosine = numberOr(r.at("cosine"));
            a.ssim = numberOr(r.at("ssim"));
            a.topIou = numberOr(r.at("top_k_iou"));
        }
    }
    const std::vector<PairSummary> pairs = summarise(run);
    fs::create_directories(out);
    std::vector<std::string> written = writeComparisonTables(run, pairs, out);
    writeTextAtomically((fs::path(out) / "run.json").string(), runJson);
    drawOffscreen([&] {
        for (const auto &png : ui::writeComparisonFigures(run, pairs, out))
            written.push_back(png);
    });
    std::cout << "merged " << shards.size() << " shards, " << run.images.size() << " images, into "
              << out << ":";
    for (const auto &w : written)
        std::cout << " " << w;
    std::cout << "\n";
    return 0;
}

int runCompare(const std::vector<std::string> &argv)
{
    Args args(argv, kValueOptions, {"signed", "no-plots", "force", "help"});
    if (args.has("help")) {
        std::cout << kUsage;
        return 0;
    }
    const Shard shard = shardOf(args);
    const std::string outDir = shardFolder(args.required("out"), shard);
    const std::vector<std::string> modelArguments = splitList(args.required("models"));
    if (modelArguments.empty())
        throw UsageError("--models lists no model");
    args.required("methods");
    const std::string datasetPath = args.required("dataset");
    checkOutputFolder(outDir, args.has("force"));

    ComparisonRun run;
    run.models = loadModels(modelArguments);
    const std::vector<ModelPtr> models = run.modelPointers();
    run.options = comparisonOptions(args, models);
    run.dataset = datasetPath;
    const auto dataset = std::shared_ptr<const Dataset>(openDataset(datasetPath));
    const std::vector<size_t> selected = selectedIndices(args, dataset->size(), 100);
    const std::vector<size_t> indices = shardPart(selected, shard);
    run.requested = indices.size();
    writeTextAtomically(
        (fs::path(outDir) / "run.json").string(),
        comparisonRunJson(run,
                          args.has("indices") ? "indices:" + args.value("indices")
                                              : "limit:" + std::to_string(selected.size()),
                          indices.size(), shard.index, shard.count, selected.size()));
    const auto count = [](size_t n, const char *what) {
        return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
    };
    std::cerr << "comparing " << count(run.models.size(), "model") << " x "
              << count(run.options.methods.size(), "method") << " on "
              << count(indices.size(), "image") << "\n";

    {
        TerminalProgress progress("compare");
        runComparison(run, dataset, indices, progress.context(interruptToken()));
        progress.finish();
    }
    for (const auto &s : run.skipped)
        std::cerr << "skipped " << s << "\n";
    std::ostringstream took;
    took << std::fixed << std::setprecision(1) << run.seconds;
    std::cerr << "compared " << run.images.size() << " images in " << took.str() << " s\n";

    const std::vector<PairSummary> pairs = summarise(run);
    std::vector<std::string> written = writeComparisonTables(run, pairs, outDir);
    if (!args.has("no-plots"))
        drawOffscreen([&] {
            for (const auto &png : ui::writeComparisonFigures(run, pairs, outDir))
                written.push_back(png);
        });

    printTable(run, pairs);
    std::cout << "wrote";
    for (const auto &w : written)
        std::cout << " " << w;
    std::cout << "\n";
    if (run.interrupted) {
        std::cerr << "interrupted after " << run.images.size() << " of " << indices.size()
                  << " images; results so far in " << outDir << "\n";
        return 130;
    }
    return 0;
}

} // namespace heatlens::cli
