#include "ArgLists.h"
#include "Args.h"
#include "Commands.h"
#include "TerminalProgress.h"

#include "core/data/Dataset.h"
#include "core/explain/MethodRegistry.h"
#include "core/groups/ContextualDecomposition.h"
#include "core/groups/Estimators.h"
#include "core/groups/GroupFigures.h"
#include "core/groups/Hierarchy.h"
#include "core/io/AtomicFile.h"
#include "core/io/Csv.h"
#include "core/io/Npy.h"
#include "core/io/Png.h"
#include "core/jobs/CancelToken.h"
#include "core/metrics/Similarity.h"
#include "core/model/InputImage.h"
#include "core/report/DatasetRun.h"
#include "core/report/ExplanationExport.h"
#include "core/report/RunFolder.h"

#include <nlohmann/json.hpp>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

namespace heatlens::cli {

namespace {

namespace fs = std::filesystem;

const char *kUsage =
    R"(usage: heatlens-cli interactions --model M (--image F | --dataset D [--index K | --limit N
                                | --indices LIST]) --groups G --out DIR
                                [--method exact|permutation|regression|archdetect|cd,...]
                                [--index sv|banzhaf|sii|bii|stii|k-sii] [--budget B,...]
                                [--adjacent] [--repeats R] [--seed S] [--stop-overlap F]
                                [--baseline black|mean|blur|inpaint|group-mean]
                                [--target C|predicted|label] [--batch N] [--versus M2]
                                [--force]

Which groups of pixels matter, and which matter together: group attributions and pairwise
interactions of the target logit when groups are masked (v(S) = the logit with only the groups in
S present).
  --groups       grid:4 (4 x 4 cells), slic:49, slico:49, seeds:49, lsc:49, felzenszwalb:49,
                 scansegment:49 (superpixels, the count honoured within 10%; scansegment is the
                 fastest), tokens (a transformer's patch grid),
                 model (a feature-group model's own groups)
  --index        a number picks the dataset's image; a name the index of exact mode (sv,
                 banzhaf, sii, bii, stii, k-sii; default k-sii)
  --method       exact (all 2^p coalitions, p <= 20),
                 permutation (sampled SII), regression (Faith-SHAP), archdetect (ArchDetect),
                 cd (contextual decomposition: conv, linear, ReLU, batch norm, pooling and
                 residual CNNs; p + pairs decompositions),
                 pixels:ID (a pixel method's map summed per group, e.g. pixels:integrated-gradients);
                 several separated by commas
  --budget       model calls per estimate (several: a row each); --adjacent estimates pairs of
                 neighbouring groups only (archdetect: 2 (1 + p + |E|) calls)
  --repeats R    run the sampling estimators R times (seeds S..S+R-1): standard errors
  --stop-overlap F  sampling estimators spend the budget in doubling steps and stop once the
                 top-10 pairs of two steps overlap by F (e.g. 0.9)
  --baseline     what masked groups become (default black)
  --versus M2    a dataset run also explains every image with M2 (same input size) on the same
                 groups and reports the rank agreement of the two models' group attributions
                 and pair values (versus_spearman, versus_pairs_spearman): a CNN against a ViT
Before running it prints the calls each estimate needs and the time they should take. One image
writes DIR/<image>-groups.npy (int32 label map) and .png, DIR/<image>-<method>-<index>.json
(players, index, max_order, empty_value, full_value, calls, values) and two figures: .png (group
attributions and the 10 strongest pairs on the image) and -matrix.png (the pair matrix). A
dataset writes
DIR/per_image.csv and DIR/summary.json (resumable). When the model knows its exact answers
(demo-groups-additive with --groups model and a fixed baseline), every estimate is scored against
them: MSE, Precision@10, Kendall tau of the pairs and false positives on pairs that do not
interact; for demo-groups (gate weights, a different quantity) the rank agreement of the
estimated group attributions with its weights is reported.
)";

// --index serves twice, as the issue's command line has it: a number picks the image of the
// dataset, a name the interaction index.
struct Plan
{
    std::string method, index;
    int budget = 0;
    std::string key() const { return method + "|" + index + "|" + std::to_string(budget); }
};

struct Setup
{
    ModelPtr model;
    ModelPtr versus; // --versus: a second model explained on the same groups
    GroupingOptions grouping;
    std::vector<Plan> plans;
    MaskerOptions masker;
    bool adjacent = false;
    int repeats = 1;
    uint64_t seed = 0;
    int batch = 64;
    double stopOverlap = 0.0;
};

bool isPixelMethod(const std::string &method)
{
    return method.rfind("pixels:", 0) == 0;
}

} // namespace

