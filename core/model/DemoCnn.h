#pragma once

#include <torch/script.h>

namespace heatlens {

// Shape of the demo CNN: conv blocks (conv, batch norm, ReLU, optional 2x2 max pool), then a
// classifier (dropout, linear, ReLU, dropout, linear).
struct CnnConfig
{
    int inputChannels = 1;
    int inputSize = 28;
    std::vector<int> widths{16, 32, 64}; // one conv block each
    std::vector<bool> pool{true, true, false};
    int hidden = 128;
    int classes = 10;
    double dropout = 0.25;
    // Bayesian: every convolution and linear layer a Flipout layer (builder::flipoutConv2d,
    // flipoutLinear) under a N(0, priorSigma^2) prior; the module gets kl(), the sum of theirs.
    bool flipout = false;
    double priorSigma = 0.1;
};

// Builds the CNN as an ordinary TorchScript module with readable submodule names
// (features.block1.conv, features.block1.bn, ..., classifier.fc1), TorchScript-defined
// forward methods and a `training` attribute on every module, so it trains with LibTorch,
// saves with save(), and loads in PyTorch with torch.jit.load. Weights are initialised like
// PyTorch's defaults from the current global generator (seed it first).
torch::jit::Module buildDemoCnn(const CnnConfig &config);

} // namespace heatlens
