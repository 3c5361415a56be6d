#include "ArgLists.h"
#include "Args.h"
#include "Commands.h"
#include "Offscreen.h"
#include "TerminalProgress.h"

#include "core/data/Dataset.h"
#include "core/explain/MethodRegistry.h"
#include "core/groups/CoalitionGame.h"
#include "core/metrics/MethodCurves.h"
#include "core/model/InputImage.h"
#include "core/model/Preprocess.h"
#include "core/report/ExplanationExport.h"
#include "core/uncertainty/StochasticSource.h"
#include "ui/figure/Figures.h"

#include <filesystem>
#include <iostream>

namespace heatlens::cli {

namespace {

const char *kUsage =
    R"(usage: heatlens-cli figure --kind explain|grid|curves|sanity|uncertainty|groups
                          --model M (--image F | --dataset D --index K) --out DIR
                          [--method ID] [--param k=v ...] [--target C]
                          [--format png,svg,pdf] [--width-mm W | --width-px N] [--dpi D]
                          [--font FAMILY] [--font-size PT] [--colormap NAME] [--alpha A]
                          [--clip P] [--stem NAME] [--force]

Writes the figure the viewer's File > Export figure... writes for the same view and request, as
DIR/<image>-<kind>.<format> (PNG at --dpi, SVG with vector text and plots, PDF with fonts
embedded), sized for a journal column: --width-mm 89 (single, the default) or 183 (double), or
--width-px N.
  explain      the image, the map and the overlay, a colour bar, a caption
  grid         --models M2,M3 (rows after --model) x --methods a,b; --scale cell|method|shared
               (default cell); --signed shows and compares signed maps (default |maps|, as the
               Compare tab); --agreement METRIC adds the agreement matrix (spearman,
               pearson, cosine, top_k_iou, ssim; "none" leaves it out; default spearman)
  curves       deletion and insertion curves of --method and --compare a,b (random: the
               control); --steps N, --order morf|lerf, --baseline B, --modes deletion,insertion
  sanity       the cascading (--mode independent) randomisation strip of --method
  uncertainty  --source ID (default mc-dropout) --samples T (default 32): mean, std and CV maps,
               banded deletion curves
  groups       --groups METHOD[:N] (default slico:16) --estimator E (default archdetect)
               [--index I (a name: k-sii, sii, ...)] [--budget B] [--masker black|mean|blur|inpaint|group-mean]
               [--pairs K, the pairs drawn, default 10]
The method defaults to saliency; the class to the model's prediction (--target C: an index or a
label). Colour maps default to colour-blind-safe ones: viridis, and coolwarm for signed maps.
)";

QString qs(const std::string &s)
{
    return QString::fromStdString(s);
}

ui::FigureStyle styleFrom(const Args &args)
{
    ui::FigureStyle style;
    if (args.has("width-mm") && args.has("width-px"))
        throw UsageError("give --width-mm or --width-px, not both");
    style.widthMm = args.doubleValue("width-mm", 89.0);
    style.widthPx = args.intValue("width-px", 0);
    style.dpi = args.intValue("dpi", 300);
    style.fontFamily = qs(args.value("font", style.fontFamily.toStdString()));
    style.fontPt = args.intValue("font-size", 7);
    try {
        ui::validateStyle(style);
    } catch (const std::invalid_argument &e) {
        throw UsageError(e.what());
    }
    return style;
}

std::vector<ui::FigureFormat> formatsFrom(const Args &args)
{
    std::vector<ui::FigureFormat> formats;
    for (const auto &name : splitList(args.value("format", "png,svg,pdf"))) {
        try {
            formats.push_back(ui::figureFormatFromName(name));
        } catch (const std::invalid_argument &e) {
            throw UsageError(std::string("--format: ") + e.what());
        }
    }
    if (formats.empty())
        throw UsageError("--format needs at least one of png, svg, pdf");
    return formats;
}

ui::MapColours coloursFrom(const Args &args)
{
    ui::MapColours c;
    c.map = colorMapFromName(args.value("colormap", "viridis"));
    c.alpha = args.doubleValue("alpha", 0.5);
    c.clipPercentile = args.doubleValue("clip", 99.0);
    if (c.alpha < 0 || c.alpha > 1)
        throw UsageError("--alpha must be in [0, 1], got " + args.value("alpha"));
    if (c.clipPercentile <= 0 || c.clipPercentile > 100)
        throw UsageError("--clip must be in (0, 100], got " + args.value("clip"));
    return c;
}

