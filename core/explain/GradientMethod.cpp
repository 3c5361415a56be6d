#include "core/explain/GradientMethod.h"

#include <torch/csrc/autograd/autograd.h>

#include <stdexcept>

namespace heatlens {

Explanation GradientMethod::explain(const ExplainRequest &request, const JobContext &ctx) const
{
    ExplanationBuilder builder(request, id());
    Explanation &out = builder.out();
    torch::Tensor attributions = attribute(request, ctx, out);
    bool signedMap = true;
    out.map = tensorToMap(reduce(attributions, request.params, signedMap));
    out.signedMap = signedMap;
    out.logits = torch::Tensor(); // only explainRows reports them
    return builder.finish(ctx);
}

std::vector<Explanation> GradientMethod::explainRows(const ExplainRequest &request,
                                                     const JobContext &ctx) const
{
    if (!acceptsBatch())
        return Method::explainRows(request, ctx);
    ExplanationBuilder builder(request, id(), /*rows=*/true);
    torch::Tensor attributions = attribute(request, ctx, builder.out());
    bool signedMap = true;
    std::vector<cv::Mat> maps;
    for (int64_t r = 0; r < attributions.size(0); ++r)
        maps.push_back(
            tensorToMap(reduce(attributions.narrow(0, r, 1), request.params, signedMap)));
    return builder.finishRows(std::move(maps), signedMap, ctx);
}

torch::Tensor GradientMethod::reduce(const torch::Tensor &attributions, const Params &,
                                     bool &signedMap) const
{
    signedMap = true;
    return attributions[0].sum(0);
}

torch::Tensor GradientMethod::targetGradient(const Model &model, const torch::Tensor &batch,
                                             int target, Explanation &out)
{
    auto input = batch.detach().clone().requires_grad_(true);
    auto logits = model.forward(input);
    auto score = logits.select(1, target).sum(); // rows are independent in eval mode
    auto grads = torch::autograd::grad({score}, {input});
    out.logits = logits.detach(); // of the last batch (explainRows: the rows themselves)
    out.forwardPasses += int(batch.size(0));
    out.backwardPasses += int(batch.size(0));
    return grads[0].detach();
}

} // namespace heatlens
