// Times each attribution method on the demo CNN and ViT, ResNet-18 and ViT-B/16 (224x224), and
// prints, measured in
// one run: seconds, images passed forward/backward, and overhead = time / (passes x time of one
// forward+backward pass per image at the same batch size). Ratios, not absolute times, are what
// to compare across machines.

#include "core/explain/MethodRegistry.h"
#include "core/model/Model.h"
#include "core/model/Zoo.h"
#include "tests/bench/BenchTiming.h"

#include "core/model/TorchRuntime.h"

#include <torch/csrc/autograd/autograd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>

using namespace heatlens;

namespace {

using bench::seconds;

// Seconds per image of one forward + backward to the input at batch size `batch` (negative
// batch: one inference-mode forward pass, the unit of forward-only methods).
double passPerImage(const Model &model, int batch, int repeat)
{
    const auto &c = model.card();
    const int n = std::abs(batch);
    auto input = torch::randn({n, c.inputChannels, c.inputHeight, c.inputWidth});
    if (batch < 0)
        return seconds([&] { model.predict(input); }, repeat) / n;
    return seconds(
               [&] {
                   auto x = input.clone().requires_grad_(true);
                   auto score = model.forward(x).select(1, 0).sum();
                   torch::autograd::grad({score}, {x});
               },
               repeat) /
           n;
}

struct Case
{
    std::string method;
    std::map<std::string, std::string> params;
    int batch; // batch size of the method's passes; negative: forward-only passes
};

// Every registered method; `large` models (224 inputs) get settings a user would pick there.
std::vector<Case> casesFor(bool large)
{
    const std::string masks = large ? "500" : "2000", samples = large ? "200" : "500";
    const int b = large ? 8 : 16;
    const std::string batch = std::to_string(b);
    return {{"saliency", {}, 1},
            {"input-x-gradient", {}, 1},
            {"integrated-gradients", {{"steps", large ? "16" : "50"}, {"batch", batch}}, b},
            {"smoothgrad", {{"samples", large ? "8" : "20"}, {"batch", batch}}, b},
            {"gradient-shap", {{"samples", large ? "16" : "64"}, {"batch", batch}}, b},
            {"guided-backprop", {}, 1},
            {"deconvnet", {}, 1},
            {"guided-grad-cam", {}, 1},
            {"grad-cam", {}, 1},
            {"grad-cam-plus-plus", {}, 1},
            {"hirescam", {}, 1},
            {"xgrad-cam", {}, 1},
            {"layercam", {}, 1},
            {"eigen-cam", {}, 1},
            {"score-cam", {{"batch", "32"}}, -32},
            {"ablation-cam", {{"batch", "32"}}, -32},
            {"occlusion", {{"batch", "32"}}, -32},
            {"feature-ablation", {{"batch", "32"}}, -32},
            {"rise", {{"masks", masks}, {"batch", "32"}}, -32},
            {"lime", {{"samples", samples}, {"batch", "32"}}, -32},
            {"kernel-shap", {{"samples", samples}, {"batch", "32"}}, -32},
            {"raw-attention", {}, -1},
            {"attention-rollout", {}, -1},
            {"attention-relevance", {}, 1}};
}

// Seconds per image of a forward pass at batch 32 on the module itself (inference mode) and
// through predict() (the frozen, inference-optimised copy when it is used).
void benchInferenceCopy(const std::string &label, const Model &model, int repeat)
{
    const auto &c = model.card();
    auto input = torch::randn({32, c.inputChannels, c.inputHeight, c.inputWidth});
    const double plain = seconds(
                             [&] {
                                 torch::InferenceMode inference;
                                 PlainExecutionGuard guard;
                                 const_cast<torch::jit::Module &>(model.module()).forward({input});
                             },
                             repeat) /
                         32;
    const double copy = seconds([&] { model.predict(input); }, repeat) / 32;
    std::printf("%-10s inference copy: %s\n%-10s forward/image at batch 32: module %.5f s, "
                "predict() %.5f s (x%.2f)\n",
                label.c_str(), model.inferenceCopyStatus().c_str(), label.c_str(), plain, copy,
                plain / copy);
}

// `skip`: methods not timed on this model (with the reason printed).
void benchModel(const std::string &label, const ModelPtr &model, int repeat, bool large,
                const std::map<std::string, std::string> &skip = {})
{
    benchInferenceCopy(label, *model, repeat);
    const auto cases = casesFor(large);
    const auto &c = model->card();
    torch::manual_seed(0);
    auto input = torch::randn({1, c.inputChannels, c.inputHeight, c.inputWidth});
    auto references = torch::randn({16, c.inputChannels, c.inputHeight, c.inputWidth});
    std::map<int, double> pass;
    for (const auto &k : cases)
        if (!pass.count(k.batch))
            pass[k.batch] = passPerImage(*model, k.batch, repeat);
    for (const auto &k : cases) {
        const Method &method = MethodRegistry::instance().get(k.method);
        if (!method.whyNotApplicable(*model).empty())
            continue;
        if (auto it = skip.find(k.method); it != skip.end()) {
            std::printf("%-10s %-22s not timed: %s\n", label.c_str(), k.method.c_str(),
                        it->second.c_str());
            continue;
        }
        ExplainRequest request{model, input, 0,
                               resolveParams(method.params(), k.params, method.id()), references};
        Explanation e;
        const double t = seconds([&] { e = method.explain(request, JobContext()); }, repeat);
        const int passes = std::max(e.forwardPasses, e.backwardPasses);
        std::printf("%-10s %-22s %9.4f %6d %6d %8.3f\n", label.c_str(), k.method.c_str(), t,
                    e.forwardPasses, e.backwardPasses, t / (passes * pass[k.batch]));
        std::fflush(stdout);
    }
}

} // namespace

int main(int argc, char **argv)
{
    heatlens::bench::runLikeThePrograms(argv);
    const int repeat = argc > 2 && std::string(argv[1]) == "--repeat" ? std::stoi(argv[2]) : 3;
    std::printf("%-10s %-22s %9s %6s %6s %8s\n", "model", "method", "seconds", "fwd", "bwd",
                "overhead");
    for (const char *demo : {"demo-cnn", "demo-vit"})
        if (std::filesystem::exists(demoModelPath(demo)))
            benchModel(demo, Model::load(demoModelPath(demo)), repeat, false);
    const std::string fixtures = HEATLENS_FIXTURES_DIR;
    const std::string resnet = fixtures + "/resnet18_traced.pt";
    if (std::filesystem::exists(resnet))
        benchModel("resnet18", Model::load(resnet), repeat, true);
    else
        std::printf("(no %s: run ctest once to make the fixtures)\n", resnet.c_str());
    const std::string vit = fixtures + "/vit_b_16_traced.pt";
    if (std::filesystem::exists(vit)) {
        // ~0.5 s per forward pass: one timed run after the warm-up, and the per-channel CAMs
        // (768 channels = 768 forward passes) left out.
        const std::string channels = "768 channels = 768 forward passes";
        benchModel("vit-b-16", Model::load(vit), 1, true,
                   {{"score-cam", channels}, {"ablation-cam", channels}});
    } else {
        std::printf("(no %s: make it with python3 tests/fixtures/make_fixtures.py %s --bench)\n",
                    vit.c_str(), fixtures.c_str());
    }
    return 0;
}