Sample loadSample(const Args &args, std::shared_ptr<const Dataset> &dataset)
{
    if (args.has("image") == args.has("dataset"))
        throw UsageError("give either --image F or --dataset D --index K");
    if (args.has("image")) {
        const std::string path = args.value("image");
        std::error_code ec;
        if (!std::filesystem::is_regular_file(path, ec))
            throw UsageError("--image " + path + ": no such file");
        Sample sample = openImageFiles({path})->load(0);
        // Named by its file, as the viewer names the images of a folder.
        sample.id = std::filesystem::path(path).filename().string();
        return sample;
    }
    dataset = openDataset(args.value("dataset"));
    const int index = imageIndex(args);
    if (index < 0 || size_t(index) >= dataset->size())
        throw UsageError("--index must be in [0, " + std::to_string(dataset->size() - 1) +
                         "] for " + args.value("dataset") + ", got " + args.value("index", "none"));
    return dataset->load(size_t(index));
}

// What every kind starts from: the model, the image, and the explanation the Explain tab
// shows (its method, parameters and class).
struct Request
{
    ModelPtr model;
    Sample sample;
    std::shared_ptr<const Dataset> dataset;
    std::string methodId;
    Params params;
    ExplainOutcome outcome;
    ui::MapColours colours;
};

Request explainRequest(const Args &args, const JobContext &ctx)
{
    Request r;
    r.model = Model::load(args.required("model"));
    for (const auto &w : r.model->warnings())
        std::cerr << "warning: " << w << "\n";
    r.sample = loadSample(args, r.dataset);
    for (const auto &w : r.sample.warnings)
        std::cerr << "warning: " << w << "\n";
    const Method &method = MethodRegistry::instance().get(args.value("method", "saliency"));
    std::map<std::string, std::string> given;
    for (const auto &item : args.all("param")) {
        const auto eq = item.find('=');
        if (eq == std::string::npos || eq == 0)
            throw UsageError("--param expects name=value, got \"" + item + "\"");
        given[item.substr(0, eq)] = item.substr(eq + 1);
    }
    r.methodId = method.id();
    r.params = resolveParams(method.params(), given, method.id());
    ExplainJob job;
    job.model = r.model;
    job.image = r.sample.image;
    job.methodId = r.methodId;
    job.params = r.params;
    job.target = args.has("target") ? parseTarget(args.value("target"), *r.model) : -1;
    job.references = r.dataset;
    r.outcome = runExplain(job, ctx);
    r.colours = coloursFrom(args);
    return r;
}

torch::Tensor referencesFor(const Request &r, const std::string &methodId, const JobContext &ctx)
{
    if (MethodRegistry::instance().get(methodId).usesReferences() && r.dataset)
        return drawReferences(*r.model, *r.dataset, 64, ctx);
    return {};
}

ui::Figure gridFigureOf(const Args &args, const Request &r, const JobContext &ctx)
{
    std::vector<ModelPtr> models = {r.model};
    for (const auto &path : splitList(args.value("models", "")))
        models.push_back(Model::load(path));
    std::vector<std::string> methods = splitList(args.value("methods", r.methodId));
    for (const auto &m : methods)
        MethodRegistry::instance().get(m);
    const cv::Size frame = comparisonFrame(r.sample.image.size());
    const int target = r.outcome.explanation.target; // every model explains the Explain tab's
    std::vector<CellResult> cells;
    const JobContext cellsCtx = ctx.sub(0.0, 0.9);
    for (size_t i = 0; i < models.size(); ++i)
        for (size_t j = 0; j < methods.size(); ++j) {
            const JobContext one =
                cellsCtx.sub(double(i * methods.size() + j) / (models.size() * methods.size()),
                             double(i * methods.size() + j + 1) / (models.size() * methods.size()));
            cells.push_back(explainCell(models[i], r.sample.image, methods[j], Params(), target,
                                        frame, r.dataset, one));
        }
    std::vector<const CellResult *> pointers;
    for (const auto &c : cells)
        pointers.push_back(&c);
    ui::GridFigureInput in = ui::gridFigureInput(r.sample.image, models, methods, pointers);
    const std::string scale = args.value("scale", "cell");
    if (scale == "method")
        in.scale = ui::GridFigureInput::Scale::Method;
    else if (scale == "shared")
        in.scale = ui::GridFigureInput::Scale::Shared;
    else if (scale != "cell")
        throw UsageError("--scale must be cell, method or shared, got " + scale);
    in.absolute = !args.has("signed");
    in.colours = r.colours;
    in.imageId = qs(r.sample.id);
    const std::string metric = args.value("agreement", "spearman");
    const auto &metrics = agreementMetrics();
    if (metric != "none" && std::find(metrics.begin(), metrics.end(), metric) == metrics.end())
        throw UsageError("--agreement: unknown metric \"" + metric +
                         "\" (spearman, pearson, cosine, ssim, top_k_iou or none)");
    if (metric != "none" && cells.size() > 1) {
        AgreementOptions options;
        options.absolute = in.absolute;
        const GridAgreement agreement =
            gridAgreement(in.cells, int(methods.size()), options, ctx.sub(0.9, 1.0));
        in.agreement =
            ui::gridAgreementMatrix(agreement, in.models, in.methods, metric,
                                    qs(agreementMetricLabel(metric, options.topFraction)));
    }
    return ui::gridFigure(in);
}

