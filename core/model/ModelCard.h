#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace heatlens {

// The JSON sidecar of a TorchScript model ("model.pt" -> "model.json"). Every field is
// optional; zero / empty means "infer it" (see Model::load). Format documented in README.md.
struct ModelCard
{
    static constexpr int kFormatVersion = 1;

    int formatVersion = kFormatVersion;
    std::string name;
    std::string family = "other"; // cnn | vit | groups | ensemble | other
    int inputChannels = 0;        // 1 or 3; 0 = probe
    int inputHeight = 0;          // 0 = probe
    int inputWidth = 0;
    std::string colorOrder = "rgb"; // rgb | bgr
    std::vector<float> mean;        // per channel, applied after scaling pixels to [0, 1]
    std::vector<float> std;
    std::string resize = "stretch"; // stretch | center-crop
    int resizeShorter = 0;          // center-crop: shorter side before cropping (0 = no resize)
    std::vector<std::string> labels;
    std::string labelsFile;             // one label per line, relative to the card
    std::string camLayer;               // default layer for CAM methods (module path)
    std::vector<std::string> attention; // module paths whose softmax gives attention probs
    int patchGridHeight = 0;            // transformer token grid (0 = infer)
    int patchGridWidth = 0;
    int clsToken = 0; // index of the CLS token, -1 if none
    // Interpretable-by-design feature-group models: the input is split into a grid of
    // rectangular groups (row-major indices); groupMethod(x) returns [N, groups + pairs] exact
    // attributions (the groups, then groupPairs in order).
    int groupGridRows = 0; // 0 = not a feature-group model
    int groupGridCols = 0;
    std::vector<std::pair<int, int>> groupPairs;
    std::string groupMethod;
    std::string description;
};

// Parses a card; throws std::runtime_error naming `source` and the offending field.
ModelCard parseModelCard(const std::string &json, const std::string &source);

// Reads `path`; returns nullopt when the file does not exist.
std::optional<ModelCard> readModelCard(const std::string &path);

std::string modelCardToJson(const ModelCard &card);

// "dir/model.pt" -> "dir/model.json"
std::string cardPathFor(const std::string &modelPath);

} // namespace heatlens
