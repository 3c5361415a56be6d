#include "core/model/DemoCnn.h"

#include "core/model/ModuleBuilder.h"

namespace heatlens {

namespace {

using namespace builder;

Module convBlock(const CU &cu, const CnnConfig &config, int in, int out, bool pool)
{
    Module m = makeModule(cu, "ConvBlock");
    m.register_module("conv", config.flipout
                                  ? flipoutConv2d(cu, in, out, 3, 1, 1, config.priorSigma)
                                  : conv2d(cu, in, out, 3, 1, 1));
    m.register_module("bn", batchNorm2d(cu, out));
    m.register_module("relu", relu(cu));
    std::string body = "self.relu.forward(self.bn.forward(self.conv.forward(x)))";
    if (pool) {
        m.register_module(
            "pool", simple(cu, "MaxPool2d", "torch.max_pool2d(x, [2, 2], [2, 2], [0, 0], [1, 1])"));
        body = "self.pool.forward(" + body + ")";
    }
    m.define("def forward(self, x):\n    return " + body + "\n");
    return m;
}

Module features(const CU &cu, const CnnConfig &config, int &size)
{
    Module m = makeModule(cu, "Features");
    std::string body = "x";
    int in = config.inputChannels;
    for (size_t i = 0; i < config.widths.size(); ++i) {
        const std::string name = "block" + std::to_string(i + 1);
        const bool pool = i < config.pool.size() && config.pool[i];
        m.register_module(name, convBlock(cu, config, in, config.widths[i], pool));
        body = "self." + name + ".forward(" + body + ")";
        in = config.widths[i];
        size = pool ? size / 2 : size;
    }
    m.define("def forward(self, x):\n    return " + body + "\n");
    return m;
}

Module classifier(const CU &cu, const CnnConfig &config, int flat)
{
    Module m = makeModule(cu, "Classifier");
    m.register_module("dropout1", dropout(cu, config.dropout));
    auto dense = [&](int in, int out) {
        return config.flipout ? flipoutLinear(cu, in, out, config.priorSigma) : linear(cu, in, out);
    };
    m.register_module("fc1", dense(flat, config.hidden));
    m.register_module("relu", relu(cu));
    m.register_module("dropout2", dropout(cu, config.dropout));
    m.register_module("fc2", dense(config.hidden, config.classes));
    m.define(R"(
def forward(self, x):
    x = self.relu.forward(self.fc1.forward(self.dropout1.forward(x)))
    return self.fc2.forward(self.dropout2.forward(x))
)");
    return m;
}

} // namespace

torch::jit::Module buildDemoCnn(const CnnConfig &config)
{
    auto cu = std::make_shared<torch::jit::CompilationUnit>();
    Module net = makeModule(cu, "HeatlensCnn");
    int size = config.inputSize;
    net.register_module("features", features(cu, config, size));
    net.register_module("classifier", classifier(cu, config, config.widths.back() * size * size));
    net.define(R"(
def forward(self, x):
    x = self.features.forward(x)
    return self.classifier.forward(torch.flatten(x, 1))
)");
    if (config.flipout) {
        std::string sum = "self.classifier.fc1.kl() + self.classifier.fc2.kl()";
        for (size_t i = 0; i < config.widths.size(); ++i)
            sum += " + self.features.block" + std::to_string(i + 1) + ".conv.kl()";
        net.define("def kl(self):\n    return " + sum + "\n");
    }
    return net;
}

} // namespace heatlens
