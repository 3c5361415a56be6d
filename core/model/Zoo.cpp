#include "core/model/Zoo.h"

#include "core/io/AtomicFile.h"
#include "core/io/CacheDirectory.h"
#include "core/model/Ensemble.h"

#include <algorithm>

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

std::string readText(const std::string &path)
{
    std::ifstream in(path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

ZooRecipe recipe(const std::string &name, const std::string &display, TrainConfig config,
                 int members, double cost)
{
    config.name = name;
    config.displayName = display;
    return {name, display, config, members, cost};
}

TrainConfig guided(TrainConfig config)
{
    config.saliencyGuided = 0.5;
    config.klWeight = 1.0;
    return config;
}

// The additive twin of the feature-group model: its game of masked groups is 2-additive, so
// its exact Shapley values and interactions are known (the interaction estimators' truth).
TrainConfig additive(TrainConfig config)
{
    config.groups.additive = true;
    return config;
}

// The Bayesian twin of the demo CNN: Flipout layers, no dropout (the uncertainty is in the
// weights), a few more epochs since the sampled perturbations slow convergence.
TrainConfig flipout(TrainConfig config)
{
    config.cnn.flipout = true;
    config.cnn.dropout = 0.0;
    config.epochs = 5;
    return config;
}

TrainConfig seeded(TrainConfig config, uint64_t seed, int epochs)
{
    config.seed = seed;
    config.epochs = epochs;
    return config;
}

std::string recipePath(const ZooRecipe &r)
{
    return (fs::path(zooDirectory()) / (r.name + ".recipe")).string();
}

ZooEntry entryFor(const ZooRecipe &r)
{
    ZooEntry e;
    e.name = r.name;
    e.displayName = r.displayName;
    e.path = r.members > 1 ? (fs::path(zooDirectory()) / r.name).string() : demoModelPath(r.name);
    e.recipe = recipeText(r.config, r.members);
    std::error_code ec;
    const std::string present =
        r.members > 1 ? (fs::path(e.path) / kEnsembleManifestName).string() : e.path;
    e.available = fs::exists(present, ec) && readText(recipePath(r)) == e.recipe;
    return e;
}

} // namespace

std::string zooDirectory()
{
    return envOr("HEATLENS_ZOO", heatlensCacheDirectory() + "/zoo");
}

std::string demoModelPath(const std::string &name)
{
    for (const auto &r : zooRecipes())
        if (r.name == name && r.members > 1)
            return (fs::path(zooDirectory()) / name).string();
    return (fs::path(zooDirectory()) / (name + ".pt")).string();
}

std::string demoDatasetPath()
{
    return envOr("HEATLENS_DEMO_DATA", "/usr/share/datasets/fashion-mnist");
}

std::vector<ZooRecipe> zooRecipes()
{
    const TrainConfig cnn = defaultTrainConfig(Arch::Cnn);
    const TrainConfig vit = defaultTrainConfig(Arch::Vit);
    const TrainConfig groups = defaultTrainConfig(Arch::Groups);
    // Costs: seconds measured on 2 cores with two models training at once (one thread each),
    // used to schedule the longest first and to weigh progress. Ensemble members train two
    // epochs each to keep the whole zoo well within 15 minutes.
    return {
        recipe("demo-cnn", "Demo: CNN", cnn, 1, 73),
        recipe("demo-vit", "Demo: ViT", vit, 1, 148),
        recipe("demo-groups", "Demo: feature-group model", groups, 1, 15),
        recipe("demo-cnn-sg", "Demo: CNN (saliency-guided)", guided(cnn), 1, 190),
        recipe("demo-vit-sg", "Demo: ViT (saliency-guided)", guided(vit), 1, 383),
        recipe("demo-cnn-ensemble", "Demo: CNN ensemble", seeded(cnn, 101, 2), 5, 200),
        recipe("demo-vit-ensemble", "Demo: ViT ensemble", seeded(vit, 101, 2), 5, 330),
        recipe("demo-cnn-flipout", "Demo: CNN (Flipout, Bayesian)", flipout(cnn), 1, 150),
        recipe("demo-groups-additive", "Demo: additive feature-group model", additive(groups), 1,
               20),
    };
}

std::vector<ZooEntry> zooEntries()
{
    std::vector<ZooEntry> entries;
    for (const auto &r : zooRecipes())
        entries.push_back(entryFor(r));
    return entries;
}

std::vector<ZooEntry> ensureZoo(const JobContext &ctx, const std::vector<std::string> &only,
                                int threads)
{
    auto recipes = zooRecipes();
    for (auto &r : recipes)
        r.config.threads = threads;
    std::vector<ZooEntry> entries;
    std::vector<size_t> pending;
    double totalCost = 0.0;
    for (size_t i = 0; i < recipes.size(); ++i) {
        entries.push_back(entryFor(recipes[i]));
        const bool wanted =
            only.empty() || std::find(only.begin(), only.end(), recipes[i].name) != only.end();
        if (wanted && !entries[i].available) {
            pending.push_back(i);
            totalCost += recipes[i].cost;
        }
    }
    if (pending.empty())
        return entries;
    auto dataset = openDataset(demoDatasetPath());
    const TrainingData data =
        loadTrainingData(*dataset, recipes[pending[0]].config, ctx.sub(0, 0.02));
    double done = 0.0;
    for (size_t i : pending) {
        const ZooRecipe &r = recipes[i];
        const double begin = 0.02 + 0.98 * done / totalCost;
        done += r.cost;
        const double end = 0.02 + 0.98 * done / totalCost;
        const auto sub = ctx.sub(begin, end, r.name);
        std::error_code ec;
        fs::remove(recipePath(r), ec); // the old recipe no longer describes what is there
        if (r.members > 1) {
            auto report = trainEnsemble(data, r.config, r.members, zooDirectory(), sub);
            entries[i].accuracy = report.testAccuracy;
            entries[i].seconds = report.trainSeconds;
        } else {
            TrainReport report;
            auto module = trainModel(data, r.config, sub, report);
            saveModel(module, trainedModelCard(data, r.config), zooDirectory(), r.name, report);
            entries[i].accuracy = report.testAccuracy;
            entries[i].seconds = report.trainSeconds;
        }
        writeTextAtomically(recipePath(r), entries[i].recipe);
        entries[i].trained = entries[i].available = true;
    }
    return entries;
}

} // namespace heatlens