ui::Figure curvesFigureOf(const Args &args, const Request &r, const JobContext &ctx)
{
    const std::string order = args.value("order", "morf");
    const std::string baseline = args.value("baseline", CurveOptions().baseline);
    const std::vector<std::string> modes = splitList(args.value("modes", "deletion,insertion"));
    struct Entry
    {
        std::string id;
        Params params;
    };
    std::vector<Entry> entries = {{r.methodId, r.outcome.explanation.params}};
    for (const auto &id : splitList(args.value("compare", ""))) {
        const Method &m = MethodRegistry::instance().get(id);
        entries.push_back({id, completeParams(m.params(), Params(), id)});
    }
    std::vector<CurveTask> tasks;
    std::vector<ui::NamedCurve> named;
    for (const Entry &e : entries)
        for (const auto &mode : modes) {
            CurveTask task;
            task.methodKey = e.id + "|" + e.params.canonical();
            task.mapKey = task.methodKey;
            task.curveKey = task.methodKey + "|" + mode;
            task.methodId = e.id;
            task.params = e.params;
            if (e.id == r.methodId)
                task.map = r.outcome.explanation.map;
            task.options.mode = mode;
            task.options.order = order;
            task.options.baseline = baseline;
            task.options.steps = args.intValue("steps", CurveOptions().steps);
            task.options.seed = 0;
            task.name = MethodRegistry::instance().get(e.id).name();
            task.label = task.name + " " + mode;
            tasks.push_back(task);
            named.push_back({task.methodKey,
                             ui::methodDisplayName(e.id, e.params),
                             mode,
                             MethodRegistry::instance().isControl(e.id),
                             {},
                             true});
        }
    const auto updates =
        methodCurves(r.model, r.sample.image, r.dataset, r.outcome.explanation.target, tasks, ctx);
    for (size_t i = 0; i < tasks.size(); ++i)
        for (const auto &u : updates)
            if (u.complete && u.curveKey == tasks[i].curveKey)
                named[i].curve = u.curve;
    ui::CurvesFigureInput in;
    in.series = ui::curveSeries(named, 1.0);
    const std::string shown = modes.size() == 1 ? modes.front() : std::string("both");
    in.title =
        ui::curvesTitle(qs(r.model->displayName()), qs(r.sample.id),
                        qs(r.model->label(r.outcome.explanation.target)), order, shown, baseline);
    in.caption = ui::curvesCaption(args.intValue("steps", CurveOptions().steps));
    return ui::curvesFigure(in);
}

ui::Figure sanityFigureOf(const Args &args, const Request &r, const JobContext &ctx)
{
    SanityOptions options;
    options.mode = args.value("mode", "cascading");
    const torch::Tensor input = r.model->preprocess(r.sample.image);
    ui::SanityFigureInput in;
    in.result = sanityCheck(r.model, input, r.outcome.explanation.target, r.methodId, r.params,
                            options, ctx, referencesFor(r, r.methodId, ctx));
    in.image = inputToRgb8(input, r.model->card());
    in.model = qs(r.model->displayName());
    in.method = ui::methodDisplayName(r.methodId, r.params);
    in.colours = r.colours;
    return ui::sanityFigure(in);
}

