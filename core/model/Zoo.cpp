#include "core/model/Zoo.h"

#include "core/io/AtomicFile.h"
#include "core/model/Trainer.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace heatlens {

namespace {

namespace fs = std::filesystem;

std::string envOr(const char *name, const std::string &fallback)
{
    const char *value = std::getenv(name);
    return value && *value ? std::string(value) : fallback;
}

TrainConfig demoCnnConfig()
{
    TrainConfig config; // the defaults are the demo recipe
    config.name = "demo-cnn";
    config.displayName = "Demo: CNN";
    return config;
}

std::string recipeOf(const TrainConfig &c)
{
    std::ostringstream out;
    out << "cnn-v2 widths"; // v2: hand-written Adam
    for (int w : c.cnn.widths)
        out << "-" << w;
    out << " hidden " << c.cnn.hidden << " dropout " << c.cnn.dropout << " epochs " << c.epochs
        << " batch " << c.batch << " lr " << c.lr << " seed " << c.seed;
    return out.str();
}

std::string readText(const std::string &path)
{
    std::ifstream in(path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

} // namespace

std::string zooDirectory()
{
    const std::string home = envOr("HOME", "/tmp");
    const std::string cache = envOr("XDG_CACHE_HOME", home + "/.cache");
    return envOr("HEATLENS_ZOO", cache + "/heatlens/zoo");
}

std::string demoModelPath(const std::string &name)
{
    return (fs::path(zooDirectory()) / (name + ".pt")).string();
}

std::string demoDatasetPath()
{
    return envOr("HEATLENS_DEMO_DATA", "/usr/share/datasets/fashion-mnist");
}

std::vector<ZooEntry> ensureZoo(const JobContext &ctx)
{
    const TrainConfig config = demoCnnConfig();
    ZooEntry entry{config.name, recipeOf(config)};
    const std::string recipePath = (fs::path(zooDirectory()) / (config.name + ".recipe")).string();
    if (fs::exists(demoModelPath(config.name)) && readText(recipePath) == entry.recipe)
        return {entry};
    auto dataset = openDataset(demoDatasetPath());
    TrainReport report;
    auto module = trainCnn(*dataset, config, ctx, report);
    saveModel(module, demoCnnCard(*dataset, config), zooDirectory(), config.name, report);
    writeTextAtomically(recipePath, entry.recipe);
    entry.trained = true;
    entry.accuracy = report.testAccuracy;
    entry.seconds = report.trainSeconds;
    return {entry};
}

} // namespace heatlens
