#pragma once

#include <torch/script.h>

#include <string>
#include <vector>

namespace heatlens::builder {

// Building blocks for Heatlens' own TorchScript models (demo CNN, ViT, feature-group model).
// Each returns an ordinary torch::jit::Module with TorchScript-defined methods, PyTorch-like
// parameter names and initialisation (from the global generator), and a `training` attribute,
// so the models train with LibTorch, save with save() and load in PyTorch with torch.jit.load.

using CU = std::shared_ptr<torch::jit::CompilationUnit>;
using torch::jit::Module;

Module makeModule(const CU &cu, const std::string &type);
// A module whose forward is `return <body>` with input `x`.
Module simple(const CU &cu, const std::string &type, const std::string &body);
Module conv2d(const CU &cu, int in, int out, int kernel, int stride, int padding);
Module batchNorm2d(const CU &cu, int channels);
Module layerNorm(const CU &cu, int features, double eps = 1e-6);
Module linear(const CU &cu, int in, int out);
Module dropout(const CU &cu, double p);
// Bayesian layers trained with Flipout (Wen et al. 2018): mean-field Gaussian weights
// N(weight_mu, softplus(weight_rho)^2) (likewise the bias) under a N(0, priorSigma^2) prior.
// Training: the mean output plus a perturbation with per-example sign flips of one weight draw.
// Evaluation: the weights mu + softplus(rho) * eps, where eps are the buffers weight_eps and
// bias_eps, zero as saved (the mean network); the flipout uncertainty source draws them per
// sample. kl() is the layer's KL(q || prior).
Module flipoutConv2d(const CU &cu, int in, int out, int kernel, int stride, int padding,
                     double priorSigma);
Module flipoutLinear(const CU &cu, int in, int out, double priorSigma);
Module relu(const CU &cu);
Module gelu(const CU &cu);

// A container like torch.nn.ModuleList: submodules named "0", "1", ... and no forward.
// TorchScript code reaches them as getattr(self.<name>, "<i>"), which is also how a scripted
// PyTorch ModuleList appears in graphs, so layer paths read "blocks.0.attn".
Module moduleList(const CU &cu, const std::vector<Module> &items);
std::string item(const std::string &list, size_t index); // getattr(self.list, "index")

torch::Tensor uniform(std::vector<int64_t> shape, double bound);
// Truncated normal (timm's trunc_normal_, std 0.02 by default), for transformer weights.
torch::Tensor truncNormal(std::vector<int64_t> shape, double std = 0.02);

} // namespace heatlens::builder
