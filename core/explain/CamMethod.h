#pragma once

#include "core/explain/Method.h"

namespace heatlens {

// One tapped layer as a CAM method sees it.
struct CamLayer
{
    std::string path;
    torch::Tensor output;      // as the layer produced it: [1, K, h, w] or tokens [1, N, K]
    torch::Tensor activations; // [1, K, h, w] (tokens brought to their patch grid)
    torch::Tensor gradients;   // d target logit / d activations, same shape; undefined when the
                               // method does not use gradients
};

// Base of the CAM family. Owns the pipeline: tap the chosen layers (any TorchScript model, see
// LayerTap) in one forward pass, take the target logit's gradient with respect to their outputs
// in one backward pass, bring transformer tokens to their patch grid, upsample to input size.
// With several layers ("layer" = "a,b,c") each layer's map is rectified, scaled to [0, 1] and
// the maps are averaged (pytorch-grad-cam's multi-layer aggregation). A method implements
// layerMap().
class CamMethod : public Method
{
public:
    std::string family() const override { return "cam"; }
    std::vector<ParamSpec> params() const override;
    Explanation explain(const ExplainRequest &request, const JobContext &ctx) const final;
    bool explainsRows() const final { return rowsInOnePass(); }
    std::vector<Explanation> explainRows(const ExplainRequest &request,
                                         const JobContext &ctx) const final;

protected:
    virtual bool usesGradients() const { return true; }
    // True when layerMap() needs nothing but the tapped layer (no further passes), so that the
    // rows of a batch are explained by one tapped forward and backward pass.
    virtual bool rowsInOnePass() const { return false; }
    // One layer's map [h, w] (before upsampling). `ctx` covers this layer's share of progress.
    virtual torch::Tensor layerMap(const ExplainRequest &request, const CamLayer &layer,
                                   const JobContext &ctx, Explanation &out) const = 0;

private:
    cv::Mat mapOf(const ExplainRequest &request, const std::vector<CamLayer> &tapped,
                  const JobContext &ctx, Explanation &out) const;
};

// The gradient-weighted CAMs: a variant implements cam() only.
class GradientCamMethod : public CamMethod
{
protected:
    bool rowsInOnePass() const override { return true; }
    torch::Tensor layerMap(const ExplainRequest &, const CamLayer &layer, const JobContext &,
                           Explanation &) const final
    {
        return cam(layer.activations, layer.gradients);
    }
    // activations, gradients: [1, K, h, w] -> map [h, w] (before upsampling).
    virtual torch::Tensor cam(const torch::Tensor &activations,
                              const torch::Tensor &gradients) const = 0;
};

// The "layer" parameter of layer methods: one module path, or several separated by commas.
ParamSpec camLayerParam();

// A layer output as [1, K, h, w]: 4-D passes through; transformer tokens [1, N, K] lose the CLS
// token and are reshaped to the patch grid (from the card, else the square root of N - 1).
torch::Tensor toSpatial(const torch::Tensor &output, const ModelCard &card,
                        const std::string &layer);

// The layer paths a request names ("a,b" -> {a, b}), or the model's default CAM layer; throws
// std::invalid_argument naming the method when there is none.
std::vector<std::string> camLayers(const ExplainRequest &request, const std::string &methodId);

} // namespace heatlens
