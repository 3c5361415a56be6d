#include "core/explain/GradientMethod.h"

#include <torch/csrc/autograd/autograd.h>

#include <chrono>
#include <stdexcept>

namespace heatlens {

void checkRequest(const ExplainRequest &request, const std::string &methodId)
{
    if (!request.model)
        throw std::invalid_argument(methodId + ": no model");
    const auto &card = request.model->card();
    const auto &in = request.input;
    if (!in.defined() || in.dim() != 4 || in.size(0) != 1 || in.size(1) != card.inputChannels ||
        in.size(2) != card.inputHeight || in.size(3) != card.inputWidth)
        throw std::invalid_argument(
            methodId + ": expected an input of shape [1, " + std::to_string(card.inputChannels) +
            ", " + std::to_string(card.inputHeight) + ", " + std::to_string(card.inputWidth) +
            "], got " + (in.defined() ? c10::str(in.sizes()) : std::string("nothing")));
    if (request.target < 0 || request.target >= request.model->numClasses())
        throw std::invalid_argument(methodId + ": target class " + std::to_string(request.target) +
                                    " is out of range [0, " +
                                    std::to_string(request.model->numClasses() - 1) + "]");
}

cv::Mat tensorToMap(const torch::Tensor &map)
{
    auto t = map.detach().to(torch::kFloat32).contiguous();
    cv::Mat view(int(t.size(0)), int(t.size(1)), CV_32FC1, t.data_ptr<float>());
    return view.clone();
}

Explanation GradientMethod::explain(const ExplainRequest &request, const JobContext &ctx) const
{
    checkRequest(request, id());
    const auto start = std::chrono::steady_clock::now();
    Explanation out;
    out.methodId = id();
    out.params = request.params;
    out.target = request.target;
    torch::Tensor attributions = attribute(request, ctx, out);
    bool signedMap = true;
    out.map = tensorToMap(reduce(attributions, request.params, signedMap));
    out.signedMap = signedMap;
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ctx.report(1.0);
    return out;
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
    out.forwardPasses += int(batch.size(0));
    out.backwardPasses += int(batch.size(0));
    return grads[0].detach();
}

} // namespace heatlens
