#pragma once

#include "core/jobs/Progress.h"
#include "core/model/Trainer.h"

#include <string>
#include <vector>

namespace heatlens {

// Where demo models live: $HEATLENS_ZOO, else $XDG_CACHE_HOME/heatlens/zoo, else
// ~/.cache/heatlens/zoo. Trained once by "heatlens-cli zoo" and reused.
std::string zooDirectory();
std::string demoModelPath(const std::string &name); // <zoo>/<name>.pt (ensembles: <zoo>/<name>)
// $HEATLENS_DEMO_DATA, else Debian's dataset-fashion-mnist.
std::string demoDatasetPath();

// One model of the demo zoo and how it is trained (fixed seeds: reproducible).
struct ZooRecipe
{
    std::string name;        // file stem (or folder, for ensembles)
    std::string displayName; // "Demo: CNN"
    TrainConfig config;
    int members = 1; // > 1: a deep ensemble
    double cost = 1; // relative training time, for progress
};

// The whole demo zoo, in training order.
std::vector<ZooRecipe> zooRecipes();

struct ZooEntry
{
    std::string name;
    std::string displayName;
    std::string path;       // what Model::load opens
    std::string recipe;     // what a cached model must have been trained with to be reused
    bool available = false; // present with this recipe
    bool trained = false;   // trained by this call
    double accuracy = 0.0;
    double seconds = 0.0;
};

// The zoo's entries and whether each is available (cheap: reads small recipe files).
std::vector<ZooEntry> zooEntries();

// Trains every demo model that is missing or was trained with another recipe (only those in
// `only` when it is not empty); returns what was done. Reports progress; throws Cancelled
// (nothing half-written is left).
// Every model is trained with `threads` intra-op threads (1 by default: reproducible results,
// and the CLI trains several models at once in separate processes).
std::vector<ZooEntry> ensureZoo(const JobContext &ctx, const std::vector<std::string> &only = {},
                                int threads = 1);

} // namespace heatlens
