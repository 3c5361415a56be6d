#include "core/model/DemoVit.h"

#include "core/model/ModuleBuilder.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace heatlens {

namespace {

using namespace builder;

// Linear layers of transformers start from a truncated normal (std 0.02) with zero bias, as in
// timm; PyTorch's default uniform init trains small ViTs noticeably slower.
Module vitLinear(const CU &cu, int in, int out)
{
    Module m = linear(cu, in, out);
    m.setattr("weight", truncNormal({out, in}));
    m.setattr("bias", torch::zeros({out}));
    return m;
}

Module attention(const CU &cu, const VitConfig &c)
{
    Module m = makeModule(cu, "Attention");
    m.register_module("qkv", vitLinear(cu, c.dim, 3 * c.dim));
    m.register_module("softmax", simple(cu, "Softmax", "torch.softmax(x, -1)"));
    m.register_module("proj", vitLinear(cu, c.dim, c.dim));
    const int headDim = c.dim / c.heads;
    std::ostringstream src;
    src.precision(17);
    src << "def forward(self, x):\n"
        << "    b = x.size(0)\n"
        << "    t = x.size(1)\n"
        << "    qkv = self.qkv.forward(x).reshape([b, t, 3, " << c.heads << ", " << headDim
        << "]).permute([2, 0, 3, 1, 4])\n"
        << "    q = qkv[0]\n"
        << "    k = qkv[1]\n"
        << "    v = qkv[2]\n"
        << "    attn = self.softmax.forward(torch.matmul(q, k.transpose(-2, -1)) * "
        << 1.0 / std::sqrt(double(headDim)) << ")\n"
        << "    out = torch.matmul(attn, v).transpose(1, 2).reshape([b, t, " << c.dim << "])\n"
        << "    return self.proj.forward(out)\n";
    m.define(src.str());
    return m;
}

Module mlp(const CU &cu, const VitConfig &c)
{
    Module m = makeModule(cu, "Mlp");
    m.register_module("fc1", vitLinear(cu, c.dim, c.dim * c.mlpRatio));
    m.register_module("act", gelu(cu));
    m.register_module("drop1", dropout(cu, c.dropout));
    m.register_module("fc2", vitLinear(cu, c.dim * c.mlpRatio, c.dim));
    m.register_module("drop2", dropout(cu, c.dropout));
    m.define(R"(
def forward(self, x):
    x = self.drop1.forward(self.act.forward(self.fc1.forward(x)))
    return self.drop2.forward(self.fc2.forward(x))
)");
    return m;
}

Module block(const CU &cu, const VitConfig &c)
{
    Module m = makeModule(cu, "Block");
    m.register_module("norm1", layerNorm(cu, c.dim));
    m.register_module("attn", attention(cu, c));
    m.register_module("norm2", layerNorm(cu, c.dim));
    m.register_module("mlp", mlp(cu, c));
    m.define(R"(
def forward(self, x):
    x = x + self.attn.forward(self.norm1.forward(x))
    return x + self.mlp.forward(self.norm2.forward(x))
)");
    return m;
}

Module patchEmbed(const CU &cu, const VitConfig &c)
{
    Module m = makeModule(cu, "PatchEmbed");
    m.register_module("proj", conv2d(cu, c.inputChannels, c.dim, c.patch, c.patch, 0));
    m.define("def forward(self, x):\n"
             "    return torch.flatten(self.proj.forward(x), 2).transpose(1, 2)\n");
    return m;
}

} // namespace

torch::jit::Module buildDemoVit(const VitConfig &c)
{
    if (c.patch < 1 || c.inputSize % c.patch != 0)
        throw std::invalid_argument("ViT patch size must divide the input size");
    if (c.heads < 1 || c.dim % c.heads != 0)
        throw std::invalid_argument("ViT width must be a multiple of the number of heads");
    if (c.depth < 1 || c.mlpRatio < 1)
        throw std::invalid_argument("ViT depth and MLP ratio must be >= 1");
    auto cu = std::make_shared<torch::jit::CompilationUnit>();
    Module net = makeModule(cu, "HeatlensVit");
    const int tokens = c.grid() * c.grid() + 1;
    net.register_module("patch_embed", patchEmbed(cu, c));
    net.register_parameter("cls_token", truncNormal({1, 1, c.dim}), false);
    net.register_parameter("pos_embed", truncNormal({1, tokens, c.dim}), false);
    net.register_module("pos_drop", dropout(cu, c.dropout));
    std::vector<Module> blocks;
    for (int i = 0; i < c.depth; ++i)
        blocks.push_back(block(cu, c));
    net.register_module("blocks", moduleList(cu, blocks));
    net.register_module("norm", layerNorm(cu, c.dim));
    net.register_module("head", vitLinear(cu, c.dim, c.classes));
    std::ostringstream src;
    src << "def forward(self, x):\n"
        << "    x = self.patch_embed.forward(x)\n"
        << "    cls = self.cls_token.expand([x.size(0), -1, -1])\n"
        << "    x = self.pos_drop.forward(torch.cat([cls, x], 1) + self.pos_embed)\n";
    for (int i = 0; i < c.depth; ++i)
        src << "    x = " << item("blocks", size_t(i)) << ".forward(x)\n";
    src << "    x = self.norm.forward(x)\n"
        << "    return self.head.forward(x[:, 0])\n";
    net.define(src.str());
    return net;
}

} // namespace heatlens
