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

namespace {

// The Flipout layer around one TorchScript call `op(x, w, b)` of the layer's operator.
Module flipout(const CU &cu, const std::string &type, std::vector<int64_t> weightShape,
               int64_t fanIn, const std::string &op, double priorSigma)
{
    Module m = makeModule(cu, type);
    const double bound = 1.0 / std::sqrt(double(fanIn));
    const int64_t outputs = weightShape[0];
    // sigma = softplus(-5) = 0.0067 at the start: the network begins close to deterministic
    // and the ELBO's KL term widens the weights that do not matter.
    m.register_parameter("weight_mu", uniform(weightShape, bound), false);
    m.register_parameter("weight_rho", torch::full(weightShape, -5.0), false);
    m.register_parameter("bias_mu", uniform({outputs}, bound), false);
    m.register_parameter("bias_rho", torch::full({outputs}, -5.0), false);
    m.register_buffer("weight_eps", torch::zeros(weightShape));
    m.register_buffer("bias_eps", torch::zeros({outputs}));
    m.register_attribute("prior_sigma", c10::FloatType::get(), priorSigma);
    // The operator's call with x, w and b substituted for $x$, $w$ and $b$.
    auto with = [&op](const std::string &x, const std::string &w, const std::string &b) {
        std::string out;
        for (size_t i = 0; i < op.size(); ++i) {
            const std::string token = op.substr(i, 3);
            const bool isToken = token == "$x$" || token == "$w$" || token == "$b$";
            out += !isToken ? std::string(1, op[i]) : token == "$x$" ? x : token == "$w$" ? w : b;
            i += isToken ? 2 : 0;
        }
        return out;
    };
    m.define(R"(
def softplus(self, r):
    return torch.relu(r) + torch.log1p(torch.exp(-torch.abs(r)))

def kl(self):
    total = torch.zeros([1])
    for mu, rho in [(self.weight_mu, self.weight_rho), (self.bias_mu, self.bias_rho)]:
        sigma = self.softplus(rho)
        total = total + (-torch.log(sigma / self.prior_sigma)
                         + (sigma * sigma + mu * mu) / (2.0 * self.prior_sigma * self.prior_sigma)
                         - 0.5).sum()
    return total
)");
    const std::string mean = with("x", "self.weight_mu + w_sigma * self.weight_eps",
                                  "self.bias_mu + b_sigma * self.bias_eps");
    const std::string perturbation = with("x * sign_in", "dw", "db");
    m.define("def forward(self, x):\n"
             "    w_sigma = self.softplus(self.weight_rho)\n"
             "    b_sigma = self.softplus(self.bias_rho)\n"
             "    out = " +
             mean +
             "\n"
             "    if self.training:\n"
             "        dw = w_sigma * torch.randn_like(self.weight_mu)\n"
             "        db = b_sigma * torch.randn_like(self.bias_mu)\n"
             "        sign_in = torch.sign(torch.rand_like(x) - 0.5)\n"
             "        sign_out = torch.sign(torch.rand_like(out) - 0.5)\n"
             "        out = out + " +
             perturbation +
             " * sign_out\n"
             "    return out\n");
    return m;
}

} // namespace

Module flipoutConv2d(const CU &cu, int in, int out, int kernel, int stride, int padding,
                     double priorSigma)
{
    const std::string s = std::to_string(stride), p = std::to_string(padding);
    return flipout(cu, "Conv2dFlipout", {out, in, kernel, kernel}, int64_t(in) * kernel * kernel,
                   "torch.conv2d($x$, $w$, $b$, [" + s + ", " + s + "], [" + p + ", " + p +
                       "], [1, 1], 1)",
                   priorSigma);
}

Module flipoutLinear(const CU &cu, int in, int out, double priorSigma)
{
    return flipout(cu, "LinearFlipout", {out, in}, in, "torch.linear($x$, $w$, $b$)", priorSigma);
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
