#include "core/model/Model.h"

#include "core/io/AtomicFile.h"
#include "core/io/CacheDirectory.h"
#include "core/model/ArchiveCheck.h"
#include "core/model/Ensemble.h"
#include "core/model/LayerTap.h"
#include "core/model/TorchRuntime.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/version.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <sstream>

namespace heatlens {

namespace {

namespace fs = std::filesystem;

std::string firstLine(const std::string &text)
{
    auto end = text.find('\n');
    return end == std::string::npos ? text : text.substr(0, end);
}

[[noreturn]] void fail(const std::string &source, const std::string &what)
{
    throw ModelError(source + ": " + what);
}

torch::jit::Module loadArchive(const std::string &path)
{
    std::error_code ec;
    if (!fs::exists(path, ec))
        fail(path, "no such file");
    if (fs::is_directory(path, ec))
        fail(path, "is a folder, not a TorchScript file");
    // LibTorch does not check the records' CRC-32: a damaged tensor record would load as
    // corrupted weights. The check reads the file once, beside the load.
    auto damaged = std::async(std::launch::async, [path] { return damagedArchiveRecord(path); });
    torch::jit::Module module;
    try {
        module = torch::jit::load(path);
    } catch (const c10::Error &e) {
        damaged.wait();
        fail(path, "not a TorchScript archive (" + firstLine(e.what_without_backtrace()) + ")");
    } catch (const std::exception &e) {
        damaged.wait();
        fail(path, "not a TorchScript archive (" + firstLine(e.what()) + ")");
    }
    if (const std::string why = damaged.get(); !why.empty())
        fail(path, "the archive is damaged, its weights cannot be trusted: " + why);
    return module;
}

std::string shapeText(const std::vector<int64_t> &shape)
{
    std::ostringstream out;
    out << "[";
    for (size_t i = 0; i < shape.size(); ++i)
        out << (i ? ", " : "") << shape[i];
    out << "]";
    return out.str();
}

// Runs forward on zeros of `shape`; returns the output or throws with the model's reason.
c10::IValue tryForward(torch::jit::Module &module, const std::vector<int64_t> &shape)
{
    torch::NoGradGuard noGrad;
    PlainExecutionGuard plain;
    return module.forward({torch::zeros(shape)});
}

struct ProbeResult
{
    std::vector<int64_t> shape;
    c10::IValue output;
};

// Input shapes to try when the card does not say: the card's partial answer first.
std::vector<std::vector<int64_t>> candidateShapes(const ModelCard &card)
{
    std::vector<int64_t> channels =
        card.inputChannels ? std::vector<int64_t>{card.inputChannels} : std::vector<int64_t>{3, 1};
    std::vector<std::pair<int64_t, int64_t>> sizes;
    if (card.inputHeight > 0)
        sizes.push_back({card.inputHeight, card.inputWidth});
    else
        sizes = {{224, 224}, {28, 28}, {32, 32}, {64, 64}, {96, 96}, {128, 128}, {256, 256}};
    std::vector<std::vector<int64_t>> shapes;
    for (auto [h, w] : sizes)
        for (auto c : channels)
            shapes.push_back({1, c, h, w});
    return shapes;
}

ProbeResult probeInput(torch::jit::Module &module, const ModelCard &card, const std::string &path)
{
    std::string lastError;
    for (const auto &shape : candidateShapes(card)) {
        try {
            return {shape, tryForward(module, shape)};
        } catch (const c10::Error &e) {
            lastError = firstLine(e.what_without_backtrace());
        } catch (const std::exception &e) {
            lastError = firstLine(e.what());
        }
    }
    const bool fromCard = card.inputHeight > 0 && card.inputChannels > 0;
    fail(path, std::string("the model rejects ") +
                   (fromCard ? "the input shape " + shapeText(candidateShapes(card)[0]) +
                                   " given by its card"
                             : "every input shape tried (1 or 3 channels, 28..256 pixels); give "
                               "input.size and input.channels in the model card") +
                   " (" + lastError + ")");
}

int64_t validateLogits(const c10::IValue &output, const std::string &path)
{
    if (!output.isTensor())
        fail(path,
             "forward returns " + output.tagKind() + ", expected a [N, classes] tensor of logits");
    const auto &t = output.toTensor();
    if (t.dim() != 2 || t.size(0) != 1)
        fail(path, "forward returns a tensor of shape " + shapeText(t.sizes().vec()) +
                       " for one image, expected [1, classes] logits");
    if (!t.is_floating_point())
        fail(path, "forward returns " + std::string(c10::toString(t.scalar_type())) +
                       " values, expected floating-point logits");
    if (t.size(1) < 2)
        fail(path, "forward returns a single score per image; Heatlens explains classifiers "
                   "with at least two classes");
    return t.size(1);
}

std::string fileKey(const std::string &path)
{
    std::error_code ec;
    auto size = fs::file_size(path, ec);
    auto time = fs::last_write_time(path, ec).time_since_epoch().count();
    return fs::absolute(path).string() + "|" + std::to_string(size) + "|" + std::to_string(time);
}

} // namespace

std::shared_ptr<const Model> Model::load(const std::string &path)
{
    if (auto manifest = ensembleManifestPath(path); !manifest.empty())
        return loadEnsemble(path, manifest);
    auto module = loadArchive(path);
    ModelCard card;
    try {
        if (auto read = readModelCard(cardPathFor(path)))
            card = *read;
    } catch (const std::exception &e) {
        throw ModelError(e.what());
    }
    auto model = std::shared_ptr<Model>(new Model());
    model->m_path = path;
    model->m_cacheKey = fileKey(path);
    model->m_module = module;
    model->m_card = card;
    if (model->m_card.name.empty())
        model->m_card.name = fs::path(path).stem().string();
    model->validateAndComplete(path);
    return model;
}

namespace {

// Why `b` cannot be averaged with `a` in one ensemble ("" when it can).
std::string incompatibility(const Model &a, const Model &b)
{
    const auto &x = a.card(), &y = b.card();
    if (x.inputChannels != y.inputChannels || x.inputHeight != y.inputHeight ||
        x.inputWidth != y.inputWidth)
        return "takes " + std::to_string(y.inputChannels) + "x" + std::to_string(y.inputHeight) +
               "x" + std::to_string(y.inputWidth) + " inputs, the first member " +
               std::to_string(x.inputChannels) + "x" + std::to_string(x.inputHeight) + "x" +
               std::to_string(x.inputWidth);
    if (x.mean != y.mean || x.std != y.std || x.colorOrder != y.colorOrder ||
        x.resize != y.resize || x.resizeShorter != y.resizeShorter)
        return "preprocesses its input differently from the first member (card \"input\")";
    if (x.labels != y.labels)
        return "has other class labels than the first member";
    return {};
}

std::string prefixed(const std::string &path)
{
    return path.empty() ? path : "members.0." + path;
}

} // namespace

std::shared_ptr<const Model> Model::loadEnsemble(const std::string &path,
                                                 const std::string &manifestPath)
{
    EnsembleManifest manifest;
    try {
        manifest = readEnsembleManifest(manifestPath);
    } catch (const std::exception &e) {
        throw ModelError(e.what());
    }
    const auto dir = fs::path(manifestPath).parent_path();
    auto model = std::shared_ptr<Model>(new Model());
    model->m_cacheKey = fileKey(manifestPath);
    std::vector<torch::jit::Module> modules;
    for (const auto &file : manifest.members) {
        auto member = Model::load((dir / file).string());
        if (!model->m_members.empty())
            if (auto why = incompatibility(*model->m_members.front(), *member); !why.empty())
                fail(manifestPath, "member " + file + " " + why);
        model->m_cacheKey += "|" + member->cacheKey();
        modules.push_back(member->module());
        model->m_members.push_back(member);
    }
    const Model &first = *model->m_members.front();
    model->m_path = path;
    model->m_card = first.card();
    model->m_card.name = manifest.name.empty() ? dir.filename().string() : manifest.name;
    model->m_card.description = manifest.description;
    // Layer-based methods on the whole ensemble look at the first member's layers.
    model->m_card.camLayer = prefixed(first.defaultCamLayer());
    for (auto &a : model->m_card.attention)
        a = prefixed(a);
    model->m_card.groupGridRows = model->m_card.groupGridCols = 0;
    model->m_card.groupPairs.clear();
    model->m_card.groupMethod.clear();
    model->m_module = composeEnsemble(modules);
    model->validateAndComplete(path);
    return model;
}

std::shared_ptr<const Model> Model::fromModule(torch::jit::Module module, ModelCard card,
                                               const std::string &source)
{
    static std::atomic<int> counter{0};
    auto model = std::shared_ptr<Model>(new Model());
    model->m_path = source;
    model->m_cacheKey = "memory:" + source + "#" + std::to_string(counter++);
    model->m_module = module;
    model->m_card = card;
    if (model->m_card.name.empty())
        model->m_card.name = source;
    model->validateAndComplete(source);
    return model;
}

void Model::validateAndComplete(const std::string &source)
{
    if (!m_module.find_method("forward"))
        fail(source, "the TorchScript module has no forward method");
    m_module.eval();
    for (auto p : m_module.parameters())
        p.set_requires_grad(false);
    ProbeResult probe = probeInput(m_module, m_card, source);
    m_card.inputChannels = int(probe.shape[1]);
    m_card.inputHeight = int(probe.shape[2]);
    m_card.inputWidth = int(probe.shape[3]);
    const int64_t classes = validateLogits(probe.output, source);
    if (m_card.labels.empty())
        for (int64_t i = 0; i < classes; ++i)
            m_card.labels.push_back("class " + std::to_string(i));
    if (int64_t(m_card.labels.size()) != classes)
        fail(source, "the model card lists " + std::to_string(m_card.labels.size()) +
                         " labels but the model outputs " + std::to_string(classes) + " classes");
    const size_t statCount = m_card.mean.size();
    if (statCount != 0 && statCount != 1 && int(statCount) != m_card.inputChannels)
        fail(source, "the model card's input.mean has " + std::to_string(statCount) +
                         " values for a " + std::to_string(m_card.inputChannels) +
                         "-channel input");
    if (statCount == 1) {
        m_card.mean.assign(m_card.inputChannels, m_card.mean[0]);
        m_card.std.assign(m_card.inputChannels, m_card.std[0]);
    }
    auto probs = probe.output.toTensor();
    if (!torch::isfinite(probs).all().item<bool>())
        m_warnings.push_back(source + ": the model returns NaN or infinite logits for a black " +
                             "input; Heatlens refuses to explain any image it does this for");
    if (probs.min().item<double>() >= 0.0 && std::abs(probs.sum().item<double>() - 1.0) < 1e-4)
        m_warnings.push_back(source + ": the output looks like probabilities (non-negative, sums "
                                      "to 1); Heatlens expects logits, so gradients will be "
                                      "those of the probabilities");
    try {
        torch::NoGradGuard noGrad;
        PlainExecutionGuard plain;
        m_module.forward(
            {torch::zeros({2, m_card.inputChannels, m_card.inputHeight, m_card.inputWidth})});
    } catch (const std::exception &) {
        fail(source, "the model accepts one image but not a batch of two; export it with a "
                     "free batch dimension");
    }
    if (!m_card.groupMethod.empty() && !m_module.find_method(m_card.groupMethod))
        fail(source, "the model card's feature_groups.method \"" + m_card.groupMethod +
                         "\" is not a method of the model");
    if (!m_card.camLayer.empty() && !hasLayer(m_card.camLayer))
        fail(source, "the model card's cam_layer \"" + m_card.camLayer +
                         "\" is not a submodule of the model");
    m_defaultCamLayer = m_card.camLayer.empty() ? findLastSpatialLayer() : m_card.camLayer;
}

std::string Model::displayName() const
{
    return m_card.name;
}

const std::string &Model::label(int index) const
{
    static const std::string unknown = "?";
    return index >= 0 && index < numClasses() ? m_card.labels[size_t(index)] : unknown;
}

torch::Tensor Model::preprocess(const cv::Mat &image, InputGeometry *geometry) const
{
    return preprocessImage(image, m_card, geometry);
}

torch::Tensor Model::predict(const torch::Tensor &input) const
{
    torch::InferenceMode inference;
    PlainExecutionGuard plain;
    if (const auto *frozen = inferenceModule())
        return const_cast<torch::jit::Module *>(frozen)->forward({input}).toTensor();
    return m_module.forward({input}).toTensor();
}

namespace {

// The first line of an exception's message (LibTorch appends whole stack traces).
std::string firstLine(const std::exception &e)
{
    const std::string what = e.what();
    return what.substr(0, what.find('\n'));
}

// Best of up to 5 timed runs after a warm-up, fewer once 50 ms have been spent (a ViT-B/16 pass
// takes longer than that), in seconds.
double timeForward(torch::jit::Module &module, const torch::Tensor &input)
{
    module.forward({input});
    double best = 1e30, spent = 0.0;
    for (int i = 0; i < 5 && spent < 0.05; ++i) {
        const auto start = std::chrono::steady_clock::now();
        module.forward({input});
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        best = std::min(best, seconds);
        spent += seconds;
    }
    return best;
}

constexpr const char *kModuleItself = "the module itself";
constexpr const char *kFrozen = "frozen";
constexpr const char *kFrozenOptimised = "frozen + optimised for inference";

// Where the inference-copy choice for one model file, LibTorch version and thread count is kept
// (the choice is measured once, then reused by every process: a one-shot CLI run does not pay
// for timing, and every process of an evaluation uses the same copy, so its logits agree).
std::string choiceCachePath(const std::string &cacheKey)
{
    if (cacheKey.rfind("memory:", 0) == 0 || std::getenv("HEATLENS_NO_CHOICE_CACHE"))
        return {};
    const std::string key =
        cacheKey + "|torch " + TORCH_VERSION + "|threads " + std::to_string(at::get_num_threads());
    char name[32];
    std::snprintf(name, sizeof name, "%016zx", std::hash<std::string>{}(key));
    return (fs::path(heatlensCacheDirectory()) / "inference-copies" / name).string();
}

// A cached choice: the copy, how it was measured, and the module's logits on the check probe
// (so that a later process checks the copy it builds without running the module itself: on a
// ViT-B/16 that forward is a fifth of a one-shot explain).
struct CachedChoice
{
    std::string choice;
    std::string report;
    std::vector<float> probeLogits;
};

CachedChoice readChoice(const std::string &path)
{
    CachedChoice cached;
    std::ifstream in(path);
    std::getline(in, cached.choice);
    std::getline(in, cached.report);
    std::string tag;
    size_t count = 0;
    if (in >> tag >> count && tag == "probe-logits" && count <= 1000000) {
        cached.probeLogits.resize(count);
        for (auto &v : cached.probeLogits)
            if (!(in >> v)) {
                cached.probeLogits.clear();
                break;
            }
    }
    return cached;
}

void writeChoice(const std::string &path, const std::string &choice, const std::string &report,
                 const torch::Tensor &probeLogits)
{
    try {
        std::string text = choice + "\n" + report + "\n";
        const auto logits = probeLogits.to(torch::kFloat32).contiguous();
        text += "probe-logits " + std::to_string(logits.numel());
        const float *values = logits.data_ptr<float>();
        for (int64_t i = 0; i < logits.numel(); ++i) {
            char number[32];
            std::snprintf(number, sizeof number, " %.9g", double(values[i]));
            text += number;
        }
        fs::create_directories(fs::path(path).parent_path());
        writeTextAtomically(path, text + "\n");
    } catch (const std::exception &) {
        // A read-only cache only costs the next process the measurement.
    }
}

} // namespace

const torch::jit::Module *Model::inferenceModule() const
{
    std::call_once(m_frozenOnce, [this] {
        // Candidates: frozen (parameters become constants, so conv + batch norm fold), and
        // frozen then optimised for inference (MKL-DNN layouts, fusions). A candidate is kept
        // only when it gives the same logits as the module on a probe image, and the fastest
        // is used only when it is faster than the module itself (optimised transformers can
        // be slower). The choice is cached per model file (choiceCachePath) with the module's
        // logits on the probe; a cached choice is built and checked against them again, never
        // trusted blindly.
        // A varied probe without touching the global random generator: two images for timing,
        // the first of them for the check.
        const int64_t n = 2LL * m_card.inputChannels * m_card.inputHeight * m_card.inputWidth;
        const auto probe =
            torch::arange(n, torch::kFloat32)
                .mul(0.37f)
                .sin()
                .view({2, m_card.inputChannels, m_card.inputHeight, m_card.inputWidth});
        const auto checkProbe = probe.narrow(0, 0, 1);
        const std::string cachePath = choiceCachePath(m_cacheKey);
        const CachedChoice cached = cachePath.empty() ? CachedChoice() : readChoice(cachePath);
        if (cached.choice == kModuleItself) {
            m_inferenceCopy = cached.choice + " (" + cached.report + "; measured before)";
            return;
        }
        auto build = [this](bool optimise) {
            // On a clone with methods of its own: freezing inlines the callees' optimised
            // graphs, and those the module cached while running plainly (PlainExecutionGuard)
            // are not inlined themselves. The freezing passes run with the graph optimiser on.
            torch::jit::GraphOptimizerEnabledGuard optimiser(true);
            torch::jit::Module candidate = torch::jit::freeze(m_module.clone());
            if (optimise)
                candidate = torch::jit::optimize_for_inference(candidate);
            return candidate;
        };
        auto run = [](torch::jit::Module &module, const torch::Tensor &input) {
            torch::InferenceMode inference;
            PlainExecutionGuard plain;
            return module.forward({input}).toTensor();
        };
        // The largest difference from the expected logits, or a huge number when the shapes
        // differ; the tolerance scales with the logits.
        auto withinTolerance = [&](torch::jit::Module &candidate, const torch::Tensor &expected,
                                   double *difference = nullptr) {
            const auto got = run(candidate, checkProbe);
            const double d = got.sizes() == expected.sizes()
                                 ? (got - expected).abs().max().item<double>()
                                 : 1e30;
            if (difference)
                *difference = d;
            return d <= 1e-4 * (1.0 + expected.abs().max().item<double>());
        };
        if ((cached.choice == kFrozen || cached.choice == kFrozenOptimised) &&
            !cached.probeLogits.empty()) {
            try {
                auto candidate = build(cached.choice == kFrozenOptimised);
                const auto expected =
                    torch::tensor(cached.probeLogits).view({1, -1}).to(torch::kFloat32);
                if (withinTolerance(candidate, expected)) {
                    m_frozen = std::make_unique<torch::jit::Module>(std::move(candidate));
                    m_inferenceCopy = cached.choice + " (" + cached.report + "; measured before)";
                    return;
                }
            } catch (const std::exception &) {
                // measured again below
            }
        }
        const torch::Tensor expected = run(m_module, checkProbe);
        double moduleSeconds = 0.0;
        {
            torch::InferenceMode inference;
            PlainExecutionGuard plain;
            moduleSeconds = timeForward(m_module, probe);
        }
        std::string report;
        double bestSeconds = moduleSeconds;
        for (const bool optimise : {false, true}) {
            const std::string name = optimise ? kFrozenOptimised : kFrozen;
            try {
                torch::jit::Module candidate = build(optimise);
                if (double d = 0.0; !withinTolerance(candidate, expected, &d)) {
                    report += "; " + name + ": logits differ by " + std::to_string(d);
                    continue;
                }
                double seconds = 0.0;
                {
                    torch::InferenceMode inference;
                    PlainExecutionGuard plain;
                    seconds = timeForward(candidate, probe);
                }
                char line[128];
                std::snprintf(line, sizeof line, "; %s: x%.2f", name.c_str(),
                              moduleSeconds / seconds);
                report += line;
                if (seconds < 0.95 * bestSeconds) {
                    bestSeconds = seconds;
                    m_frozen = std::make_unique<torch::jit::Module>(std::move(candidate));
                    m_inferenceCopy = name;
                }
            } catch (const std::exception &e) {
                report += "; " + name + ": " + firstLine(e);
            }
        }
        if (!m_frozen)
            m_inferenceCopy = kModuleItself;
        const std::string measured = "speed against the module on 2 images" + report;
        if (!cachePath.empty())
            writeChoice(cachePath, m_inferenceCopy, measured, expected);
        m_inferenceCopy += " (" + measured + ")";
    });
    return m_frozen.get();
}

std::string Model::inferenceCopyStatus() const
{
    inferenceModule();
    return m_inferenceCopy;
}

namespace {

constexpr const char *kFrozenChannelsLast = "frozen, channels-last input";

// Best of up to 3 timed forward + backward passes (input gradient only) after a warm-up, fewer
// once 0.2 s have been spent, in seconds.
double timeGradient(torch::jit::Module &module, const torch::Tensor &input, bool channelsLast)
{
    auto once = [&] {
        auto x = input.detach().clone().requires_grad_(true);
        auto fed = channelsLast ? x.contiguous(at::MemoryFormat::ChannelsLast) : x;
        auto score = module.forward({fed}).toTensor().select(1, 0).sum();
        torch::autograd::grad({score}, {x});
    };
    once();
    double best = 1e30, spent = 0.0;
    for (int i = 0; i < 3 && spent < 0.2; ++i) {
        const auto start = std::chrono::steady_clock::now();
        once();
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        best = std::min(best, seconds);
        spent += seconds;
    }
    return best;
}

// Whether freezing can fold anything for gradients: batch norms after convolutions (a ViT's
// frozen graph is no faster, measured, and timing its passes would cost seconds).
bool hasBatchNorm(const torch::jit::Module &module)
{
    for (const auto &sub : module.named_modules()) {
        const auto name = sub.value.type()->name();
        if (name && name->name().rfind("BatchNorm", 0) == 0)
            return true;
    }
    return false;
}

} // namespace

const torch::jit::Module *Model::gradientModule() const
{
    std::call_once(m_gradientOnce, [this] {
        // One candidate: frozen (conv + batch norm fold, so their backward passes go too) and
        // fed channels-last (oneDNN's convolutions skip two layout conversions per layer):
        // ResNet-18, 16 images forward + backward, 1.13 s -> 0.91 s here. It is kept only when
        // its logits and input gradients match the module's on a probe image (gradients within
        // 1% in L2), and used only when it is faster on 2 images; the choice is cached like the
        // inference copy's.
        if (m_card.inputChannels <= 0 || !hasBatchNorm(m_module)) {
            m_gradientCopyStatus = std::string(kModuleItself) + " (no batch norm to fold)";
            return;
        }
        const int64_t n = 2LL * m_card.inputChannels * m_card.inputHeight * m_card.inputWidth;
        const auto probe =
            torch::arange(n, torch::kFloat32)
                .mul(0.37f)
                .sin()
                .view({2, m_card.inputChannels, m_card.inputHeight, m_card.inputWidth});
        const auto checkProbe = probe.narrow(0, 0, 1);
        const std::string cachePath =
            m_cacheKey.empty() ? std::string()
                               : choiceCachePath(m_cacheKey + "|gradient copy, L2 check");
        const CachedChoice cached = cachePath.empty() ? CachedChoice() : readChoice(cachePath);
        if (cached.choice == kModuleItself) {
            m_gradientCopyStatus = cached.choice + " (" + cached.report + "; measured before)";
            return;
        }
        PlainExecutionGuard plain;
        auto build = [this] {
            torch::jit::GraphOptimizerEnabledGuard optimiser(true);
            return torch::jit::freeze(m_module.clone());
        };
        auto logitsOf = [](torch::jit::Module &module, const torch::Tensor &x, bool last) {
            torch::InferenceMode inference;
            return module.forward({last ? x.contiguous(at::MemoryFormat::ChannelsLast) : x})
                .toTensor()
                .contiguous();
        };
        auto close = [](const torch::Tensor &got, const torch::Tensor &expected, double rtol) {
            return got.sizes() == expected.sizes() &&
                   (got - expected).abs().max().item<double>() <=
                       rtol * (1e-6 + expected.abs().max().item<double>());
        };
        try {
            if (cached.choice == kFrozenChannelsLast && !cached.probeLogits.empty()) {
                auto candidate = build();
                const auto expected =
                    torch::tensor(cached.probeLogits).view({1, -1}).to(torch::kFloat32);
                if (close(logitsOf(candidate, checkProbe, true), expected, 1e-4)) {
                    m_gradientCopy = std::make_unique<torch::jit::Module>(std::move(candidate));
                    m_gradientCopyStatus =
                        cached.choice + " (" + cached.report + "; measured before)";
                    return;
                }
            }
            auto gradientOf = [](torch::jit::Module &module, const torch::Tensor &x, bool last) {
                auto input = x.detach().clone().requires_grad_(true);
                auto fed = last ? input.contiguous(at::MemoryFormat::ChannelsLast) : input;
                auto score = module.forward({fed}).toTensor().select(1, 0).sum();
                return torch::autograd::grad({score}, {input})[0];
            };
            const auto expected = logitsOf(m_module, checkProbe, false);
            auto candidate = build();
            std::string report;
            bool faster = false;
            // Gradients are compared by their relative L2 distance: a folded batch norm moves a
            // few pre-activations across a ReLU's kink or a max-pool tie, which changes single
            // pixels (ResNet-18: 0.8% of the largest value) but not the map (distance 8e-4).
            const auto got = gradientOf(candidate, checkProbe, true);
            const auto want = gradientOf(m_module, checkProbe, false);
            const bool sameGradients =
                got.sizes() == want.sizes() &&
                (got - want).norm().item<double>() <= 1e-2 * (1e-12 + want.norm().item<double>());
            if (!close(logitsOf(candidate, checkProbe, true), expected, 1e-4) || !sameGradients) {
                report = "the frozen copy's logits or gradients differ from the module's";
            } else {
                const double module = timeGradient(m_module, probe, false);
                const double copy = timeGradient(candidate, probe, true);
                char line[160];
                std::snprintf(line, sizeof line,
                              "forward + backward on 2 images against the module: x%.2f",
                              module / copy);
                report = line;
                faster = copy < 0.95 * module;
            }
            const std::string choice = faster ? kFrozenChannelsLast : kModuleItself;
            if (faster)
                m_gradientCopy = std::make_unique<torch::jit::Module>(std::move(candidate));
            if (!cachePath.empty())
                writeChoice(cachePath, choice, report, expected);
            m_gradientCopyStatus = choice + " (" + report + ")";
        } catch (const std::exception &e) {
            m_gradientCopy.reset();
            m_gradientCopyStatus = std::string(kModuleItself) + " (" + firstLine(e) + ")";
        }
    });
    return m_gradientCopy.get();
}

std::string Model::gradientCopyStatus() const
{
    gradientModule();
    return m_gradientCopyStatus;
}

torch::Tensor Model::forward(const torch::Tensor &input) const
{
    PlainExecutionGuard plain;
    if (input.dim() == 4 && input.size(0) > 1)
        if (const auto *copy = gradientModule())
            return const_cast<torch::jit::Module *>(copy)
                ->forward({input.contiguous(at::MemoryFormat::ChannelsLast)})
                .toTensor();
    return m_module.forward({input}).toTensor();
}

torch::Tensor Model::groupAttributions(const torch::Tensor &input) const
{
    if (m_card.groupMethod.empty())
        throw std::runtime_error(m_path + ": not a feature-group model");
    torch::InferenceMode inference;
    PlainExecutionGuard plain;
    return m_module.get_method(m_card.groupMethod)({input}).toTensor();
}

std::vector<LayerInfo> Model::layers() const
{
    std::vector<LayerInfo> layers;
    for (const auto &sub : m_module.named_modules()) {
        if (sub.name.empty())
            continue;
        LayerInfo info;
        info.path = sub.name;
        info.type = sub.value.type()->name() ? sub.value.type()->name()->name() : "Module";
        info.depth = int(std::count(sub.name.begin(), sub.name.end(), '.'));
        info.isLeaf = sub.value.children().size() == 0;
        layers.push_back(info);
    }
    return layers;
}

bool Model::hasLayer(const std::string &path) const
{
    if (path.empty())
        return false; // the root is the model, not a layer
    for (const auto &sub : m_module.named_modules())
        if (sub.name == path)
            return true;
    return false;
}

std::string Model::defaultCamLayer() const
{
    return m_defaultCamLayer;
}

std::string Model::findLastSpatialLayer() const
{
    std::string best;
    try {
        auto candidates = LayerTap::tappableLayers(m_module);
        LayerTap tap(m_module, candidates);
        torch::NoGradGuard noGrad;
        auto out = tap.run(blackInput(m_card));
        // The last spatial output in execution order; candidates are sorted so that the
        // shallowest module producing a value comes first.
        const torch::Tensor *last = nullptr;
        for (size_t i = 0; i < candidates.size(); ++i) {
            const auto &t = out.taps[i];
            const bool spatial =
                (t.dim() == 4 && t.size(2) * t.size(3) > 1) || (t.dim() == 3 && t.size(1) > 1);
            if (spatial && (!last || !t.is_same(*last))) {
                best = candidates[i];
                last = &out.taps[i];
            }
        }
    } catch (const std::exception &) {
        return {};
    }
    return best;
}

} // namespace heatlens

namespace heatlens {

std::shared_ptr<const LayerTap> Model::layerTap(const std::vector<std::string> &paths) const
{
    return layerTap(paths, ReluRule::Plain);
}

std::shared_ptr<const LayerTap> Model::layerTap(const std::vector<std::string> &paths,
                                                ReluRule rule) const
{
    std::lock_guard lock(m_tapMutex);
    const auto key = std::make_pair(paths, int(rule));
    auto &tap = m_taps[key];
    if (!tap) {
        try {
            tap = std::make_shared<const LayerTap>(m_module, paths, rule);
        } catch (...) {
            m_taps.erase(key);
            throw;
        }
    }
    return tap;
}

std::vector<std::string> Model::attentionLayers() const
{
    std::call_once(m_attentionOnce, [this] {
        m_attentionLayers =
            m_card.attention.empty() ? LayerTap::attentionLayers(m_module) : m_card.attention;
    });
    return m_attentionLayers;
}

} // namespace heatlens
