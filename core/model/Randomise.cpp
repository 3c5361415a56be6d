#include "core/model/Randomise.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

namespace heatlens {

namespace {

// The submodule at a dotted path of `root` ("" = root).
torch::jit::Module submodule(const torch::jit::Module &root, const std::string &path)
{
    torch::jit::Module m = root;
    size_t begin = 0;
    while (begin < path.size()) {
        const size_t dot = path.find('.', begin);
        const std::string name =
            path.substr(begin, dot == std::string::npos ? std::string::npos : dot - begin);
        m = m.attr(name).toModule();
        begin = dot == std::string::npos ? path.size() : dot + 1;
    }
    return m;
}

torch::Tensor redraw(const torch::Tensor &p, double bound, torch::Generator &gen)
{
    auto options = p.options().requires_grad(false);
    if (bound > 0.0)
        return torch::empty(p.sizes(), options).uniform_(-bound, bound, gen);
    auto t = torch::empty(p.sizes(), options).normal_(0.0, 1.0, gen);
    // Truncated normal: redraw the values outside [-2, 2] until none is left.
    for (auto outside = t.abs() > 2.0; outside.any().item<bool>(); outside = t.abs() > 2.0)
        t = torch::where(outside, torch::empty(p.sizes(), options).normal_(0.0, 1.0, gen), t);
    return t;
}

} // namespace

std::vector<ParameterLayer> parameterLayers(const Model &model)
{
    std::vector<ParameterLayer> layers;
    for (const auto &named : model.module().named_modules()) {
        ParameterLayer layer;
        layer.path = named.name;
        for (const auto &p : named.value.named_parameters(/*recurse=*/false)) {
            layer.parameters.push_back(p.name);
            layer.size += p.value.numel();
        }
        if (!layer.parameters.empty())
            layers.push_back(std::move(layer));
    }
    return layers;
}

ModelPtr randomisedCopy(const Model &model, const std::vector<std::string> &layers, uint64_t seed)
{
    const auto known = parameterLayers(model);
    torch::jit::Module copy = model.module().clone();
    torch::Generator gen = at::detail::createCPUGenerator(seed);
    std::string names;
    for (const auto &path : layers) {
        const auto it = std::find_if(known.begin(), known.end(),
                                     [&](const ParameterLayer &l) { return l.path == path; });
        if (it == known.end())
            throw std::invalid_argument("\"" + path + "\" is not a layer with parameters of " +
                                        model.displayName());
        torch::jit::Module layer = submodule(copy, path);
        // The bound of the layer's weight matrix (its first parameter of two or more dims).
        double bound = 0.0;
        for (const auto &p : layer.named_parameters(false))
            if (p.value.dim() >= 2) {
                bound = 1.0 / std::sqrt(double(p.value.numel() / p.value.size(0)));
                break;
            }
        torch::NoGradGuard noGrad;
        for (const auto &name : it->parameters) {
            const auto old = layer.attr(name).toTensor();
            layer.setattr(name, redraw(old, bound, gen));
        }
        names += (names.empty() ? "" : ", ") + (path.empty() ? std::string("<root>") : path);
    }
    return Model::fromModule(copy, model.card(),
                             model.displayName() + " (randomised: " + names + ")");
}

} // namespace heatlens
