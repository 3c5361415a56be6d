// Times each attribution method on the demo CNN and ResNet-18 (224x224) and prints, measured in
// one run: seconds, images passed forward/backward, and overhead = time / (passes x time of one
// forward+backward pass per image at the same batch size). Ratios, not absolute times, are what
// to compare across machines.

#include "core/explain/MethodRegistry.h"
#include "core/model/Model.h"
#include "core/model/Zoo.h"

#include "core/model/TorchRuntime.h"

#include <torch/csrc/autograd/autograd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>

using namespace heatlens;

namespace {

double seconds(const std::function<void()> &fn, int repeat)
{
    fn(); // warm-up
    double best = 1e30;
    for (int i = 0; i < repeat; ++i) {
        auto start = std::chrono::steady_clock::now();
        fn();
        best = std::min(
            best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return best;
}

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

void benchModel(const std::string &label, const ModelPtr &model, int repeat)
{
    const std::vector<Case> cases{{"saliency", {}, 1},
                                  {"input-x-gradient", {}, 1},
                                  {"integrated-gradients", {{"steps", "50"}}, 16},
                                  {"smoothgrad", {{"samples", "20"}, {"batch", "16"}}, 16},
                                  {"grad-cam", {}, 1},
                                  {"hirescam", {}, 1},
                                  {"eigen-cam", {}, 1},
                                  {"occlusion", {{"batch", "32"}}, -32}};
    const auto &c = model->card();
    auto input = torch::randn({1, c.inputChannels, c.inputHeight, c.inputWidth});
    std::map<int, double> pass;
    for (const auto &k : cases)
        if (!pass.count(k.batch))
            pass[k.batch] = passPerImage(*model, k.batch, repeat);
    for (const auto &k : cases) {
        const Method &method = MethodRegistry::instance().get(k.method);
        ExplainRequest request{model, input, 0,
                               resolveParams(method.params(), k.params, method.id())};
        Explanation e;
        const double t = seconds([&] { e = method.explain(request, JobContext()); }, repeat);
        const int passes = std::max(e.forwardPasses, e.backwardPasses);
        std::printf("%-10s %-22s %9.4f %6d %6d %8.3f\n", label.c_str(), k.method.c_str(), t,
                    e.forwardPasses, e.backwardPasses, t / (passes * pass[k.batch]));
    }
}

} // namespace

int main(int argc, char **argv)
{
    heatlens::configureProcessForTensors();
    const int repeat = argc > 2 && std::string(argv[1]) == "--repeat" ? std::stoi(argv[2]) : 3;
    std::printf("%-10s %-22s %9s %6s %6s %8s\n", "model", "method", "seconds", "fwd", "bwd",
                "overhead");
    if (std::filesystem::exists(demoModelPath("demo-cnn")))
        benchModel("demo-cnn", Model::load(demoModelPath("demo-cnn")), repeat);
    const std::string resnet = std::string(HEATLENS_FIXTURES_DIR) + "/resnet18_traced.pt";
    if (std::filesystem::exists(resnet)) {
        benchModel("resnet18", Model::load(resnet), repeat);
    } else {
        std::printf("(no %s: run ctest once to make the fixtures)\n", resnet.c_str());
    }
    return 0;
}
