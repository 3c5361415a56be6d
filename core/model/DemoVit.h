#pragma once

#include <torch/script.h>

namespace heatlens {

// Shape of the demo vision transformer (ViT-tiny style, pre-norm).
struct VitConfig
{
    int inputChannels = 1;
    int inputSize = 28;
    int patch = 7; // patch side (7: a 4 x 4 token grid); inputSize must be a multiple
    int dim = 64;
    int depth = 4;
    int heads = 4;
    int mlpRatio = 2;
    double dropout = 0.1; // after the position embedding and inside every MLP
    int classes = 10;

    int grid() const { return inputSize / patch; }
};

// Builds the ViT as an ordinary TorchScript module: patch_embed.proj (conv, stride = patch),
// cls_token, pos_embed, blocks.N.{norm1, attn.{qkv, softmax, proj}, norm2,
// mlp.{fc1, act, drop1, fc2, drop2}}, norm, head. The output of blocks.N.attn.softmax is the
// attention probabilities [batch, heads, tokens, tokens] (token 0 is CLS), so attention
// methods tap it by name. Throws std::invalid_argument on an impossible configuration.
torch::jit::Module buildDemoVit(const VitConfig &config);

} // namespace heatlens
