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

} // namespace heatlens
