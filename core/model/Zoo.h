#pragma once

#include "core/jobs/Progress.h"

#include <string>
#include <vector>

namespace heatlens {

// Where demo models live: $HEATLENS_ZOO, else $XDG_CACHE_HOME/heatlens/zoo, else
// ~/.cache/heatlens/zoo. Trained once by "heatlens-cli zoo" and reused.
std::string zooDirectory();
std::string demoModelPath(const std::string &name); // <zoo>/<name>.pt
// $HEATLENS_DEMO_DATA, else Debian's dataset-fashion-mnist.
std::string demoDatasetPath();

struct ZooEntry
{
    std::string name;   // file stem
    std::string recipe; // what a cached model must have been trained with to be reused
    bool trained = false;
    double accuracy = 0.0;
    double seconds = 0.0;
};

// Trains every demo model that is missing or was trained with another recipe; returns what was
// done. Reports progress; throws Cancelled (nothing half-written is left).
std::vector<ZooEntry> ensureZoo(const JobContext &ctx);

} // namespace heatlens
