#include "core/explain/Explainer.h"

#include "core/explain/MethodRegistry.h"

#include <algorithm>
#include <numeric>

namespace heatlens {

std::vector<int> Prediction::topK(int k) const
{
    std::vector<int> order(probabilities.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return probabilities[a] > probabilities[b]; });
    order.resize(std::min<size_t>(order.size(), size_t(std::max(0, k))));
    return order;
}

Prediction predictInput(const Model &model, const torch::Tensor &input)
{
    auto logits = model.predict(input)[0].to(torch::kFloat32).contiguous();
    auto probs = torch::softmax(logits, 0).contiguous();
    Prediction p;
    p.logits.assign(logits.data_ptr<float>(), logits.data_ptr<float>() + logits.numel());
    p.probabilities.assign(probs.data_ptr<float>(), probs.data_ptr<float>() + probs.numel());
    p.predicted = int(logits.argmax().item<int64_t>());
    return p;
}

ExplainOutcome runExplain(const ExplainJob &job, const JobContext &ctx)
{
    const Method &method = MethodRegistry::instance().get(job.methodId);
    ExplainOutcome outcome;
    ExplainRequest request;
    request.model = job.model;
    request.input = job.model->preprocess(job.image, &outcome.geometry);
    request.params = completeParams(method.params(), job.params, method.id());
    outcome.prediction = predictInput(*job.model, request.input);
    request.target = job.target >= 0 ? job.target : outcome.prediction.predicted;
    ctx.throwIfCancelled();
    outcome.explanation = method.explain(request, ctx);
    outcome.nativeMap = mapToNative(outcome.explanation.map, outcome.geometry);
    return outcome;
}

} // namespace heatlens
