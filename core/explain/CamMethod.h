#pragma once

#include "core/explain/Method.h"

namespace heatlens {

// Base of the CAM family. Owns the pipeline: tap the chosen layer (any TorchScript model, see
// LayerTap), take the target logit's gradient with respect to its output, bring transformer
// tokens to their patch grid, upsample to input size. A CAM variant implements cam() only.
class CamMethod : public Method
{
public:
    std::string family() const override { return "cam"; }
    std::vector<ParamSpec> params() const override;
    Explanation explain(const ExplainRequest &request, const JobContext &ctx) const final;

protected:
    // activations, gradients: [1, K, h, w] -> map [h, w] (before upsampling).
    virtual torch::Tensor cam(const torch::Tensor &activations,
                              const torch::Tensor &gradients) const = 0;
};

// A layer output as [1, K, h, w]: 4-D passes through; transformer tokens [1, N, K] lose the CLS
// token and are reshaped to the patch grid (from the card, else the square root of N - 1).
torch::Tensor toSpatial(const torch::Tensor &output, const ModelCard &card,
                        const std::string &layer);

} // namespace heatlens
