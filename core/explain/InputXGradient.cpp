#include "core/explain/GradientMethod.h"

namespace heatlens {

namespace {

// Shrikumar et al. 2016: input times the gradient of the target logit, per element. For a
// linear model it is each feature's exact contribution w * x; like every method here it is
// computed in the model's (normalised) input space.
class InputXGradient : public GradientMethod
{
public:
    std::string id() const override { return "input-x-gradient"; }
    std::string name() const override { return "Input x Gradient"; }
    std::string description() const override
    {
        return "Input times the gradient of the target logit (signed, summed over channels).";
    }
    std::vector<ParamSpec> params() const override { return {}; }
    bool acceptsBatch() const override { return true; }

protected:
    torch::Tensor attribute(const ExplainRequest &request, const JobContext &ctx,
                            Explanation &out) const override
    {
        ctx.throwIfCancelled();
        return request.input * targetGradient(*request.model, request.input, request.target, out);
    }
};

} // namespace

std::unique_ptr<Method> makeInputXGradient()
{
    return std::make_unique<InputXGradient>();
}

} // namespace heatlens
