#pragma once

#include <string>
#include <vector>

namespace heatlens {

// A deep ensemble on disk: a folder with member TorchScript files (each with its own card) and
// a manifest, ensemble.json:
//   {"format": "heatlens-ensemble", "version": 1, "name": "Demo: CNN ensemble",
//    "description": "...", "members": ["member-1.pt", "member-2.pt", ...]}
// Member paths are relative to the folder. Reading a manifest needs no LibTorch (see
// Ensemble.h for the model built from it).
struct EnsembleManifest
{
    static constexpr int kVersion = 1;
    std::string name;
    std::string description;
    std::vector<std::string> members;
};

constexpr const char *kEnsembleManifestName = "ensemble.json";

// The manifest's path when `path` is an ensemble folder or its manifest, else "".
std::string ensembleManifestPath(const std::string &path);

// Parses manifest text; throws std::runtime_error naming `source` and what is wrong.
EnsembleManifest parseEnsembleManifest(const std::string &json, const std::string &source);
// Reads and parses `manifestPath`; throws std::runtime_error naming the file.
EnsembleManifest readEnsembleManifest(const std::string &manifestPath);
// Writes DIR/ensemble.json atomically.
void writeEnsembleManifest(const std::string &dir, const EnsembleManifest &manifest);

} // namespace heatlens
