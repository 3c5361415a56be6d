#pragma once

#include <torch/script.h>

#include <string>
#include <vector>

namespace heatlens {

// A deep ensemble on disk: a folder with member TorchScript files (each with its own card) and
// a manifest, ensemble.json:
//   {"format": "heatlens-ensemble", "version": 1, "name": "Demo: CNN ensemble",
//    "description": "...", "members": ["member-1.pt", "member-2.pt", ...]}
// Member paths are relative to the folder. Heatlens loads the folder (or the manifest) as one
// model whose output is the log of the members' mean probability (see composeEnsemble).
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

// Parses a manifest; throws std::runtime_error naming the file and what is wrong.
EnsembleManifest readEnsembleManifest(const std::string &manifestPath);
// Writes DIR/ensemble.json atomically.
void writeEnsembleManifest(const std::string &dir, const EnsembleManifest &manifest);

// One TorchScript module over the members (submodules members.0, members.1, ...):
//   forward(x) = logsumexp_m(log_softmax(member_m(x))) - log(M)
// i.e. logits whose softmax is the mean of the members' probabilities, and
//   member_logits(x) -> [M, N, classes].
// The members' modules are shared, not copied.
torch::jit::Module composeEnsemble(const std::vector<torch::jit::Module> &members);

} // namespace heatlens
