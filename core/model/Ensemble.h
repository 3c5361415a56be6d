#pragma once

#include "core/model/EnsembleManifest.h"

#include <torch/script.h>

#include <string>
#include <vector>

namespace heatlens {

// The model of a deep ensemble (EnsembleManifest.h describes its folder and manifest).
// One TorchScript module over the members (submodules members.0, members.1, ...):
//   forward(x) = logsumexp_m(log_softmax(member_m(x))) - log(M)
// i.e. logits whose softmax is the mean of the members' probabilities, and
//   member_logits(x) -> [M, N, classes].
// The members' modules are shared, not copied.
torch::jit::Module composeEnsemble(const std::vector<torch::jit::Module> &members);

class Model;

// What an ensemble and each of its members predict for one preprocessed input [1, C, H, W]:
// the ensemble's class and probability, each member's own class and its probability for the
// ensemble's class, and the spread of those probabilities (population std over members).
struct EnsembleVote
{
    struct Member
    {
        int predicted = -1;
        float predictedProb = 0.0f;
        float probOfEnsembleClass = 0.0f;
    };
    int ensembleClass = -1;
    float ensembleProb = 0.0f;
    std::vector<Member> members;
    double meanProbOfEnsembleClass = 0.0;
    double stdProbOfEnsembleClass = 0.0;
};
// Throws std::invalid_argument when `ensemble` is not an ensemble.
EnsembleVote ensembleVote(const Model &ensemble, const torch::Tensor &input);

} // namespace heatlens
