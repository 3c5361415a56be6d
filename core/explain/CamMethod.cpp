#include "core/explain/CamMethod.h"

#include "core/explain/MethodSupport.h"
#include "core/model/LayerTap.h"

#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace heatlens {

namespace {

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

ParamSpec camLayerParam()
{
    return ParamSpec::layer("layer", "Layer")
        .describe("Module whose output is explained; several separated by commas are averaged; "
                  "empty = the model's default CAM layer.");
}

std::vector<ParamSpec> CamMethod::params() const
{
    return {camLayerParam()};
}

std::vector<std::string> camLayers(const ExplainRequest &request, const std::string &methodId)
{
    std::vector<std::string> layers;
    const std::string text = request.params.getString("layer");
    for (size_t begin = 0; begin <= text.size();) {
        size_t end = text.find(',', begin);
        if (end == std::string::npos)
            end = text.size();
        std::string layer = text.substr(begin, end - begin);
        layer.erase(0, layer.find_first_not_of(' '));
        layer.erase(layer.find_last_not_of(' ') + 1);
        if (!layer.empty() && std::find(layers.begin(), layers.end(), layer) == layers.end())
            layers.push_back(layer);
        begin = end + 1;
    }
    if (layers.empty() && !request.model->defaultCamLayer().empty())
        layers.push_back(request.model->defaultCamLayer());
    if (layers.empty())
        throw std::invalid_argument(methodId + ": choose a layer (parameter \"layer\"); no layer "
                                               "with a spatial output was found automatically");
    return layers;
}

namespace {

// The layers' outputs for `request` and, when asked, the target logit's gradient with respect
// to each: one forward and at most one backward pass for all layers.
std::vector<CamLayer> tapLayers(const ExplainRequest &request,
                                const std::vector<std::string> &layers, bool gradients,
                                const JobContext &ctx, torch::Tensor *logits = nullptr)
{
    auto tap = request.model->layerTap(layers);
    ctx.throwIfCancelled();
    // The input requires grad only so that autograd records the graph up to the layers.
    auto input = request.input.detach().clone().requires_grad_(gradients);
    std::vector<CamLayer> result(layers.size());
    const auto &card = request.model->card();
    if (!gradients) {
        torch::InferenceMode inference;
        auto run = tap->run(input);
        if (logits)
            *logits = run.logits.clone();
        for (size_t i = 0; i < layers.size(); ++i) {
            result[i].path = layers[i];
            result[i].output = run.taps[i].clone();
        }
    } else {
        auto run = tap->run(input);
        if (logits)
            *logits = run.logits.detach();
        for (size_t i = 0; i < layers.size(); ++i)
            if (!run.taps[i].requires_grad())
                throw std::invalid_argument("layer \"" + layers[i] +
                                            "\" does not depend on the input");
        // Rows are independent in eval mode: the sum's gradient is every row's own.
        auto grads = torch::autograd::grad({run.logits.select(1, request.target).sum()}, run.taps,
                                           /*grad_outputs=*/{}, /*retain_graph=*/false,
                                           /*create_graph=*/false, /*allow_unused=*/true);
        for (size_t i = 0; i < layers.size(); ++i) {
            if (!grads[i].defined())
                throw std::invalid_argument("the target logit does not depend on layer \"" +
                                            layers[i] + "\"");
            result[i].path = layers[i];
            result[i].output = run.taps[i].detach();
            result[i].gradients = toSpatial(grads[i], card, layers[i]);
        }
    }
    for (auto &layer : result)
        layer.activations = toSpatial(layer.output, card, layer.path);
    return result;
}

std::string joinedLayers(const std::vector<std::string> &layers)
{
    std::string joined;
    for (const auto &layer : layers)
        joined += (joined.empty() ? "" : ",") + layer;
    return joined;
}

torch::Tensor upsample(const torch::Tensor &map, const ModelCard &card)
{
    return torch::upsample_bilinear2d(map.view({1, 1, map.size(0), map.size(1)}),
                                      {card.inputHeight, card.inputWidth}, false)[0][0];
}

} // namespace

// One input's map from its tapped layers: the layer's map upsampled, or with several layers the
// mean of their rectified maps scaled to [0, 1].
cv::Mat CamMethod::mapOf(const ExplainRequest &request, const std::vector<CamLayer> &tapped,
                         const JobContext &ctx, Explanation &out) const
{
    const auto &card = request.model->card();
    if (tapped.size() == 1)
        return tensorToMap(upsample(layerMap(request, tapped[0], ctx, out), card));
    auto sum = torch::zeros({card.inputHeight, card.inputWidth});
    for (size_t i = 0; i < tapped.size(); ++i) {
        const double n = double(tapped.size());
        const auto layerCtx = ctx.sub(double(i) / n, double(i + 1) / n, tapped[i].path);
        auto map = torch::relu(upsample(layerMap(request, tapped[i], layerCtx, out), card));
        const auto lo = map.min(), hi = map.max();
        sum += (map - lo) / (hi - lo).clamp_min(1e-7);
    }
    return tensorToMap(sum / double(tapped.size()));
}

Explanation CamMethod::explain(const ExplainRequest &request, const JobContext &ctx) const
{
    ExplanationBuilder builder(request, id());
    Explanation &out = builder.out();
    const auto layers = camLayers(request, id());
    out.layer = joinedLayers(layers);
    const auto tapped = tapLayers(request, layers, usesGradients(), ctx);
    out.forwardPasses += 1;
    out.backwardPasses += usesGradients() ? 1 : 0;
    out.map = mapOf(request, tapped, ctx, out);
    return builder.finish(ctx);
}

std::vector<Explanation> CamMethod::explainRows(const ExplainRequest &request,
                                                const JobContext &ctx) const
{
    if (!rowsInOnePass())
        return Method::explainRows(request, ctx);
    ExplanationBuilder builder(request, id(), /*rows=*/true);
    Explanation &out = builder.out();
    const auto layers = camLayers(request, id());
    out.layer = joinedLayers(layers);
    const auto tapped = tapLayers(request, layers, usesGradients(), ctx, &out.logits);
    const int64_t n = request.input.size(0);
    out.forwardPasses += int(n);
    out.backwardPasses += usesGradients() ? int(n) : 0;
    std::vector<cv::Mat> maps;
    for (int64_t r = 0; r < n; ++r) {
        ExplainRequest row = request;
        row.input = request.input.narrow(0, r, 1);
        std::vector<CamLayer> rowLayers;
        for (const auto &layer : tapped) {
            CamLayer l{layer.path, layer.output.narrow(0, r, 1), layer.activations.narrow(0, r, 1),
                       layer.gradients.defined() ? layer.gradients.narrow(0, r, 1)
                                                 : torch::Tensor()};
            rowLayers.push_back(std::move(l));
        }
        maps.push_back(mapOf(row, rowLayers, ctx, out));
    }
    return builder.finishRows(std::move(maps), out.signedMap, ctx);
}

} // namespace heatlens
