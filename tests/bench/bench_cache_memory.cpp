// The viewer's result cache under large photos: opens a folder of 20 large photos (made from the
// photos Debian ships, upscaled to --megapixels), explains each with the Explain tab's document
// (Session, no window) as arrowing through the folder does, and prints after every image the
// resident size of the process, the bytes the cache holds (its estimate), and the bytes it
// would hold without a bound. The cache's bound is --cache-mb (default: the viewer's, 512).
//
//   QT_QPA_PLATFORM=offscreen build/tests/bench/bench_cache_memory [--images 20]
//       [--megapixels 12] [--cache-mb 512] [--method saliency]
#include "core/jobs/ResultCache.h"
#include "core/model/Zoo.h"
#include "ui/JobRunner.h"
#include "ui/Session.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QTimer>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace heatlens;

namespace {

double residentMB()
{
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0)
            return std::stod(line.substr(6)) / 1024.0;
    return 0.0;
}

std::string option(int argc, char **argv, const std::string &name, const std::string &fallback)
{
    for (int i = 1; i + 1 < argc; ++i)
        if (argv[i] == "--" + name)
            return argv[i + 1];
    return fallback;
}

bool waitFor(QObject *sender, const char *signal, int ms)
{
    QEventLoop loop;
    QTimer timeout;
    timeout.setSingleShot(true);
    QObject::connect(&timeout, &QTimer::timeout, &loop, [&] { loop.exit(1); });
    QObject::connect(sender, signal, &loop, SLOT(quit()));
    timeout.start(ms);
    return loop.exec() == 0;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const int images = std::stoi(option(argc, argv, "images", "20"));
    const double megapixels = std::stod(option(argc, argv, "megapixels", "12"));
    const size_t cacheMB = std::stoul(
        option(argc, argv, "cache-mb", std::to_string(CacheBudget::kDefaultBytes >> 20)));
    const std::string method = option(argc, argv, "method", "saliency");

    std::vector<cv::Mat> sources;
    for (const char *path : {"/usr/lib/python3/dist-packages/skimage/data/astronaut.png",
                             "/usr/lib/python3/dist-packages/skimage/data/chelsea.png",
                             "/usr/lib/python3/dist-packages/skimage/data/coffee.png",
                             "/usr/share/matplotlib/sample_data/grace_hopper.jpg"}) {
        cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
        if (!image.empty())
            sources.push_back(image);
    }
    if (sources.empty()) {
        std::cerr << "no photos found (python3-skimage, python3-matplotlib)\n";
        return 1;
    }
    const fs::path folder = fs::temp_directory_path() / "heatlens-bench-cache-photos";
    fs::create_directories(folder);
    for (int i = 0; i < images; ++i) {
        const fs::path file = folder / ("photo" + std::to_string(100 + i) + ".png");
        if (fs::exists(file))
            continue;
        const cv::Mat &src = sources[size_t(i) % sources.size()];
        const double scale = std::sqrt(megapixels * 1e6 / double(src.total()));
        cv::Mat big;
        cv::resize(src, big, cv::Size(), scale, scale, cv::INTER_LINEAR);
        cv::flip(big, big, i % 2); // each file its own picture
        big += cv::Scalar::all(i);
        cv::imwrite(file.string(), big, {cv::IMWRITE_PNG_COMPRESSION, 1});
    }

    ui::JobRunner runner;
    auto budget = std::make_shared<CacheBudget>(cacheMB << 20);
    ui::Session session(&runner, budget);
    session.openModel(QString::fromStdString(demoModelPath("demo-cnn")));
    if (!waitFor(&session, SIGNAL(modelChanged()), 120000)) {
        std::cerr << "could not open demo-cnn from " << zooDirectory() << "\n";
        return 1;
    }
    session.setMethod(QString::fromStdString(method));
    session.openDataset(QString::fromStdString(folder.string()));
    double unbounded = 0.0, peak = 0.0, firstRss = 0.0;
    std::printf("image  resident MB  cache holds MB  unbounded MB  entries  evictions\n");
    for (int i = 0; i < images; ++i) {
        if (i > 0)
            session.setCurrentIndex(i);
        if (!waitFor(&session, SIGNAL(explanationReady()), 300000) || !session.outcome()) {
            std::cerr << "no explanation for image " << i << "\n";
            return 1;
        }
        unbounded += double(bytesHeld(*session.outcome())) / double(1 << 20);
        const double rss = residentMB();
        if (i == 0)
            firstRss = rss;
        peak = std::max(peak, rss);
        std::printf("%5d  %11.0f  %14.0f  %12.0f  %7zu  %9zu\n", i, rss,
                    double(budget->used()) / double(1 << 20), unbounded, budget->entries(),
                    budget->evictions());
    }
    std::printf("bound %zu MB; resident peak %.0f MB, growth after the first image %.0f MB; "
                "the cache would hold %.0f MB without the bound\n",
                cacheMB, peak, peak - firstRss, unbounded);
    return 0;
}
