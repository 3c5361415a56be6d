#include "ArgLists.h"
#include "Args.h"
#include "Commands.h"
#include "TerminalProgress.h"

#include "core/data/Dataset.h"
#include "core/explain/MethodRegistry.h"
#include "core/io/AtomicFile.h"
#include "core/io/Csv.h"
#include "core/io/Npy.h"
#include "core/io/Png.h"
#include "core/report/ExplanationExport.h"
#include "core/report/RunFolder.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>

namespace heatlens::cli {

namespace fs = std::filesystem;

namespace {

const char *kUsage =
    R"(usage: heatlens-cli explain --model M (--image F | --dataset D --index K) --method ID
                           [--target C] [--param k=v ...] [--references D] --out DIR
                           [--colormap NAME] [--alpha A] [--clip P] [--force]
       heatlens-cli explain --model M --dataset D [--limit N | --indices L] --methods a,b
                           [--target C] [--param METHOD.k=v ...] [--overlays] [--shard I/N]
                           --out DIR [--force]

One image: writes DIR/<image>-<method>.png (overlay), .npy (raw map at the model's input
resolution, float32) and .json (prediction, method, parameters, timings).
Many images (--dataset without --index): writes DIR/<method>.npy, one [N, H, W] float32 stack per
method at the model's input resolution (written map by map, never more than one in memory),
DIR/index.csv (position in the stacks, dataset index, image id, label, prediction, probability,
target, seconds per method) and DIR/run.json; with --overlays also DIR/overlays/<image>-<method>.png.
The run resumes: the same command again goes on after the images in index.csv (Ctrl-C keeps them).
  --shard I/N    do shard I of N (from 0): a contiguous Nth of the images, into DIR/shard-I-of-N;
                 without it, a Slurm array task or a Kubernetes indexed job (JOB_COMPLETION_INDEX,
                 with --shards N) picks its shard; heatlens-cli merge combines the folders
  --target C     class index or label to explain (default: the predicted class)
  --param k=v    a method parameter (see heatlens-cli --list-methods); repeatable; many images:
                 METHOD.k=v
  --limit N      the first N images (default: all); --indices 0,5,10-19 picks them
  --references D dataset the baselines of gradient-shap are drawn from (default: --dataset)
  --colormap     viridis|inferno|magma|turbo|jet|gray|coolwarm|bwr (signed maps: coolwarm)
  --force        replace existing output files (many images: start the run over)
)";

double secondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::map<std::string, std::string> parseParams(const std::vector<std::string> &items)
{
    std::map<std::string, std::string> params;
    for (const auto &item : items) {
        auto eq = item.find('=');
        if (eq == std::string::npos || eq == 0)
            throw UsageError("--param expects name=value, got \"" + item + "\"");
        params[item.substr(0, eq)] = item.substr(eq + 1);
    }
    return params;
}

Sample loadSample(const Args &args)
{
    if (args.has("image") == args.has("dataset"))
        throw UsageError("give either --image F or --dataset D --index K");
    if (args.has("image")) {
        std::error_code ec;
        if (!fs::is_regular_file(args.value("image"), ec))
            throw UsageError("--image " + args.value("image") + ": no such file");
        return openImageFiles({args.value("image")})->load(0);
    }
    auto dataset = openDataset(args.value("dataset"));
    const int index = args.intValue("index", -1);
    if (index < 0 || size_t(index) >= dataset->size())
        throw UsageError("--index must be in [0, " + std::to_string(dataset->size() - 1) +
                         "] for " + args.value("dataset") + ", got " + args.value("index", "none"));
    return dataset->load(size_t(index));
}

ExportOptions exportOptions(const Args &args)
{
    ExportOptions options;
    options.colorMap = colorMapFromName(args.value("colormap", "viridis"));
    options.alpha = args.doubleValue("alpha", 0.5);
    options.clipPercentile = args.doubleValue("clip", 99.0);
    options.overwrite = args.has("force");
    if (options.alpha < 0 || options.alpha > 1)
        throw UsageError("--alpha must be in [0, 1], got " + args.value("alpha"));
    if (options.clipPercentile <= 0 || options.clipPercentile > 100)
        throw UsageError("--clip must be in (0, 100], got " + args.value("clip"));
    return options;
}

// The columns of index.csv.
std::vector<std::string> indexHeader(const std::vector<std::string> &methods)
{
    std::vector<std::string> header = {"position",  "index",       "id",    "label",
                                       "predicted", "probability", "target"};
    for (const auto &m : methods)
        header.push_back(m + "_seconds");
    return header;
}

// The positions index.csv already holds (whole lines only: a line an interruption cut is
// dropped, and the file rewritten without it).
std::set<size_t> donePositions(const std::string &path, const std::vector<std::string> &header)
{
    std::set<size_t> done;
    const auto lines = readLines(path);
    if (lines.empty())
        return done;
    if (lines.front().first != csvLine(header))
        throw std::runtime_error(path + ": its columns are not those of this run; choose "
                                        "another folder or --force");
    std::string kept = lines.front().first + "\n";
    bool cut = false;
    for (size_t i = 1; i < lines.size(); ++i) {
        const auto fields = parseCsvLine(lines[i].first);
        if (!lines[i].second || !fields || fields->size() != header.size()) {
            cut = true;
            continue;
        }
        done.insert(size_t(std::stoull(fields->front())));
        kept += lines[i].first + "\n";
    }
    if (cut)
        writeTextAtomically(path, kept);
    return done;
}

int explainDataset(const Args &args)
{
    const Shard shard = shardOf(args);
    const std::string out = shardFolder(args.required("out"), shard);
    const auto options = exportOptions(args);
    std::vector<std::string> methods = splitList(args.value("methods", args.value("method", "")));
    if (methods.empty())
        throw UsageError("give the methods: --methods saliency,grad-cam");
    for (const auto &m : methods)
        MethodRegistry::instance().get(m); // names an unknown method
    auto params = parseMethodParams(args.all("param"));
    auto model = Model::load(args.required("model"));
    for (const auto &w : model->warnings())
        std::cerr << "warning: " << w << "\n";
    const std::shared_ptr<const Dataset> dataset = openDataset(args.required("dataset"));
    const auto selected = selectedIndices(args, dataset->size(), int(dataset->size()));
    const auto indices = shardPart(selected, shard);
    const int target = args.has("target") ? parseTarget(args.value("target"), *model) : -1;
    nlohmann::json methodParams = nlohmann::json::object();
    std::map<std::string, Params> resolved;
    for (const auto &m : methods) {
        const Method &method = MethodRegistry::instance().get(m);
        resolved[m] = params.count(m) ? params[m] : resolveParams(method.params(), {}, m);
        methodParams[m] = resolved[m].canonical();
    }
    const nlohmann::json run = {
        {"format", "heatlens-explain-1"},
        {"model",
         {{"path", model->path()},
          {"name", model->displayName()},
          {"identity", model->cacheKey()}}},
        {"dataset", args.required("dataset")},
        {"selection", args.has("indices") ? "indices:" + args.value("indices")
                                          : "limit:" + std::to_string(selected.size())},
        {"images", indices.size()},
        {"shard", {{"index", shard.index}, {"count", shard.count}, {"of_images", selected.size()}}},
        {"methods", methods},
        {"method_params", methodParams},
        {"target", args.value("target", "predicted")},
        {"overlays", args.has("overlays")}};
    // The methods of a run already in the folder: with --force, its stacks go with it.
    std::vector<std::string> earlier;
    try {
        std::ifstream in(fs::path(out) / "run.json");
        const auto previous = nlohmann::json::parse(in);
        if (previous.value("format", "") == "heatlens-explain-1")
            earlier = previous.at("methods").get<std::vector<std::string>>();
    } catch (const std::exception &) {
        // no earlier run, or not one of explain's: nothing of it is removed
    }
    bool resumed = false;
    try {
        resumed = openRunFolder(out, run.dump(2) + "\n", args.has("force"));
    } catch (const std::runtime_error &e) {
        throw UsageError(e.what());
    }
    const std::string indexPath = (fs::path(out) / "index.csv").string();
    const auto header = indexHeader(methods);
    if (!resumed) { // a new run, or --force: the files of an earlier one go
        fs::remove(indexPath);
        earlier.insert(earlier.end(), methods.begin(), methods.end());
        for (const auto &m : earlier) {
            fs::remove(fs::path(out) / (m + ".npy"));
            std::error_code ec;
            for (const auto &entry : fs::directory_iterator(fs::path(out) / "overlays", ec)) {
                const std::string name = entry.path().filename().string();
                const std::string suffix = "-" + m + ".png";
                if (name.size() > suffix.size() &&
                    name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
                    fs::remove(entry.path());
            }
        }
    }
    if (shard.count > 1)
        std::cerr << "shard " << shard.index << " of " << shard.count << " (" << shard.from
                  << "): " << indices.size() << " of the " << selected.size() << " images, into "
                  << out << "\n";
    if (indices.empty()) { // more shards than images: this one has nothing to do
        writeTextAtomically(indexPath, csvLine(header) + "\n");
        std::cout << "explained 0 images; wrote " << indexPath << "\n";
        return 0;
    }
    const auto done = donePositions(indexPath, header);
    if (done.empty())
        writeTextAtomically(indexPath, csvLine(header) + "\n");
    if (args.has("overlays"))
        fs::create_directories(fs::path(out) / "overlays");
    const int height = model->card().inputHeight, width = model->card().inputWidth;
    std::map<std::string, std::unique_ptr<NpyStackFile>> stacks;
    for (const auto &m : methods)
        stacks[m] = std::make_unique<NpyStackFile>((fs::path(out) / (m + ".npy")).string(),
                                                   indices.size(), height, width);
    std::vector<size_t> pending;
    for (size_t position = 0; position < indices.size(); ++position)
        if (!done.count(position))
            pending.push_back(position);
    std::cerr << "explain with " << model->displayName() << ": " << indices.size() << " images x "
              << methods.size() << " methods";
    if (!done.empty())
        std::cerr << " (" << done.size() << " already in " << indexPath << ")";
    std::cerr << "\n";
    std::vector<std::string> skipped;
    const auto start = std::chrono::steady_clock::now();
    TerminalProgress progress("explain");
    const JobContext ctx = progress.context(interruptToken());
    for (size_t i = 0; i < pending.size(); ++i) {
        const size_t position = pending[i], index = indices[position];
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
        std::vector<std::string> row = {std::to_string(position), std::to_string(index), sample.id,
                                        std::to_string(sample.label)};
        std::vector<std::string> seconds;
        try {
            for (size_t k = 0; k < methods.size(); ++k) {
                ExplainJob job;
                job.model = model;
                job.methodId = methods[k];
                job.params = resolved[methods[k]];
                job.target = target;
                job.image = sample.image;
                if (MethodRegistry::instance().get(methods[k]).usesReferences())
                    job.references = dataset;
                const auto outcome = runExplain(
                    job, ictx.sub(double(k) / methods.size(), double(k + 1) / methods.size()));
                stacks[methods[k]]->write(position, outcome.explanation.map);
                if (args.has("overlays"))
                    writePng((fs::path(out) / "overlays" /
                              (safeStem(sample.id) + "-" + methods[k] + ".png"))
                                 .string(),
                             renderOverlay(sample.image, outcome.nativeMap,
                                           outcome.explanation.signedMap, options));
                if (k == 0) {
                    const auto &p = outcome.prediction;
                    row.push_back(std::to_string(p.predicted));
                    row.push_back(csvNumber(p.probabilities[size_t(p.predicted)]));
                    row.push_back(std::to_string(outcome.explanation.target));
                }
                seconds.push_back(csvNumber(outcome.explanation.seconds));
            }
        } catch (const Cancelled &) {
            progress.finish();
            std::cerr << "interrupted: " << done.size() + i << " of " << indices.size()
                      << " images are in " << indexPath
                      << "; run the same command again to go on\n";
            return 130;
        } catch (const std::exception &e) {
            skipped.push_back(std::to_string(index) + ": " + e.what());
            continue;
        }
        row.insert(row.end(), seconds.begin(), seconds.end());
        appendText(indexPath, csvLine(row) + "\n");
    }
    progress.finish();
    const double total =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (const auto &skip : skipped)
        std::cerr << "skipped " << skip << "\n";
    std::cout << "explained " << pending.size() - skipped.size() << " images in "
              << csvNumber(total) << " s; wrote " << indexPath;
    for (const auto &m : methods)
        std::cout << " " << stacks[m]->path();
    std::cout << "\n";
    return skipped.empty() ? 0 : 1;
}

} // namespace

int runExplain(const std::vector<std::string> &argv)
{
    Args args(argv,
              {"model", "image", "dataset", "index", "method", "methods", "target", "param", "out",
               "colormap", "alpha", "clip", "references", "limit", "indices", "shard", "shards"},
              {"force", "help", "overlays"});
    if (args.has("help")) {
        std::cout << kUsage;
        return 0;
    }
    if (args.has("dataset") && !args.has("index"))
        return explainDataset(args);
    if (args.has("methods") || args.has("limit") || args.has("indices") || args.has("overlays") ||
        args.has("shard") || args.has("shards"))
        throw UsageError("--methods, --limit, --indices, --overlays and --shard explain many "
                         "images: give --dataset without --index");
    const std::string outDir = args.required("out");
    const auto options = exportOptions(args);
    const Method &method = MethodRegistry::instance().get(args.required("method"));
    std::map<std::string, double> timings;
    auto t0 = std::chrono::steady_clock::now();
    auto model = Model::load(args.required("model"));
    timings["load_model"] = secondsSince(t0);
    for (const auto &w : model->warnings())
        std::cerr << "warning: " << w << "\n";
    ExplainJob job;
    job.model = model;
    job.methodId = method.id();
    job.params = resolveParams(method.params(), parseParams(args.all("param")), method.id());
    job.target = args.has("target") ? parseTarget(args.value("target"), *model) : -1;
    t0 = std::chrono::steady_clock::now();
    Sample sample = loadSample(args);
    timings["load_image"] = secondsSince(t0);
    for (const auto &w : sample.warnings)
        std::cerr << "warning: " << w << "\n";
    job.image = sample.image;
    if (method.usesReferences() && (args.has("references") || args.has("dataset")))
        job.references =
            openDataset(args.has("references") ? args.value("references") : args.value("dataset"));
    t0 = std::chrono::steady_clock::now();
    TerminalProgress progress(method.name());
    auto outcome = runExplain(job, progress.context(interruptToken()));
    progress.finish();
    timings["explain"] = secondsSince(t0);
    timings["method"] = outcome.explanation.seconds;
    auto &warnings = outcome.explanation.warnings; // the JSON keeps the image's problems too
    warnings.insert(warnings.begin(), sample.warnings.begin(), sample.warnings.end());
    const std::string stem = safeStem(sample.id) + "-" + method.id();
    auto files =
        exportExplanation(*model, sample.image, sample.id, outcome, timings, outDir, stem, options);
    const auto &p = outcome.prediction;
    std::cout << "predicted " << model->label(p.predicted) << " ("
              << p.probabilities[size_t(p.predicted)] << "); explained "
              << model->label(outcome.explanation.target) << " with " << method.id() << " in "
              << outcome.explanation.seconds << " s\n";
    for (const auto &[k, v] : outcome.explanation.stats)
        std::cout << "  " << k << " = " << v << "\n";
    for (size_t i = sample.warnings.size(); i < warnings.size(); ++i)
        std::cerr << "warning: " << warnings[i] << "\n";
    std::cout << "wrote " << files.overlayPng << "\n      " << files.mapNpy << "\n      "
              << files.summaryJson << "\n";
    return 0;
}

} // namespace heatlens::cli