std::string defaultInteractionIndex(const std::string &method, const std::string &given)
{
    if (isPixelMethod(method))
        return "sum";
    if (method == "exact")
        return given.empty() ? "k-sii" : given;
    if (method == "permutation")
        return given == "k-sii" ? given : "sii";
    if (method == "regression")
        return "fsii";
    if (method == "cd")
        return "cd";
    return "archdetect";
}

namespace {

// Contextual decomposition walks the model's operators: fail before a long run when one has no
// rule (the message names it).
void checkDecomposable(const Model &model)
{
    const auto &c = model.card();
    const auto zeros = torch::zeros({1, c.inputChannels, c.inputHeight, c.inputWidth});
    try {
        ContextualDecomposition(model.module()).decompose(zeros, {}, torch::ones_like(zeros));
    } catch (const CdUnsupported &e) {
        throw UsageError("--method cd: " + model.displayName() + ": " + e.what());
    }
}

Setup setupFrom(const Args &args)
{
    Setup s;
    s.model = Model::load(args.required("model"));
    if (args.has("versus")) {
        s.versus = Model::load(args.value("versus"));
        const auto &a = s.model->card(), &b = s.versus->card();
        if (a.inputHeight != b.inputHeight || a.inputWidth != b.inputWidth)
            throw UsageError("--versus needs a model with the same input size (" +
                             std::to_string(a.inputWidth) + " x " + std::to_string(a.inputHeight) +
                             "), got " + std::to_string(b.inputWidth) + " x " +
                             std::to_string(b.inputHeight));
    }
    try {
        s.grouping = parseGrouping(args.required("groups"));
    } catch (const std::invalid_argument &e) {
        throw UsageError(e.what());
    }
    std::vector<int> budgets = {0};
    if (args.has("budget")) {
        budgets.clear();
        for (const auto &b : splitList(args.value("budget")))
            budgets.push_back(std::stoi(b));
    }
    s.adjacent = args.has("adjacent");
    s.repeats = args.intValue("repeats", 1);
    s.seed = uint64_t(args.intValue("seed", 0));
    s.batch = args.intValue("batch", 64);
    s.stopOverlap = args.doubleValue("stop-overlap", 0.0);
    s.masker.fill = args.value("baseline", "black");
    for (const auto &method : splitList(args.value("method", "exact")))
        for (int budget :
             method == "exact" || method == "archdetect" || method == "cd" || isPixelMethod(method)
                 ? std::vector<int>{0}
                 : budgets) {
            Plan p{method, defaultInteractionIndex(method, indexName(args)), budget};
            if (isPixelMethod(method)) {
                MethodRegistry::instance().get(method.substr(7)); // throws naming the known ids
                s.plans.push_back(p);
                continue;
            }
            EstimateOptions o;
            o.estimator = p.method;
            o.index = p.index;
            o.budget = p.budget;
            o.repeats = s.repeats;
            try {
                o.validate();
            } catch (const std::invalid_argument &e) {
                throw UsageError(e.what());
            }
            if (method == "cd")
                checkDecomposable(*s.model);
            s.plans.push_back(p);
        }
    return s;
}

EstimateOptions optionsFor(const Setup &s, const Plan &p);

// A pixel method's map (default parameters) summed over each group: attributions of the groups,
// no pairs; its calls are the method's passes.
GroupInteractions pixelSums(const std::string &methodId, CoalitionGame &game,
                            const torch::Tensor &input, int target, const JobContext &ctx)
{
    const Method &method = MethodRegistry::instance().get(methodId);
    ExplainRequest request;
    request.model = game.model();
    request.input = input;
    request.target = target;
    request.params = completeParams(method.params(), {}, methodId);
    const Explanation e = method.explain(request, ctx);
    GroupInteractions r;
    r.estimator = "pixels:" + methodId;
    r.index = "sum";
    r.players = game.players();
    r.singles = sumPerGroup(e.map, game.grouping());
    r.pairs.assign(size_t(r.players) * size_t(r.players), 0.0);
    r.calls = e.forwardPasses;
    r.seconds = e.seconds;
    const PlayerSet none(r.players), all = PlayerSet::all(r.players);
    game.evaluate({none, all}, ctx);
    r.emptyValue = game.value(none, target);
    r.fullValue = game.value(all, target);
    return r;
}

GroupInteractions estimate(const Setup &s, const Plan &p, CoalitionGame &game,
                           const torch::Tensor &input, int target, const JobContext &ctx)
{
    if (isPixelMethod(p.method))
        return pixelSums(p.method.substr(7), game, input, target, ctx);
    return estimateInteractions(game, target, optionsFor(s, p), ctx);
}

EstimateOptions optionsFor(const Setup &s, const Plan &p)
{
    EstimateOptions o;
    o.estimator = p.method;
    o.index = p.index;
    o.budget = p.budget;
    o.adjacentOnly = s.adjacent;
    o.repeats = s.repeats;
    o.seed = s.seed;
    o.stopOverlap = s.stopOverlap;
    return o;
}

// The exact singles and pairs of a model that knows them (exact_shapley / exact_interactions for
// a baseline), on its own groups; nullopt otherwise.
struct Truth
{
    std::vector<double> singles, pairs; // pairs p x p
};

std::optional<Truth> truthFor(const Model &model, const CoalitionGame &game,
                              const GroupingOptions &grouping, const torch::Tensor &input,
                              int target)
{
    const auto &module = model.module();
    if (grouping.method != "model" || !module.find_method("exact_interactions") ||
        !game.baseline().defined())
        return std::nullopt;
    torch::NoGradGuard noGrad;
    const auto b = game.baseline();
    const auto singles = module.get_method("exact_shapley")({input, b}).toTensor();
    const auto pairs = module.get_method("exact_interactions")({input, b}).toTensor();
    const int p = game.players();
    Truth t;
    for (int i = 0; i < p; ++i)
        t.singles.push_back(singles[0][i][target].item<double>());
    t.pairs.assign(size_t(p * p), 0.0);
    const auto &listed = model.card().groupPairs;
    for (size_t k = 0; k < listed.size(); ++k) {
        const auto [i, j] = listed[k];
        t.pairs[size_t(i * p + j)] = t.pairs[size_t(j * p + i)] =
            pairs[0][int64_t(k)][target].item<double>();
    }
    return t;
}

// Spearman of the estimated group attributions with a gated feature-group model's own weights
// of its groups (a different quantity: gate shares, not Shapley values); NaN otherwise.
double weightAgreement(const Model &model, const GroupingOptions &grouping,
                       const torch::Tensor &input, const GroupInteractions &e)
{
    if (grouping.method != "model" || !model.hasGroupAttributions())
        return std::numeric_limits<double>::quiet_NaN();
    const auto weights = model.groupAttributions(input)[0];
    cv::Mat a(1, e.players, CV_32F), b(1, e.players, CV_32F);
    for (int i = 0; i < e.players; ++i) {
        a.at<float>(0, i) = float(std::abs(e.singles[size_t(i)]));
        b.at<float>(0, i) = weights[i].item<float>();
    }
    return spearman(a, b);
}

// Pairs are scored against the true interactions; indices of order 1 (and pixel sums) score
// their singles against the true Shapley values.
RecoveryScores recoveryOf(const GroupInteractions &e, const Truth &truth)
{
    return e.estimatedPairs.empty() ? scoreSingles(e, truth.singles)
                                    : scoreRecovery(e, truth.pairs);
}

// Two models' estimates on the same groups: the Spearman correlation of their group
// attributions and of their pair values (NaN without pairs).
std::pair<double, double> agreementOf(const GroupInteractions &a, const GroupInteractions &b)
{
    auto correlate = [](const std::vector<double> &x, const std::vector<double> &y) {
        if (x.size() < 2)
            return std::numeric_limits<double>::quiet_NaN();
        cv::Mat mx(1, int(x.size()), CV_32F), my(1, int(y.size()), CV_32F);
        for (size_t i = 0; i < x.size(); ++i) {
            mx.at<float>(0, int(i)) = float(x[i]);
            my.at<float>(0, int(i)) = float(y[i]);
        }
        return spearman(mx, my);
    };
    std::vector<double> pa, pb;
    for (const auto &[i, j] : a.estimatedPairs) {
        pa.push_back(a.pair(i, j));
        pb.push_back(b.pair(i, j));
    }
    return {correlate(a.singles, b.singles), correlate(pa, pb)};
}

// Archipelago's sets of the 10 strongest pairs (merged where they share a group), each with its
// importance alone, v(set) - v(empty).
nlohmann::json archipelagoSets(Game &game, int target, const GroupInteractions &e,
                               const JobContext &ctx)
{
    const int k = 10;
    const auto importance = topKSetImportance(game, target, e, k, ctx);
    nlohmann::json sets = nlohmann::json::array();
    for (const auto &set : topKSets(e, k))
        if (set.size() > 1)
            sets.push_back({{"players", set}, {"importance", importance.at(set)}});
    return sets;
}

std::string valuesJson(const GroupInteractions &e, const Plan &p, const Grouping &g,
                       const std::optional<Truth> &truth, const nlohmann::json &sets)
{
    nlohmann::json values = nlohmann::json::array();
    for (int i = 0; i < e.players; ++i) {
        nlohmann::json v = {{"players", {i}}, {"value", e.singles[size_t(i)]}};
        if (!e.singleErrors.empty())
            v["std_error"] = e.singleErrors[size_t(i)];
        values.push_back(v);
    }
    for (const auto &[i, j] : e.estimatedPairs) {
        nlohmann::json v = {{"players", {i, j}}, {"value", e.pair(i, j)}};
        if (!e.pairErrors.empty())
            v["std_error"] = e.pairErrors[size_t(i * e.players + j)];
        values.push_back(v);
    }
    nlohmann::json j = {{"players", e.players},
                        {"index", p.index},
                        {"estimator", p.method},
                        {"max_order", e.estimatedPairs.empty() ? 1 : 2},
                        {"empty_value", e.emptyValue},
                        {"full_value", e.fullValue},
                        {"calls", e.calls},
                        {"seconds", e.seconds},
                        {"stop_reason", e.stopReason},
                        {"grouping", g.description},
                        {"adjacent", g.adjacent},
                        {"values", values}};
    if (!e.estimatedPairs.empty())
        j["archipelago_sets"] = sets;
    if (truth) {
        const auto scores = recoveryOf(e, *truth);
        j["recovery"] = {{"mse", scores.mse},
                         {"precision_at_10", scores.precisionAt10},
                         {"kendall_tau", scores.kendallTau},
                         {"false_positive", scores.falsePositive}};
    }
    return j.dump(2) + "\n";
}

int targetFor(const Args &args, const Model &model, const Sample &sample, int predicted)
{
    const std::string t = args.value("target", "predicted");
    if (t == "predicted")
        return predicted;
    if (t == "label") {
        if (sample.label < 0)
            throw UsageError("--target label: " + sample.id + " has no label");
        return sample.label;
    }
    return parseTarget(t, model);
}

std::string fixed(double v, int digits = 3)
{
    if (!std::isfinite(v))
        return "-";
    std::ostringstream s;
    s << std::fixed << std::setprecision(digits) << v;
    return s.str();
}

// The game of one image: its grouping (on the model input) and the masker.
CoalitionGame gameFor(const Setup &s, const torch::Tensor &input)
{
    const Grouping g =
        makeGrouping(inputToRgb8(input, s.model->card()), s.grouping, &s.model->card());
    return CoalitionGame(s.model, input, g, s.masker, s.batch);
}

void printPlan(const Setup &s, CoalitionGame &game)
{
    // Measure the throughput first, so the ETA is this machine's: a warm-up batch, then a timed
    // one (both cached for the estimates).
    const int probeSize = std::min(s.batch, 1 << std::min(game.players(), 10) / 2);
    for (int round = 0; round < 2; ++round) {
        std::vector<PlayerSet> probe;
        for (int k = 0; k < probeSize; ++k)
            probe.push_back(PlayerSet::fromBits(game.players(), Coalition(round * probeSize + k)));
        game.evaluate(probe);
    }
    const int pairs = int(game.grouping().adjacent.size());
    std::cerr << game.grouping().description << "; " << game.players() << " groups, " << pairs
              << " neighbouring pairs; " << fixed(1.0 / std::max(1e-9, game.secondsPerCall()), 0)
              << " calls/s\n";
    for (const auto &p : s.plans) {
        const int calls = plannedCalls(game.players(), pairs, optionsFor(s, p));
        std::cerr << "  " << p.method << " (" << p.index << ")"
                  << (p.budget ? ", budget " + std::to_string(p.budget) : std::string()) << ": "
                  << calls << " calls, about " << fixed(calls * game.secondsPerCall(), 1) << " s\n";
    }
}

int runOneImage(const Args &args, const Setup &s, const Sample &sample)
{
    const std::string out = args.required("out");
    const auto input = s.model->preprocess(sample.image);
    const int predicted = int(s.model->predict(input).argmax(1).item<int64_t>());
    const int target = targetFor(args, *s.model, sample, predicted);
    CoalitionGame game = gameFor(s, input);
    printPlan(s, game);
    const std::string stem = safeStem(sample.id);
    fs::create_directories(out);
    const auto truth = truthFor(*s.model, game, s.grouping, input, target);
    TerminalProgress progress("interactions");
    const JobContext ctx = progress.context(interruptToken());
    std::vector<std::string> lines, written;
    const cv::Mat rgb = inputToRgb8(input, s.model->card());
    for (size_t k = 0; k < s.plans.size(); ++k) {
        const Plan &p = s.plans[k];
        const auto e =
            estimate(s, p, game, input, target,
                     ctx.sub(double(k) / s.plans.size(), double(k + 1) / s.plans.size(), p.method));
        const std::string path =
            (fs::path(out) /
             (stem + "-" + p.method + "-" + p.index +
              (p.budget ? "-b" + std::to_string(p.budget) : std::string()) + ".json"))
                .string();
        if (fs::exists(path) && !args.has("force"))
            throw std::runtime_error(path + " exists; choose another folder or --force");
        const nlohmann::json sets =
            e.estimatedPairs.empty()
                ? nlohmann::json::array()
                : archipelagoSets(game, target, e, JobContext({}, ctx.cancelToken()));
        writeTextAtomically(path, valuesJson(e, p, game.grouping(), truth, sets));
        written.push_back(path);
        // Figures: the attributions and strongest pairs on the image, and the pair matrix.
        const std::string figure = path.substr(0, path.size() - 5);
        writePng(figure + ".png", interactionFigure(rgb, game.grouping(), e));
        written.push_back(figure + ".png");
        if (!e.estimatedPairs.empty()) {
            writePng(figure + "-matrix.png", interactionMatrixFigure(e));
            written.push_back(figure + "-matrix.png");
        }
        // The strongest pairs, for people.
        auto pairs = e.estimatedPairs;
        std::sort(pairs.begin(), pairs.end(), [&](const auto &a, const auto &b) {
            return std::abs(e.pair(a.first, a.second)) > std::abs(e.pair(b.first, b.second));
        });
        std::ostringstream line;
        line << std::left << std::setw(12) << p.method << std::setw(11) << p.index << " calls "
             << std::setw(7) << e.calls << " " << fixed(e.seconds, 2) << " s; strongest pairs:";
        for (size_t t = 0; t < std::min<size_t>(5, pairs.size()); ++t)
            line << " " << pairs[t].first << "-" << pairs[t].second << " "
                 << fixed(e.pair(pairs[t].first, pairs[t].second));
        if (truth) {
            const auto r = recoveryOf(e, *truth);
            line << "\n    against the exact answers: MSE " << r.mse << ", Precision@10 "
                 << fixed(r.precisionAt10, 2) << ", Kendall tau " << fixed(r.kendallTau)
                 << ", false positives " << fixed(r.falsePositive, 3);
        }
        const double agreement = weightAgreement(*s.model, s.grouping, input, e);
        if (std::isfinite(agreement))
            line << "\n    rank agreement with the model's gate weights (a different quantity): "
                    "Spearman "
                 << fixed(agreement);
        lines.push_back(line.str());
    }
    progress.finish();
    const std::string labels = (fs::path(out) / (stem + "-groups.npy")).string();
    writeNpyInt32(labels, game.grouping().labels);
    writePng((fs::path(out) / (stem + "-groups.png")).string(), groupsFigure(rgb, game.grouping()));
    std::cout << "target " << s.model->label(target) << " (logit "
              << fixed(game.value(PlayerSet::all(game.players()), target)) << ")\n";
    for (const auto &l : lines)
        std::cout << l << "\n";
    std::cout << "wrote " << labels;
    for (const auto &w : written)
        std::cout << " " << w;
    std::cout << "\n";
    return 0;
}

const std::vector<std::string> &valueColumns()
{
    static const std::vector<std::string> columns = {
        "players",          "calls",           "seconds",
        "empty_value",      "full_value",      "mse",
        "precision_at_10",  "kendall_tau",     "false_positive",
        "weights_spearman", "versus_spearman", "versus_pairs_spearman"};
    return columns;
}

std::vector<std::string> header()
{
    std::vector<std::string> h = {"index",  "id",     "label",      "predicted",
                                  "target", "method", "index_name", "budget"};
    h.insert(h.end(), valueColumns().begin(), valueColumns().end());
    return h;
}

std::string runJsonFor(const Args &args, const Setup &s, const Shard &shard, size_t images)
{
    std::vector<std::string> plans;
    for (const auto &p : s.plans)
        plans.push_back(p.key());
    nlohmann::json j = {{"format", "heatlens-interactions-1"},
                        {"model",
                         {{"path", s.model->path()},
                          {"name", s.model->displayName()},
                          {"identity", s.model->cacheKey()}}},
                        {"dataset", args.required("dataset")},
                        {"groups", s.grouping.canonical()},
                        {"plans", plans},
                        {"baseline", s.masker.fill},
                        {"adjacent", s.adjacent},
                        {"repeats", s.repeats},
                        {"seed", s.seed},
                        {"target", args.value("target", "predicted")},
                        {"versus", s.versus ? s.versus->cacheKey() : std::string()}};
    if (shard.count > 1) { // a shard says which; the merged run.json is a whole run's
        j["shard"] = {{"index", shard.index}, {"count", shard.count}};
        j["images"] = images;
        j["selection"] = args.has("indices") ? "indices:" + args.value("indices")
                                             : "limit:" + args.value("limit", "100");
    }
    return j.dump(2) + "\n";
}

// What a dataset run ends with, and a merge of its shards too: summary.json over `indices` and
// the table on standard output.
int finishRun(const DatasetRun &run, const std::vector<size_t> &indices,
              const std::vector<std::string> &keys, double seconds,
              const std::vector<std::string> &skipped, bool versus)
{
    const auto table = run.summarise(indices, valueColumns(), seconds, skipped);
    std::vector<std::string> shown = {
        "calls", "mse", "precision_at_10", "kendall_tau", "false_positive", "weights_spearman"};
    if (versus)
        shown = {"calls", "versus_spearman", "versus_pairs_spearman"};
    std::cout << std::left << std::setw(36) << "estimate (method|index|budget)";
    for (const auto &c : shown)
        std::cout << std::setw(20) << c;
    std::cout << "\n";
    for (const auto &k : keys) {
        std::cout << std::setw(36) << k;
        for (const auto &c : shown) {
            const Summary &sum = table.at(k).at(c);
            std::cout << std::setw(20)
                      << (std::isfinite(sum.mean)
                              ? fixed(sum.mean, 4) + (std::isfinite(sum.ci95)
                                                          ? " +-" + fixed(sum.ci95, 4)
                                                          : std::string())
                              : std::string("-"));
        }
        std::cout << "\n";
    }
    std::cout << "wrote " << run.perImagePath() << " " << run.summaryPath() << "\n";
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
    std::vector<std::string> keys;
    for (const auto &p : s.plans)
        keys.push_back(p.key());
    std::unique_ptr<DatasetRun> opened;
    try {
        opened =
            std::make_unique<DatasetRun>(out, runJsonFor(args, s, shard, indices.size()), header(),
                                         std::vector<size_t>{5, 6, 7}, keys, args.has("force"));
    } catch (const std::runtime_error &e) {
        throw UsageError(e.what());
    }
    DatasetRun &run = *opened;
    const auto pending = run.pending(indices);
    std::cerr << "interactions of " << s.model->displayName() << " on " << indices.size()
              << " images x " << keys.size() << " estimates";
    if (pending.size() < indices.size())
        std::cerr << " (" << indices.size() - pending.size() << " already in " << run.perImagePath()
                  << ")";
    std::cerr << "\n";
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::string> skipped;
    {
        TerminalProgress progress("interactions");
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
                const int target = targetFor(args, *s.model, sample, predicted);
                CoalitionGame game = gameFor(s, input);
                const auto truth = truthFor(*s.model, game, s.grouping, input, target);
                std::optional<CoalitionGame> versus;
                if (s.versus)
                    versus.emplace(s.versus, s.versus->preprocess(sample.image), game.grouping(),
                                   s.masker, s.batch);
                std::vector<std::vector<std::string>> rows;
                for (size_t k = 0; k < s.plans.size(); ++k) {
                    const Plan &p = s.plans[k];
                    const auto e = estimate(
                        s, p, game, input, target,
                        ictx.sub(double(k) / s.plans.size(), double(k + 1) / s.plans.size()));
                    std::pair<double, double> agreement{std::numeric_limits<double>::quiet_NaN(),
                                                        std::numeric_limits<double>::quiet_NaN()};
                    if (versus)
                        agreement = agreementOf(e, estimate(s, p, *versus,
                                                            s.versus->preprocess(sample.image),
                                                            target, ictx));
                    const double nan = std::numeric_limits<double>::quiet_NaN();
                    RecoveryScores r{nan, nan, nan, nan};
                    if (truth)
                        r = recoveryOf(e, *truth);
                    std::vector<std::string> row = {std::to_string(index),
                                                    sample.id,
                                                    std::to_string(sample.label),
                                                    std::to_string(predicted),
                                                    std::to_string(target),
                                                    p.method,
                                                    p.index,
                                                    std::to_string(p.budget)};
                    for (double v :
                         {double(e.players), double(e.calls), e.seconds, e.emptyValue, e.fullValue,
                          r.mse, r.precisionAt10, r.kendallTau, r.falsePositive,
                          weightAgreement(*s.model, s.grouping, input, e), agreement.first,
                          agreement.second})
                        row.push_back(csvNumber(v));
                    rows.push_back(row);
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
    return finishRun(run, indices, keys, seconds, skipped, s.versus != nullptr);
}

} // namespace

int mergeInteractions(const std::vector<std::string> &shards, const std::string &runJson,
                      const std::string &out)
{
    const auto run = nlohmann::json::parse(runJson);
    const auto keys = run.at("plans").get<std::vector<std::string>>();
    const MergedShards shardRows = writeMergedShards(shards, out, runJson, header());
    const DatasetRun merged(out, runJson, header(), std::vector<size_t>{5, 6, 7}, keys, false);
    return finishRun(merged, shardRows.indices, keys, shardRows.seconds, shardRows.skipped,
                     !run.value("versus", std::string()).empty());
}

int runInteractions(const std::vector<std::string> &argv)
{
    Args args(argv,
              {"model", "versus", "image", "dataset", "index", "limit", "indices", "shard",
               "shards", "groups", "method", "budget", "repeats", "seed", "baseline", "target",
               "batch", "stop-overlap", "out"},
              {"adjacent", "force", "help"});
    if (args.has("help")) {
        std::cout << kUsage;
        return 0;
    }
    if (args.has("image") == args.has("dataset"))
        throw UsageError("give either --image F or --dataset D (with --index K for one image)");
    args.required("out");
    const Setup setup = setupFrom(args);
    if (args.has("image"))
        return runOneImage(args, setup, openImageFiles({args.value("image")})->load(0));
    const auto dataset = openDataset(args.value("dataset"));
    if (const int index = imageIndex(args); index >= 0) {
        if (size_t(index) >= dataset->size())
            throw UsageError("--index must be in [0, " + std::to_string(dataset->size() - 1) +
                             "] for " + args.value("dataset") + ", got " + std::to_string(index));
        return runOneImage(args, setup, dataset->load(size_t(index)));
    }
    return runDataset(args, setup);
}

} // namespace heatlens::cli
