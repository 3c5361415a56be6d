#include "core/model/Randomise.h"

#include "core/model/CopyPool.h"

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

namespace {

// A pooled private clone for randomised copies: each copy resets its parameters from the
// model's and redraws the chosen layers in place.
struct RandomisedClone
{
    torch::jit::Module module;
    std::vector<std::pair<torch::Tensor, torch::Tensor>> parameters; // (the clone's, the model's)
    ModelPtr model;
};

} // namespace

ModelPtr randomisedCopy(const ModelPtr &model, const std::vector<std::string> &layers,
                        uint64_t seed)
{
    const auto known = parameterLayers(*model);
    std::vector<const ParameterLayer *> chosen;
    for (const auto &path : layers) {
        const auto it = std::find_if(known.begin(), known.end(),
                                     [&](const ParameterLayer &l) { return l.path == path; });
        if (it == known.end())
            throw std::invalid_argument("\"" + path + "\" is not a layer with parameters of " +
                                        model->displayName());
        chosen.push_back(&*it);
    }
    auto clone = CopyPool<RandomisedClone>::shared().acquire(model, "randomised", [&] {
        auto c = std::make_unique<RandomisedClone>();
        c->module = model->module().clone();
        const auto mine = c->module.named_parameters();
        const auto theirs = model->module().named_parameters();
        for (auto a = mine.begin(), b = theirs.begin(); a != mine.end() && b != theirs.end();
             ++a, ++b)
            c->parameters.push_back({(*a).value, (*b).value});
        c->model = Model::variant(*model, c->module, "randomised");
        return c;
    });
    torch::NoGradGuard noGrad;
    for (auto &[mine, theirs] : clone->parameters)
        mine.copy_(theirs);
    torch::Generator gen = at::detail::createCPUGenerator(seed);
    for (const ParameterLayer *chosenLayer : chosen) {
        torch::jit::Module layer = submodule(clone->module, chosenLayer->path);
        // The bound of the layer's weight matrix (its first parameter of two or more dims).
        double bound = 0.0;
        for (const auto &p : layer.named_parameters(false))
            if (p.value.dim() >= 2) {
                bound = 1.0 / std::sqrt(double(p.value.numel() / p.value.size(0)));
                break;
            }
        for (const auto &name : chosenLayer->parameters) {
            auto tensor = layer.attr(name).toTensor();
            tensor.copy_(redraw(tensor, bound, gen));
        }
    }
    // The copy lives as long as the pointer: it holds the lent clone.
    return ModelPtr(clone, clone->model.get());
}

} // namespace heatlens
