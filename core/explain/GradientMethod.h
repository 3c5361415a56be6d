#pragma once

#include "core/explain/MethodSupport.h"

namespace heatlens {

// Base of the gradient family. Owns the pipeline (argument checks, timing, reduction of
// per-element attributions to a map); a method implements attribute() and may change reduce().
class GradientMethod : public Method
{
public:
    std::string family() const override { return "gradient"; }
    Explanation explain(const ExplainRequest &request, const JobContext &ctx) const final;
    bool explainsRows() const final { return acceptsBatch(); }
    std::vector<Explanation> explainRows(const ExplainRequest &request,
                                         const JobContext &ctx) const final;

    // For wrappers (the noise tunnel): this method's per-element attributions and its map
    // reduction, as explain() uses them. `request.input` has one row unless acceptsBatch().
    torch::Tensor attributions(const ExplainRequest &request, const JobContext &ctx,
                               Explanation &out) const
    {
        return attribute(request, ctx, out);
    }
    torch::Tensor reduceToMap(const torch::Tensor &attributions, const Params &params,
                              bool &signedMap) const
    {
        return reduce(attributions, params, signedMap);
    }
    // True when attribute() handles a [B, C, H, W] input row by row in one pass.
    virtual bool acceptsBatch() const { return false; }

protected:
    // Attributions per input element, shape of request.input ([1, C, H, W]).
    virtual torch::Tensor attribute(const ExplainRequest &request, const JobContext &ctx,
                                    Explanation &out) const = 0;
    // Per-element attributions -> [H, W]. Default: sum over channels, signed.
    virtual torch::Tensor reduce(const torch::Tensor &attributions, const Params &params,
                                 bool &signedMap) const;

    // d logit[target] / d input for every row of `batch`; counts the passes in `out`.
    static torch::Tensor targetGradient(const Model &model, const torch::Tensor &batch, int target,
                                        Explanation &out);
};

} // namespace heatlens
