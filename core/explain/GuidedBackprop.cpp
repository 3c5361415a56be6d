// Gradient methods with a modified ReLU backward (Guided Backprop, DeconvNet) and Guided
// Grad-CAM. The modified backward runs on a private copy of forward's graph whose ReLUs are
// replaced by operators with their own autograd (LayerTap with a ReluRule): the model itself
// and its export are never changed.
#include "core/explain/CamMethod.h"
#include "core/explain/GradientMethod.h"
#include "core/explain/MethodRegistry.h"
#include "core/model/LayerTap.h"

#include <torch/csrc/autograd/autograd.h>

namespace heatlens {

namespace {

ParamSpec absParam()
{
    return ParamSpec::flag("abs", "Absolute value", true)
        .describe(
            "Show |attribution| (max over channels) instead of the signed sum over channels.");
}

// d logit[target] / d input through the rewritten ReLUs, for every row of `batch`.
torch::Tensor ruleGradient(const ExplainRequest &request, const torch::Tensor &batch, ReluRule rule,
                           Explanation &out)
{
    const auto tap = request.model->layerTap({}, rule);
    const std::string noRelu = "the model has no ReLU: the attribution is the plain gradient";
    if (tap->rewrittenRelus() == 0 &&
        std::find(out.warnings.begin(), out.warnings.end(), noRelu) == out.warnings.end())
        out.warnings.push_back(noRelu);
    auto input = batch.detach().clone().requires_grad_(true);
    auto logits = tap->run(input).logits;
    auto grads = torch::autograd::grad({logits.select(1, request.target).sum()}, {input});
    out.forwardPasses += int(batch.size(0));
    out.backwardPasses += int(batch.size(0));
    out.stats["relus_rewritten"] = tap->rewrittenRelus();
    return grads[0].detach();
}

class RuleGradientMethod : public GradientMethod
{
public:
    std::vector<ParamSpec> params() const override { return {absParam()}; }
    bool acceptsBatch() const override { return true; }

protected:
    virtual ReluRule rule() const = 0;

    torch::Tensor attribute(const ExplainRequest &request, const JobContext &ctx,
                            Explanation &out) const override
    {
        ctx.throwIfCancelled();
        return ruleGradient(request, request.input, rule(), out);
    }

    torch::Tensor reduce(const torch::Tensor &a, const Params &params,
                         bool &signedMap) const override
    {
        signedMap = !params.getBool("abs");
        return signedMap ? a[0].sum(0) : std::get<0>(a[0].abs().max(0));
    }
};

// Springenberg et al. 2015: the gradient, but every ReLU passes back only positive gradients
// where its input was positive.
class GuidedBackprop : public RuleGradientMethod
{
public:
    std::string id() const override { return "guided-backprop"; }
    std::string name() const override { return "Guided Backprop"; }
    std::string description() const override
    {
        return "Gradient where every ReLU passes back only positive gradients of positive "
               "inputs.";
    }

protected:
    ReluRule rule() const override { return ReluRule::Guided; }
};

// Zeiler & Fergus 2014: every ReLU passes back the rectified gradient, whatever its input.
class DeconvNet : public RuleGradientMethod
{
public:
    std::string id() const override { return "deconvnet"; }
    std::string name() const override { return "DeconvNet"; }
    std::string description() const override
    {
        return "Gradient where every ReLU passes back the rectified gradient (deconvolution).";
    }

protected:
    ReluRule rule() const override { return ReluRule::Deconv; }
};

// Selvaraju et al. 2017: Guided Backprop multiplied element-wise by the Grad-CAM map of a layer
// (upsampled to the input), as Captum's GuidedGradCam: fine detail where the class is.
class GuidedGradCam : public RuleGradientMethod
{
public:
    std::string id() const override { return "guided-grad-cam"; }
    std::string name() const override { return "Guided Grad-CAM"; }
    std::string description() const override
    {
        return "Guided Backprop weighted by the Grad-CAM map of a layer.";
    }
    std::vector<ParamSpec> params() const override { return {camLayerParam(), absParam()}; }
    bool acceptsBatch() const override { return false; }

protected:
    ReluRule rule() const override { return ReluRule::Guided; }

    torch::Tensor attribute(const ExplainRequest &request, const JobContext &ctx,
                            Explanation &out) const override
    {
        const Method &gradCam = MethodRegistry::instance().get("grad-cam");
        ExplainRequest camRequest = request;
        Params camParams;
        camParams.set("layer", request.params.getString("layer"));
        camRequest.params = completeParams(gradCam.params(), camParams, gradCam.id());
        const Explanation cam = gradCam.explain(camRequest, JobContext(nullptr, ctx.cancelToken()));
        out.layer = cam.layer;
        out.forwardPasses += cam.forwardPasses;
        out.backwardPasses += cam.backwardPasses;
        ctx.throwIfCancelled();
        const auto guided = ruleGradient(request, request.input, rule(), out);
        cv::Mat camMap = cam.map.clone();
        const auto weights =
            torch::from_blob(camMap.data, {1, 1, camMap.rows, camMap.cols}, torch::kFloat32)
                .clone();
        return guided * weights;
    }
};

} // namespace

std::unique_ptr<Method> makeGuidedBackprop()
{
    return std::make_unique<GuidedBackprop>();
}
std::unique_ptr<Method> makeDeconvNet()
{
    return std::make_unique<DeconvNet>();
}
std::unique_ptr<Method> makeGuidedGradCam()
{
    return std::make_unique<GuidedGradCam>();
}

} // namespace heatlens
