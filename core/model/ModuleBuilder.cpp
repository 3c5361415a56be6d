#include "core/model/ModuleBuilder.h"

#include <cmath>
#include <sstream>

namespace heatlens::builder {

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

torch::Tensor truncNormal(std::vector<int64_t> shape, double std)
{
    // Resample until inside +-2 std, as timm does (the rejected fraction is ~5%).
    auto t = torch::randn(shape) * std;
    for (auto outside = t.abs() > 2 * std; outside.any().item<bool>(); outside = t.abs() > 2 * std)
        t = torch::where(outside, torch::randn(shape) * std, t);
    return t;
}

Module simple(const CU &cu, const std::string &type, const std::string &body)
{
    Module m = makeModule(cu, type);
    m.define("def forward(self, x):\n    return " + body + "\n");
    return m;
}

Module conv2d(const CU &cu, int in, int out, int kernel, int stride, int padding)
{
    Module m = makeModule(cu, "Conv2d");
    const double bound = 1.0 / std::sqrt(double(in * kernel * kernel));
    m.register_parameter("weight", uniform({out, in, kernel, kernel}, bound), false);
    m.register_parameter("bias", uniform({out}, bound), false);
    const std::string s = std::to_string(stride), p = std::to_string(padding);
    m.define("def forward(self, x):\n    return torch.conv2d(x, self.weight, self.bias, [" + s +
             ", " + s + "], [" + p + ", " + p + "], [1, 1], 1)\n");
    return m;
}

Module batchNorm2d(const CU &cu, int channels)
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

Module layerNorm(const CU &cu, int features, double eps)
{
    Module m = makeModule(cu, "LayerNorm");
    m.register_parameter("weight", torch::ones({features}), false);
    m.register_parameter("bias", torch::zeros({features}), false);
    std::ostringstream src;
    src.precision(17);
    src << "def forward(self, x):\n    return torch.layer_norm(x, [" << features
        << "], self.weight, self.bias, " << eps << ", True)\n";
    m.define(src.str());
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

Module dropout(const CU &cu, double p)
{
    Module m = makeModule(cu, "Dropout");
    m.register_attribute("p", c10::FloatType::get(), p);
    m.define("def forward(self, x):\n    return torch.dropout(x, self.p, self.training)\n");
    return m;
}

Module relu(const CU &cu)
{
    return simple(cu, "ReLU", "torch.relu(x)");
}

Module gelu(const CU &cu)
{
    return simple(cu, "GELU", "torch.gelu(x)");
}

Module moduleList(const CU &cu, const std::vector<Module> &items)
{
    Module m = makeModule(cu, "ModuleList");
    for (size_t i = 0; i < items.size(); ++i)
        m.register_module(std::to_string(i), items[i]);
    return m;
}

std::string item(const std::string &list, size_t index)
{
    return "getattr(self." + list + ", \"" + std::to_string(index) + "\")";
}

} // namespace heatlens::builder
