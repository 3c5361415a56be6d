#include "core/explain/CamMethod.h"

#include "core/explain/MethodSupport.h"
#include "core/model/LayerTap.h"

#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <stdexcept>

namespace heatlens {

namespace {

std::string resolveLayer(const ExplainRequest &request, const std::string &methodId)
{
    std::string layer = request.params.getString("layer");
    if (layer.empty())
        layer = request.model->defaultCamLayer();
    if (layer.empty())
        throw std::invalid_argument(methodId + ": choose a layer (parameter \"layer\"); no layer "
                                               "with a spatial output was found automatically");
    return layer;
}

torch::Tensor tokensToGrid(const torch::Tensor &tokens, const ModelCard &card,
                           const std::string &layer)
{
    int64_t n = tokens.size(1);
    auto t = tokens;
    if (card.clsToken >= 0 && card.clsToken < n) {
        t = torch::cat(
            {t.narrow(1, 0, card.clsToken), t.narrow(1, card.clsToken + 1, n - card.clsToken - 1)},
            1);
        n -= 1;
    }
    int64_t gh = card.patchGridHeight, gw = card.patchGridWidth;
    if (gh <= 0) {
        gh = gw = int64_t(std::lround(std::sqrt(double(n))));
        if (gh * gw != n)
            throw std::invalid_argument("layer \"" + layer + "\" outputs " + std::to_string(n) +
                                        " tokens, not a square grid; set transformer.patch_grid "
                                        "in the model card");
    }
    if (gh * gw != n)
        throw std::invalid_argument("layer \"" + layer + "\": the card's patch grid " +
                                    std::to_string(gh) + "x" + std::to_string(gw) +
                                    " does not match its " + std::to_string(n) + " tokens");
    return t.reshape({t.size(0), gh, gw, t.size(2)}).permute({0, 3, 1, 2});
}

} // namespace

torch::Tensor toSpatial(const torch::Tensor &output, const ModelCard &card,
                        const std::string &layer)
{
    if (output.dim() == 4)
        return output;
    if (output.dim() == 3)
        return tokensToGrid(output, card, layer);
    throw std::invalid_argument("layer \"" + layer + "\" has a " + std::to_string(output.dim()) +
                                "-D output " + c10::str(output.sizes()) +
                                "; CAM methods need a spatial [N, C, H, W] or token [N, T, C] "
                                "output");
}

std::vector<ParamSpec> CamMethod::params() const
{
    return {{"layer",
             "Layer",
             ParamType::Layer,
             std::string(),
             0,
             0,
             {},
             "Module whose output is explained; empty = the model's default CAM layer."}};
}

namespace {

struct LayerGradient
{
    torch::Tensor activations, gradients;
};

// The layer's output for `request` and the target logit's gradient with respect to it.
LayerGradient layerGradient(const ExplainRequest &request, const std::string &layer,
                            const JobContext &ctx)
{
    auto tap = request.model->layerTap({layer});
    ctx.throwIfCancelled();
    // The input requires grad only so that autograd records the graph up to the layer.
    auto input = request.input.detach().clone().requires_grad_(true);
    auto result = tap->run(input);
    auto activations = result.taps.at(0);
    if (!activations.requires_grad())
        throw std::invalid_argument("layer \"" + layer + "\" does not depend on the input");
    auto grads = torch::autograd::grad({result.logits[0][request.target]}, {activations},
                                       /*grad_outputs=*/{}, /*retain_graph=*/false,
                                       /*create_graph=*/false, /*allow_unused=*/true)[0];
    if (!grads.defined())
        throw std::invalid_argument("the target logit does not depend on layer \"" + layer + "\"");
    return {activations.detach(), grads};
}

} // namespace

Explanation CamMethod::explain(const ExplainRequest &request, const JobContext &ctx) const
{
    ExplanationBuilder builder(request, id());
    Explanation &out = builder.out();
    out.layer = resolveLayer(request, id());
    const LayerGradient lg = layerGradient(request, out.layer, ctx);
    out.forwardPasses = out.backwardPasses = 1;
    const auto &card = request.model->card();
    auto map =
        cam(toSpatial(lg.activations, card, out.layer), toSpatial(lg.gradients, card, out.layer));
    auto up = torch::upsample_bilinear2d(map.view({1, 1, map.size(0), map.size(1)}),
                                         {card.inputHeight, card.inputWidth}, false);
    out.map = tensorToMap(up[0][0]);
    return builder.finish(ctx);
}

} // namespace heatlens
