#include "ArgLists.h"
#include "Args.h"
#include "Commands.h"
#include "TerminalProgress.h"

#include "core/data/Dataset.h"
#include "core/explain/MethodRegistry.h"
#include "core/report/ExplanationExport.h"

#include <chrono>
#include <iostream>

namespace heatlens::cli {

namespace {

const char *kUsage =
    R"(usage: heatlens-cli explain --model M (--image F | --dataset D --index K) --method ID
                           [--target C] [--param k=v ...] [--references D] --out DIR
                           [--colormap NAME] [--alpha A] [--clip P] [--force]

Explains one image and writes DIR/<image>-<method>.png (overlay), .npy (raw map at the model's
input resolution, float32) and .json (prediction, method, parameters, timings).
  --target C     class index or label to explain (default: the predicted class)
  --param k=v    a method parameter (see heatlens-cli --list-methods); repeatable
  --references D dataset the baselines of gradient-shap are drawn from (default: --dataset)
  --colormap     viridis|inferno|magma|turbo|jet|gray|coolwarm|bwr (signed maps: coolwarm)
  --force        replace existing output files
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
    if (args.has("image"))
        return openImageFiles({args.value("image")})->load(0);
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

} // namespace

int runExplain(const std::vector<std::string> &argv)
{
    Args args(argv,
              {"model", "image", "dataset", "index", "method", "target", "param", "out", "colormap",
               "alpha", "clip", "references"},
              {"force", "help"});
    if (args.has("help")) {
        std::cout << kUsage;
        return 0;
    }
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
