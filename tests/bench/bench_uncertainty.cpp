// Times explanation uncertainty and prints ratios measured in one run:
//   batched vs looped   T samples of a one-pass method (Saliency, Grad-CAM, Guided Backprop)
//                       under MC dropout as T rows of one batch, against one sample at a time
//                       (issue 15's target: >= 5x at T = 32)
//   per source          seconds per sample of Saliency and of Integrated Gradients (50 steps)
//                       under every source the demo zoo can feed (the CNN for dropout,
//                       DropConnect, TTA and noise; its ensemble; its Flipout twin), and the
//                       same method without uncertainty, so that "x plain" is the cost of one
//                       sample in explanations
// on the demo CNN (28 x 28) and, when the fixtures exist, ResNet-18 (224 x 224, no dropout:
// DropConnect and TTA only). Ratios, not absolute times, are what to compare across machines.
//   build/tests/bench/bench_uncertainty [--repeat N] [--samples T]

#include "core/explain/MethodRegistry.h"
#include "core/model/Model.h"
#include "core/model/Zoo.h"
#include "core/uncertainty/Uncertainty.h"
#include "tests/bench/BenchTiming.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

using namespace heatlens;

namespace {

using bench::seconds;

UncertaintyRequest requestFor(const ModelPtr &model, const std::string &method,
                              const std::string &source, int samples)
{
    const auto &c = model->card();
    torch::manual_seed(0);
    UncertaintyRequest r;
    r.model = model;
    r.input = torch::rand({1, c.inputChannels, c.inputHeight, c.inputWidth});
    r.methodId = method;
    r.sourceId = source;
    r.options.maxSamples = samples;
    r.options.targetError = 0.0;
    r.options.keepMaps = 0;
    r.options.minSamples = 2;
    return r;
}

void batchedVersusLooped(const std::string &name, const ModelPtr &model, int samples, int repeat)
{
    std::printf("\n%s: %d samples under MC dropout\n", name.c_str(), samples);
    std::printf("%-18s %12s %12s %10s\n", "method", "batched s", "looped s", "ratio");
    for (const char *method : {"saliency", "grad-cam", "guided-backprop"}) {
        auto r = requestFor(model, method, "mc-dropout", samples);
        r.options.batchRows = samples;
        const double batched = seconds([&] { explainUncertainty(r, {}); }, repeat);
        r.options.batchRows = 1;
        const double looped = seconds([&] { explainUncertainty(r, {}); }, repeat);
        std::printf("%-18s %12.4f %12.4f %9.1fx\n", method, batched, looped, looped / batched);
    }
}

void perSource(const std::string &name, const ModelPtr &model,
               const std::vector<std::pair<std::string, ModelPtr>> &sources,
               const std::vector<std::string> &methods, int samples, int repeat)
{
    std::printf("\n%s: seconds per sample (T = %d)\n", name.c_str(), samples);
    std::printf("%-22s %-12s %12s %12s\n", "method", "source", "s / sample", "x plain");
    for (const auto &method : methods) {
        const Method &m = MethodRegistry::instance().get(method);
        ExplainRequest plain;
        plain.model = model;
        plain.input = requestFor(model, method, "noise", 2).input;
        plain.params = completeParams(m.params(), {}, method);
        plain.target = 0;
        const double once = seconds([&] { m.explain(plain, {}); }, repeat);
        std::printf("%-22s %-12s %12.5f %12s\n", method.c_str(), "(none)", once, "1.0");
        for (const auto &[source, sampled] : sources) {
            auto r = requestFor(sampled, method, source, samples);
            int reached = samples;
            const double s = seconds([&] { reached = explainUncertainty(r, {}).samples; }, repeat);
            std::printf("%-22s %-12s %12.5f %11.1fx\n", method.c_str(), source.c_str(), s / reached,
                        s / reached / once);
        }
    }
}

} // namespace

int main(int argc, char **argv)
{
    bench::runLikeThePrograms(argv);
    int repeat = 3, samples = 32;
    for (int i = 1; i + 1 < argc; ++i) {
        if (!std::strcmp(argv[i], "--repeat"))
            repeat = std::atoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--samples"))
            samples = std::atoi(argv[i + 1]);
    }
    const auto cnn = Model::load(demoModelPath("demo-cnn"));
    batchedVersusLooped("demo CNN", cnn, samples, repeat);
    std::vector<std::pair<std::string, ModelPtr>> sources = {
        {"mc-dropout", cnn}, {"dropconnect", cnn}, {"tta", cnn}, {"noise", cnn}};
    if (std::filesystem::exists(demoModelPath("demo-cnn-ensemble")))
        sources.push_back({"ensemble", Model::load(demoModelPath("demo-cnn-ensemble"))});
    if (std::filesystem::exists(demoModelPath("demo-cnn-flipout")))
        sources.push_back({"flipout", Model::load(demoModelPath("demo-cnn-flipout"))});
    perSource("demo CNN", cnn, sources, {"saliency", "integrated-gradients"}, 16, repeat);
    const std::string resnet = std::string(HEATLENS_FIXTURES_DIR) + "/resnet18_traced.pt";
    if (std::filesystem::exists(resnet)) {
        const auto model = Model::load(resnet);
        perSource("ResNet-18", model, {{"dropconnect", model}, {"tta", model}, {"noise", model}},
                  {"saliency"}, 8, 1);
    }
    return 0;
}
