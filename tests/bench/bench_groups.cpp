// Times feature groups and interactions and prints ratios measured in one run:
//   exact game at p = 16   every coalition of a 4 x 4 grid on the demo CNN (65,536 model calls),
//                          against the bare forward passes of as many images in the same batches:
//                          the overhead of building masked inputs and caching logits (issue 16's
//                          target: <= 1.15; about 10 s on 2 cores)
//   superpixels            each grouping at 224 x 224 (target: <= 35 ms) and 28 x 28
//   build/tests/bench/bench_groups [--repeat N] [--batch B]
#include "core/groups/CoalitionGame.h"
#include "core/model/InputImage.h"
#include "core/model/Zoo.h"
#include "tests/bench/BenchTiming.h"

#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <cstring>

using namespace heatlens;

namespace {

cv::Mat scene(int side)
{
    cv::Mat image(side, side, CV_8UC3);
    cv::RNG rng(3);
    rng.fill(image, cv::RNG::UNIFORM, 0, 40);
    cv::circle(image, {side / 3, side / 3}, side / 6, cv::Scalar(220, 40, 40), -1);
    cv::rectangle(image, {side / 2, side / 2}, {side * 9 / 10, side * 8 / 10},
                  cv::Scalar(30, 200, 60), -1);
    return image;
}

} // namespace

int main(int argc, char **argv)
{
    bench::runLikeThePrograms(argv);
    int repeat = 3, batch = 4096;
    for (int i = 1; i + 1 < argc; ++i) {
        if (!std::strcmp(argv[i], "--repeat"))
            repeat = std::atoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--batch"))
            batch = std::atoi(argv[i + 1]);
    }
    const auto cnn = Model::load(demoModelPath("demo-cnn"));
    torch::manual_seed(0);
    const auto input = torch::rand({1, 1, 28, 28});
    const Grouping grid = gridGrouping({28, 28}, 4, 4);
    // Warm up first (the inference copy is built and TorchScript profiles its first runs), so
    // both timings below are of steady-state passes, as in a session that explained the image.
    const auto images = input.expand({batch, -1, -1, -1}).contiguous();
    for (int i = 0; i < 3; ++i)
        cnn->predict(images);
    double exact = 0.0;
    const double game = bench::seconds(
        [&] {
            CoalitionGame g(cnn, input, grid, {}, batch);
            g.exactGame(0);
            exact = g.secondsPerCall();
        },
        repeat);
    const double forward =
        bench::seconds([&] { cnn->predict(images); }, repeat) * double(1 << 16) / batch;
    std::printf("\nexact game, demo CNN, 4 x 4 grid (65,536 calls, batch %d)\n", batch);
    std::printf("%-34s %10.3f s\n", "all coalitions (masks + forward)", game);
    std::printf("%-34s %10.3f s\n", "bare forward passes, same batches", forward);
    std::printf("%-34s %10.2f\n", "overhead ratio", game / forward);
    std::printf("%-34s %10.0f\n", "calls per second", double(1 << 16) / game);
    std::printf("%-34s %10.0f\n", "(the game's own ETA rate)", 1.0 / std::max(1e-12, exact));

    std::printf("\nsuperpixels (best of %d)\n%-14s %8s %8s %10s %10s\n", repeat, "method", "asked",
                "got 224", "ms 224", "ms 28");
    for (const char *method : {"slic", "slico", "seeds", "lsc", "felzenszwalb", "scansegment"}) {
        GroupingOptions o;
        o.method = method;
        o.groups = 49;
        const cv::Mat big = scene(224);
        int got = 0;
        const double large = bench::seconds([&] { got = makeGrouping(big, o).count; }, repeat);
        GroupingOptions small = o;
        small.groups = 16;
        const cv::Mat tiny = scene(28);
        const double little = bench::seconds([&] { makeGrouping(tiny, small); }, repeat);
        std::printf("%-14s %8d %8d %10.1f %10.1f\n", method, o.groups, got, large * 1e3,
                    little * 1e3);
    }
    return 0;
}
