// Times deletion/insertion curves (100 steps, 101 points), ROAD (9 imputed points, MoRF) and the
// accuracy-drop probe (10 fractions) on the demo CNN, the demo ViT and ResNet-18 (224x224), and
// prints ratios measured in one run:
//   vs batch 1   curve time / (points x one forward pass at batch size 1): what batching buys
//                (issue 5 target for curves: <= 0.5)
//   overhead     curve time / (points x one forward pass per image at the curve's batch size):
//                what building the perturbed images costs on top of the forward passes
// Ratios, not absolute times, are what to compare across machines.

#include "core/explain/RandomControl.h"
#include "core/metrics/Faithfulness.h"
#include "core/metrics/Removal.h"
#include "core/model/Model.h"
#include "core/model/TorchRuntime.h"
#include "core/model/Zoo.h"
#include "tests/bench/BenchTiming.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>

using namespace heatlens;

namespace {

using bench::seconds;

double forwardPerImage(const Model &model, int batch, int repeat)
{
    const auto &c = model.card();
    const auto input = torch::randn({batch, c.inputChannels, c.inputHeight, c.inputWidth});
    return seconds([&] { model.predict(input); }, repeat) / batch;
}

void benchModel(const std::string &name, const ModelPtr &model, int repeat)
{
    const auto &c = model->card();
    torch::manual_seed(0);
    const auto input = torch::rand({1, c.inputChannels, c.inputHeight, c.inputWidth});
    const cv::Mat map = randomMap(c.inputHeight, c.inputWidth, 1);
    const double single = forwardPerImage(*model, 1, repeat);
    std::printf("\n%s (%dx%d): one forward %.3f ms at batch 1; %s\n", name.c_str(), c.inputWidth,
                c.inputHeight, single * 1e3, model->inferenceCopyStatus().c_str());
    std::printf("%-34s %10s %8s %10s %10s\n", "curve", "seconds", "points", "vs batch 1",
                "overhead");
    for (int batch : {1, 8, 32, 101}) {
        const double unit = forwardPerImage(*model, batch, repeat);
        for (const char *mode : {"deletion", "insertion"}) {
            CurveOptions o;
            o.mode = mode;
            o.batch = batch;
            const double t =
                seconds([&] { perturbationCurve(*model, input, 0, map, o, JobContext{}); }, repeat);
            const std::string label =
                std::string(mode) + " 100 steps, batch " + std::to_string(batch);
            std::printf("%-34s %10.4f %8d %10.3f %10.3f\n", label.c_str(), t, 101,
                        t / (101 * single), t / (101 * unit));
        }
    }
    RoadOptions road;
    const double unit = forwardPerImage(*model, int(road.fractions.size()), repeat);
    const double t = seconds([&] { roadCurve(*model, input, 0, map, road, JobContext{}); }, repeat);
    std::printf("%-34s %10.4f %8d %10.3f %10.3f\n", "ROAD MoRF, 9 fractions", t, 9,
                t / (9 * single), t / (9 * unit));
    const std::vector<double> fractions = {0, .1, .2, .3, .4, .5, .6, .7, .8, .9};
    const double unit10 = forwardPerImage(*model, 10, repeat);
    const double a = seconds([&] { maskedPredictions(*model, input, map, fractions, 0); }, repeat);
    std::printf("%-34s %10.4f %8d %10.3f %10.3f\n", "accuracy drop, 10 fractions", a, 10,
                a / (10 * single), a / (10 * unit10));
}

} // namespace

int main(int argc, char **argv)
{
    bench::runLikeThePrograms(argv);
    int repeat = 3;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::string(argv[i]) == "--repeat")
            repeat = std::max(1, std::stoi(argv[i + 1]));
    for (const std::string demo : {"demo-cnn", "demo-vit"})
        if (std::filesystem::exists(demoModelPath(demo)))
            benchModel(demo, Model::load(demoModelPath(demo)), repeat);
    const std::string resnet = std::string(HEATLENS_FIXTURES_DIR) + "/resnet18_traced.pt";
    if (std::filesystem::exists(resnet))
        benchModel("resnet18", Model::load(resnet), repeat);
    else
        std::printf("(no %s: run ctest once to make the fixtures)\n", resnet.c_str());
    return 0;
}
