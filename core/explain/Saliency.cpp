#include "core/explain/GradientMethod.h"

namespace heatlens {

namespace {

// Simonyan et al. 2014: the gradient of the target logit with respect to the input.
class Saliency : public GradientMethod
{
public:
    std::string id() const override { return "saliency"; }
    std::string name() const override { return "Saliency"; }
    std::string description() const override
    {
        return "Gradient of the target logit with respect to the input pixels.";
    }
    std::vector<ParamSpec> params() const override
    {
        return {ParamSpec::flag("abs", "Absolute value", true)
                    .describe("Show |gradient| (max over channels) instead of the signed gradient "
                              "(sum over channels).")};
    }

    bool acceptsBatch() const override { return true; }

protected:
    torch::Tensor attribute(const ExplainRequest &request, const JobContext &ctx,
                            Explanation &out) const override
    {
        ctx.throwIfCancelled();
        return targetGradient(*request.model, request.input, request.target, out);
    }

    torch::Tensor reduce(const torch::Tensor &grads, const Params &params,
                         bool &signedMap) const override
    {
        signedMap = !params.getBool("abs");
        return signedMap ? grads[0].sum(0) : std::get<0>(grads[0].abs().max(0));
    }
};

} // namespace

std::unique_ptr<Method> makeSaliency()
{
    return std::make_unique<Saliency>();
}

} // namespace heatlens
