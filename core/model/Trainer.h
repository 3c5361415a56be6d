#pragma once

#include "core/data/Dataset.h"
#include "core/jobs/Progress.h"
#include "core/model/DemoCnn.h"
#include "core/model/ModelCard.h"

#include <string>

namespace heatlens {

struct TrainConfig
{
    CnnConfig cnn;
    int epochs = 4;
    int batch = 256;
    double lr = 3e-3;
    uint64_t seed = 1;
    int threads = 0;      // 0 = all cores
    size_t limit = 0;     // use at most this many training images (0 = all); tests use it
    size_t testLimit = 0; // evaluate on at most this many held-out images (0 = all)
    std::string name = "demo-cnn";
    std::string displayName = "Demo: CNN";
};

struct TrainReport
{
    double testAccuracy = 0.0;
    double trainSeconds = 0.0;
    size_t trainImages = 0;
    size_t testImages = 0;
    std::string modelPath;
    std::string cardPath;
};

// Trains the demo CNN on a dataset (held-out split: the IDX test split when present, else the
// last 10% in a seeded shuffle) and returns the module in eval mode. Reports progress with
// loss and accuracy; throws Cancelled when cancelled (nothing is written).
torch::jit::Module trainCnn(const Dataset &dataset, const TrainConfig &config,
                            const JobContext &ctx, TrainReport &report);

// The card describing a model trained by trainCnn on `dataset`.
ModelCard demoCnnCard(const Dataset &dataset, const TrainConfig &config);

// Saves module + card as DIR/<name>.pt and DIR/<name>.json, atomically (temporary files
// renamed at the end), creating DIR.
void saveModel(const torch::jit::Module &module, const ModelCard &card, const std::string &dir,
               const std::string &name, TrainReport &report);

} // namespace heatlens