ui::Figure uncertaintyFigureOf(const Args &args, const Request &r, const JobContext &ctx)
{
    UncertaintyRequest u;
    u.model = r.model;
    u.input = r.model->preprocess(r.sample.image);
    u.target = r.outcome.explanation.target;
    u.methodId = r.methodId;
    u.params = r.params;
    u.references = referencesFor(r, r.methodId, ctx);
    const auto &source = SourceRegistry::instance().get(args.value("source", "mc-dropout"));
    u.sourceId = source.id();
    u.sourceParams = completeParams(source.params(), {}, source.id());
    u.options.maxSamples = args.intValue("samples", 32);
    u.options.keepMaps = std::max(64, u.options.maxSamples);
    u.options.validate();
    ui::UncertaintyFigureInput in;
    in.result = explainUncertainty(u, ctx.sub(0.0, 0.6));
    in.curves = uncertaintyCurves(u, in.result, UncertaintyCurveOptions(), ctx.sub(0.6, 1.0));
    in.image = inputToRgb8(u.input, r.model->card());
    in.model = qs(r.model->displayName());
    in.method = ui::methodDisplayName(r.methodId, r.params);
    in.source = qs(source.name());
    in.colours = r.colours;
    return ui::uncertaintyFigure(in);
}

ui::Figure groupsFigureOf(const Args &args, const Request &r, const JobContext &ctx)
{
    const torch::Tensor input = r.model->preprocess(r.sample.image);
    GroupingOptions grouping;
    EstimateOptions estimate;
    MaskerOptions masker;
    try {
        grouping = parseGrouping(args.value("groups", "slico:16"));
        estimate.estimator = args.value("estimator", "archdetect");
        estimate.index = defaultInteractionIndex(estimate.estimator, indexName(args));
        estimate.budget = args.intValue("budget", 0);
        estimate.streamSteps = true;
        estimate.validate();
    } catch (const std::invalid_argument &e) {
        throw UsageError(e.what());
    }
    masker.fill = args.value("masker", "black");
    ui::GroupsFigureInput in;
    in.image = inputToRgb8(input, r.model->card());
    in.grouping = makeGrouping(in.image, grouping, &r.model->card());
    CoalitionGame game(r.model, input, in.grouping, masker, 256);
    in.interactions = estimateInteractions(game, r.outcome.explanation.target, estimate, ctx);
    in.topPairs = args.intValue("pairs", 10);
    in.model = qs(r.model->displayName());
    in.target = qs(r.model->label(r.outcome.explanation.target));
    return ui::groupsFigure(in);
}

} // namespace

int runFigure(const std::vector<std::string> &argv)
{
    Args args(argv,
              {"kind",   "model",     "image",    "dataset", "index",     "method",   "methods",
               "models", "param",     "target",   "format",  "width-mm",  "width-px", "dpi",
               "font",   "font-size", "colormap", "alpha",   "clip",      "out",      "stem",
               "scale",  "agreement", "compare",  "steps",   "order",     "baseline", "modes",
               "mode",   "source",    "samples",  "groups",  "estimator", "budget",   "masker",
               "pairs",  "references"},
              {"force", "help", "signed"});
    if (args.has("help")) {
        std::cout << kUsage;
        return 0;
    }
    const std::string kind = args.required("kind");
    const auto &kinds = ui::figureKinds();
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end())
        throw UsageError("--kind must be one of explain, grid, curves, sanity, uncertainty, "
                         "groups; got \"" +
                         kind + "\"");
    const ui::FigureStyle style = styleFrom(args);
    const auto formats = formatsFrom(args);
    const std::string out = args.required("out");
    TerminalProgress progress("figure " + kind);
    const JobContext ctx = progress.context(interruptToken());
    std::vector<std::string> paths;
    // Some figures measure their text while they are built: the whole of it runs with a
    // (offscreen) QApplication.
    drawOffscreen([&] {
        const Request r = explainRequest(args, ctx.sub(0.0, 0.1));
        const JobContext rest = ctx.sub(0.1, 1.0);
        ui::Figure figure;
        if (kind == "explain")
            figure = ui::explainFigure(
                ui::explainFigureInput(*r.model, r.sample.image, r.outcome, r.colours));
        else if (kind == "grid")
            figure = gridFigureOf(args, r, rest);
        else if (kind == "curves")
            figure = curvesFigureOf(args, r, rest);
        else if (kind == "sanity")
            figure = sanityFigureOf(args, r, rest);
        else if (kind == "uncertainty")
            figure = uncertaintyFigureOf(args, r, rest);
        else
            figure = groupsFigureOf(args, r, rest);
        progress.finish();
        const std::string stem = args.value("stem", safeStem(r.sample.id) + "-" + kind);
        paths = ui::saveFigure(figure, style, formats, out, stem, args.has("force"));
    });
    for (const auto &p : paths)
        std::cout << "wrote " << p << "\n";
    return 0;
}

} // namespace heatlens::cli
