#pragma once

#include "core/data/Dataset.h"
#include "core/jobs/Progress.h"
#include "core/model/DemoCnn.h"
#include "core/model/DemoGroups.h"
#include "core/model/DemoVit.h"
#include "core/model/ModelCard.h"

#include <string>

namespace heatlens {

enum class Arch { Cnn, Vit, Groups };
std::string archName(Arch arch); // "cnn", "vit", "groups"
// Throws std::invalid_argument naming the accepted values.
Arch parseArch(const std::string &name);

struct TrainConfig
{
    Arch arch = Arch::Cnn;
    CnnConfig cnn;
    VitConfig vit;
    GroupsConfig groups;
    int epochs = 4;
    int batch = 256;
    double lr = 3e-3;          // peak learning rate (cosine decay to 0 after the warm-up)
    double warmup = 0.0;       // fraction of all steps with a linear warm-up
    double weightDecay = 0.0;  // decoupled (AdamW) on weight matrices, not on biases/norms
    double saliencyGuided = 0; // Ismail et al. 2021: fraction k of features masked; 0 = off
    double klWeight = 1.0;     // lambda of the KL term of saliency-guided training
    double elboWeight = 1.0;   // Flipout CNN (cnn.flipout): weight of KL(q || prior) / N
    double expertLoss = 0.5;   // feature-group model: weight of every expert's own loss
    double pairPenalty = 0.1;  // feature-group model: price of the pairs' total weight
    uint64_t seed = 1;
    int threads = 0;      // 0 = all cores
    size_t limit = 0;     // use at most this many training images (0 = all); tests use it
    size_t testLimit = 0; // evaluate on at most this many held-out images (0 = all)
    std::string name = "demo-cnn";
    std::string displayName = "Demo: CNN";

    int inputChannels() const;
    int inputSize() const;
    void setDropout(double p); // of the architecture being trained (not used by groups)
};

// The recipe used for each architecture when the command line does not say otherwise.
TrainConfig defaultTrainConfig(Arch arch);

// Images and labels ready for training: uint8 [N, C, H, W] tensors at the model's input size,
// split into training and held-out images (the IDX test split when present, else the last 10%
// of a seeded shuffle), with the per-channel statistics of the training images.
struct TrainingData
{
    torch::Tensor trainX, trainY, testX, testY;
    std::vector<float> mean, std;
    std::vector<std::string> classNames;
    std::string source;
};

TrainingData loadTrainingData(const Dataset &dataset, const TrainConfig &config,
                              const JobContext &ctx = {});

struct TrainReport
{
    double testAccuracy = 0.0;
    double trainAccuracy = 0.0; // running accuracy over the last epoch
    double trainSeconds = 0.0;
    size_t trainImages = 0;
    size_t testImages = 0;
    std::string modelPath;
    std::string cardPath;
};

// A freshly initialised model of config.arch (seeded from the global generator).
torch::jit::Module buildModel(const TrainConfig &config);

// Trains config.arch on `data` and returns the module in eval mode with frozen parameters.
// Reports progress with loss, accuracy and ETA; throws Cancelled when cancelled (nothing is
// written: saving is separate).
torch::jit::Module trainModel(const TrainingData &data, const TrainConfig &config,
                              const JobContext &ctx, TrainReport &report);

// The card describing a model trained by trainModel on `data`.
ModelCard trainedModelCard(const TrainingData &data, const TrainConfig &config);

// Saliency-guided training's masking step: per sample, the fraction k of features (elements of
// C x H x W) with the smallest |grad| are replaced by values drawn uniformly within that
// sample's own [min, max]. Returns the masked copy; `mask` (optional) receives the boolean mask.
torch::Tensor saliencyGuidedMask(const torch::Tensor &x, const torch::Tensor &grad, double k,
                                 at::Generator generator, torch::Tensor *mask = nullptr);

// Everything that determines a trained model, as one line (the zoo reuses a cached model only
// when its recipe is unchanged).
std::string recipeText(const TrainConfig &config, int ensembleMembers = 1);

struct EnsembleReport
{
    std::vector<TrainReport> members;
    double testAccuracy = 0.0; // of the ensemble (mean probability)
    double trainSeconds = 0.0;
    std::string manifestPath;
};

// Trains `count` members (seeds config.seed, config.seed + 1, ...) and saves them as the
// ensemble folder DIR/NAME (member-1.pt ... with cards, and ensemble.json). Everything is
// written into a temporary sibling folder renamed at the end, so a cancel or an error leaves
// no half-written ensemble; an existing DIR/NAME is replaced only at that point.
EnsembleReport trainEnsemble(const TrainingData &data, const TrainConfig &config, int count,
                             const std::string &dir, const JobContext &ctx);

// Saves module + card as DIR/<name>.pt and DIR/<name>.json, atomically (temporary files
// renamed at the end), creating DIR.
void saveModel(const torch::jit::Module &module, const ModelCard &card, const std::string &dir,
               const std::string &name, TrainReport &report);

} // namespace heatlens
