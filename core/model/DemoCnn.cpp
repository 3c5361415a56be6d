#include "core/model/DemoCnn.h"

#include <cmath>

namespace heatlens {

namespace {

using torch::jit::Module;
using CU = std::shared_ptr<torch::jit::CompilationUnit>;

Module makeModule(const CU &cu, const std::string &type)
{
    Module m(c10::QualifiedName("__torch__.heatlens." + type), cu, /*shouldMangle=*/true);
    m.register_attribute("training", c10::BoolType::get(), true);
    return m;
}

torch::Tensor uniform(std::vector<int64_t> shape, double bound)
{
    return torch::empty(shape).uniform_(-bound, bound);
}

Module conv2d(const CU &cu, int in, int out)
{
    Module m = makeModule(cu, "Conv2d");
    const double bound = 1.0 / std::sqrt(double(in * 9));
    m.register_parameter("weight", uniform({out, in, 3, 3}, bound), false);
    m.register_parameter("bias", uniform({out}, bound), false);
    m.define(R"(
def forward(self, x):
    return torch.conv2d(x, self.weight, self.bias, [1, 1], [1, 1], [1, 1], 1)
)");
    return m;
}

Module batchNorm(const CU &cu, int channels)
{
    Module m = makeModule(cu, "BatchNorm2d");
    m.register_parameter("weight", torch::ones({channels}), false);
    m.register_parameter("bias", torch::zeros({channels}), false);
    m.register_buffer("running_mean", torch::zeros({channels}));
    m.register_buffer("running_var", torch::ones({channels}));
    m.define(R"(
def forward(self, x):
    return torch.batch_norm(x, self.weight, self.bias, self.running_mean, self.running_var,
                            self.training, 0.1, 1e-5, False)
)");
    return m;
}

Module simple(const CU &cu, const std::string &type, const std::string &body)
{
    Module m = makeModule(cu, type);
    m.define("def forward(self, x):\n    return " + body + "\n");
    return m;
}

Module dropout(const CU &cu, double p)
{
    Module m = makeModule(cu, "Dropout");
    m.register_attribute("p", c10::FloatType::get(), p);
    m.define("def forward(self, x):\n    return torch.dropout(x, self.p, self.training)\n");
    return m;
}

Module linear(const CU &cu, int in, int out)
{
    Module m = makeModule(cu, "Linear");
    const double bound = 1.0 / std::sqrt(double(in));
    m.register_parameter("weight", uniform({out, in}, bound), false);
    m.register_parameter("bias", uniform({out}, bound), false);
    m.define("def forward(self, x):\n    return torch.linear(x, self.weight, self.bias)\n");
    return m;
}

Module convBlock(const CU &cu, int in, int out, bool pool)
{
    Module m = makeModule(cu, "ConvBlock");
    m.register_module("conv", conv2d(cu, in, out));
    m.register_module("bn", batchNorm(cu, out));
    m.register_module("relu", simple(cu, "ReLU", "torch.relu(x)"));
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
        m.register_module(name, convBlock(cu, in, config.widths[i], pool));
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
    m.register_module("fc1", linear(cu, flat, config.hidden));
    m.register_module("relu", simple(cu, "ReLU", "torch.relu(x)"));
    m.register_module("dropout2", dropout(cu, config.dropout));
    m.register_module("fc2", linear(cu, config.hidden, config.classes));
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
    return net;
}

} // namespace heatlens
