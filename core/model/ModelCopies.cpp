// The copies of a model's module that Model runs instead of the module itself when they give the
// same answers faster: the inference copy (predict: frozen, or frozen and optimised for
// inference) and the gradient copy (batches of forward: frozen, fed channels-last input). Each
// is measured once per model file, LibTorch version and thread count, and the choice is cached.
#include "core/model/Model.h"

#include "core/io/AtomicFile.h"
#include "core/io/CacheDirectory.h"
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

namespace heatlens {

namespace {

namespace fs = std::filesystem;

// The first line of an exception's message (LibTorch appends whole stack traces).
std::string firstLine(const std::exception &e)
{
    const std::string what = e.what();
    return what.substr(0, what.find('\n'));
}

// Best of up to `runs` timed calls of `once` after a warm-up call, fewer once `budget` seconds
// have been spent (a ViT-B/16 pass takes longer than the inference copy's 50 ms), in seconds.
double bestTime(const std::function<void()> &once, int runs, double budget)
{
    once();
    double best = 1e30, spent = 0.0;
    for (int i = 0; i < runs && spent < budget; ++i) {
        const auto start = std::chrono::steady_clock::now();
        once();
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        best = std::min(best, seconds);
        spent += seconds;
    }
    return best;
}

// A varied probe without touching the global random generator: two images for timing, the
// first of them for the checks.
torch::Tensor probeImages(const ModelCard &card)
{
    const int64_t n = 2LL * card.inputChannels * card.inputHeight * card.inputWidth;
    return torch::arange(n, torch::kFloat32)
        .mul(0.37f)
        .sin()
        .view({2, card.inputChannels, card.inputHeight, card.inputWidth});
}

// A frozen clone of `module` (parameters become constants, so conv + batch norm fold),
// optionally optimised for inference (MKL-DNN layouts, fusions). On a clone with methods of its
// own: freezing inlines the callees' optimised graphs, and those the module cached while running
// plainly (PlainExecutionGuard) are not inlined themselves. The freezing passes run with the
// graph optimiser on.
torch::jit::Module frozenClone(const torch::jit::Module &module, bool optimise)
{
    torch::jit::GraphOptimizerEnabledGuard optimiser(true);
    torch::jit::Module candidate = torch::jit::freeze(module.clone());
    if (optimise)
        candidate = torch::jit::optimize_for_inference(candidate);
    return candidate;
}

torch::Tensor logitsOf(torch::jit::Module &module, const torch::Tensor &input)
{
    torch::InferenceMode inference;
    PlainExecutionGuard plain;
    return module.forward({input}).toTensor().contiguous();
}

// Whether `got` are the `expected` logits: same shape, largest difference (also returned in
// `difference`, huge when the shapes differ) within a tolerance that scales with the logits.
bool sameLogits(const torch::Tensor &got, const torch::Tensor &expected,
                double *difference = nullptr)
{
    const double d =
        got.sizes() == expected.sizes() ? (got - expected).abs().max().item<double>() : 1e30;
    if (difference)
        *difference = d;
    return d <= 1e-4 * (1.0 + expected.abs().max().item<double>());
}

constexpr const char *kModuleItself = "the module itself";
constexpr const char *kFrozen = "frozen";
constexpr const char *kFrozenOptimised = "frozen + optimised for inference";
constexpr const char *kFrozenChannelsLast = "frozen, channels-last input";

// Where a copy choice for one model file, LibTorch version and thread count is kept (the choice
// is measured once, then reused by every process: a one-shot CLI run does not pay for timing,
// and every process of an evaluation uses the same copy, so its logits agree).
std::string choiceCachePath(const std::string &cacheKey)
{
    if (cacheKey.empty() || cacheKey.rfind("memory:", 0) == 0 ||
        std::getenv("HEATLENS_NO_CHOICE_CACHE"))
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

    torch::Tensor expectedLogits() const
    {
        return torch::tensor(probeLogits).view({1, -1}).to(torch::kFloat32);
    }
};

CachedChoice readChoice(const std::string &path)
{
    CachedChoice cached;
    if (path.empty())
        return cached;
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
    if (path.empty())
        return;
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

torch::Tensor channelsLast(const torch::Tensor &x)
{
    return x.contiguous(at::MemoryFormat::ChannelsLast);
}

// The input gradient of the first logit summed over the batch; `last`: fed channels-last.
torch::Tensor inputGradient(torch::jit::Module &module, const torch::Tensor &x, bool last)
{
    auto input = x.detach().clone().requires_grad_(true);
    auto score = module.forward({last ? channelsLast(input) : input}).toTensor().select(1, 0).sum();
    return torch::autograd::grad({score}, {input})[0];
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

const torch::jit::Module *Model::inferenceModule() const
{
    std::call_once(m_frozenOnce, [this] {
        if (m_variant) {
            m_inferenceCopy = std::string(kModuleItself) + " (a private copy whose state changes)";
            return;
        }
        // Candidates: frozen, and frozen then optimised for inference (frozenClone). A
        // candidate is kept only when it gives the same logits as the module on a probe image,
        // and the fastest is used only when it is faster than the module itself (optimised
        // transformers can be slower). The choice is cached per model file (choiceCachePath)
        // with the module's logits on the probe; a cached choice is built and checked against
        // them again, never trusted blindly.
        const auto probe = probeImages(m_card);
        const auto checkProbe = probe.narrow(0, 0, 1);
        const std::string cachePath = choiceCachePath(m_cacheKey);
        const CachedChoice cached = readChoice(cachePath);
        if (cached.choice == kModuleItself) {
            m_inferenceCopy = cached.choice + " (" + cached.report + "; measured before)";
            return;
        }
        if ((cached.choice == kFrozen || cached.choice == kFrozenOptimised) &&
            !cached.probeLogits.empty()) {
            try {
                auto candidate = frozenClone(m_module, cached.choice == kFrozenOptimised);
                if (sameLogits(logitsOf(candidate, checkProbe), cached.expectedLogits())) {
                    m_frozen = std::make_unique<torch::jit::Module>(std::move(candidate));
                    m_inferenceCopy = cached.choice + " (" + cached.report + "; measured before)";
                    return;
                }
            } catch (const std::exception &) {
                // measured again below
            }
        }
        const torch::Tensor expected = logitsOf(m_module, checkProbe);
        auto timeForward = [&probe](torch::jit::Module &module) {
            torch::InferenceMode inference;
            PlainExecutionGuard plain;
            return bestTime([&] { module.forward({probe}); }, 5, 0.05);
        };
        const double moduleSeconds = timeForward(m_module);
        std::string report;
        double bestSeconds = moduleSeconds;
        for (const bool optimise : {false, true}) {
            const std::string name = optimise ? kFrozenOptimised : kFrozen;
            try {
                torch::jit::Module candidate = frozenClone(m_module, optimise);
                if (double d = 0.0; !sameLogits(logitsOf(candidate, checkProbe), expected, &d)) {
                    report += "; " + name + ": logits differ by " + std::to_string(d);
                    continue;
                }
                const double seconds = timeForward(candidate);
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

const torch::jit::Module *Model::gradientModule() const
{
    std::call_once(m_gradientOnce, [this] {
        // One candidate: frozen (conv + batch norm fold, so their backward passes go too) and
        // fed channels-last (oneDNN's convolutions skip two layout conversions per layer):
        // ResNet-18, 16 images forward + backward, 1.13 s -> 0.91 s here. It is kept only when
        // its logits and input gradients match the module's on a probe image (gradients within
        // 1% in L2), and used only when it is faster on 2 images; the choice is cached like the
        // inference copy's.
        if (m_variant) {
            m_gradientCopyStatus =
                std::string(kModuleItself) + " (a private copy whose state changes)";
            return;
        }
        if (m_card.inputChannels <= 0 || !hasBatchNorm(m_module)) {
            m_gradientCopyStatus = std::string(kModuleItself) + " (no batch norm to fold)";
            return;
        }
        const auto probe = probeImages(m_card);
        const auto checkProbe = probe.narrow(0, 0, 1);
        const std::string cachePath = choiceCachePath(m_cacheKey + "|gradient copy, L2 check");
        const CachedChoice cached = readChoice(cachePath);
        if (cached.choice == kModuleItself) {
            m_gradientCopyStatus = cached.choice + " (" + cached.report + "; measured before)";
            return;
        }
        PlainExecutionGuard plain;
        try {
            if (cached.choice == kFrozenChannelsLast && !cached.probeLogits.empty()) {
                auto candidate = frozenClone(m_module, false);
                if (sameLogits(logitsOf(candidate, channelsLast(checkProbe)),
                               cached.expectedLogits())) {
                    m_gradientCopy = std::make_unique<torch::jit::Module>(std::move(candidate));
                    m_gradientCopyStatus =
                        cached.choice + " (" + cached.report + "; measured before)";
                    return;
                }
            }
            const auto expected = logitsOf(m_module, checkProbe);
            auto candidate = frozenClone(m_module, false);
            std::string report;
            bool faster = false;
            // Gradients are compared by their relative L2 distance: a folded batch norm moves a
            // few pre-activations across a ReLU's kink or a max-pool tie, which changes single
            // pixels (ResNet-18: 0.8% of the largest value) but not the map (distance 8e-4).
            const auto got = inputGradient(candidate, checkProbe, true);
            const auto want = inputGradient(m_module, checkProbe, false);
            const bool sameGradients =
                got.sizes() == want.sizes() &&
                (got - want).norm().item<double>() <= 1e-2 * (1e-12 + want.norm().item<double>());
            if (!sameLogits(logitsOf(candidate, channelsLast(checkProbe)), expected) ||
                !sameGradients) {
                report = "the frozen copy's logits or gradients differ from the module's";
            } else {
                auto timeGradient = [&probe](torch::jit::Module &module, bool last) {
                    return bestTime([&] { inputGradient(module, probe, last); }, 3, 0.2);
                };
                const double module = timeGradient(m_module, false);
                const double copy = timeGradient(candidate, true);
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

} // namespace heatlens
