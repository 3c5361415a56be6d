#include "core/explain/ExplainJob.h"

#include "core/data/Dataset.h"
#include "core/explain/MethodRegistry.h"
#include "core/jobs/BytesHeld.h"

#include <opencv2/core.hpp>

#include <algorithm>
#include <limits>
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
    if (const int64_t bad = (~torch::isfinite(logits)).sum().item<int64_t>(); bad > 0)
        throw std::runtime_error(model.path() +
                                 ": the model's logits are NaN or infinite for "
                                 "this image (" +
                                 std::to_string(bad) + " of " + std::to_string(logits.numel()) +
                                 " classes); there is no prediction to explain");
    auto probs = torch::softmax(logits, 0).contiguous();
    Prediction p;
    p.logits.assign(logits.data_ptr<float>(), logits.data_ptr<float>() + logits.numel());
    p.probabilities.assign(probs.data_ptr<float>(), probs.data_ptr<float>() + probs.numel());
    p.predicted = int(logits.argmax().item<int64_t>());
    return p;
}

namespace {

// A map with NaN or infinite values would be drawn and exported as if it were an answer.
void checkFinite(const Explanation &e, const Model &model)
{
    if (e.map.empty() || cv::checkRange(e.map))
        return;
    cv::Mat finite = e.map == e.map; // false at NaN
    cv::Mat bounded = cv::abs(e.map) < std::numeric_limits<float>::infinity();
    const int good = cv::countNonZero(finite & bounded);
    throw std::runtime_error(e.methodId + " on " + model.path() + " gave " +
                             std::to_string(e.map.total() - size_t(good)) + " of " +
                             std::to_string(e.map.total()) +
                             " pixels NaN or infinite (the model's gradients or outputs overflow "
                             "for this image); no map is shown");
}

} // namespace

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
    if (method.usesReferences() && job.references)
        request.references = drawReferences(*job.model, *job.references, 64, ctx);
    ctx.throwIfCancelled();
    outcome.explanation = method.explain(request, ctx);
    checkFinite(outcome.explanation, *job.model);
    outcome.nativeMap = mapToNative(outcome.explanation.map, outcome.geometry);
    return outcome;
}

namespace {

// Preprocesses what it can of indices[begin, end); `rows` gets the position of each input.
torch::Tensor preprocessBatch(const Model &model, const Dataset &dataset,
                              const std::vector<size_t> &indices, size_t begin, size_t end,
                              std::vector<size_t> &rows)
{
    std::vector<torch::Tensor> inputs;
    for (size_t i = begin; i < end; ++i) {
        try {
            inputs.push_back(model.preprocess(dataset.load(indices[i]).image));
            rows.push_back(i);
        } catch (const std::exception &) {
            // Left at -1: the browser shows the sample as unreadable.
        }
    }
    return inputs.empty() ? torch::Tensor() : torch::cat(inputs);
}

} // namespace

torch::Tensor drawReferences(const Model &model, const Dataset &dataset, int count,
                             const JobContext &ctx)
{
    std::vector<size_t> indices;
    const size_t n = dataset.size();
    for (size_t i = 0; i < size_t(std::max(count, 0)) && i < n; ++i)
        indices.push_back(i * n / std::min(n, size_t(count)));
    ctx.throwIfCancelled();
    std::vector<size_t> rows;
    return preprocessBatch(model, dataset, indices, 0, indices.size(), rows);
}

std::vector<int> predictSamples(const Model &model, const Dataset &dataset,
                                const std::vector<size_t> &indices, int batch,
                                const JobContext &ctx)
{
    std::vector<int> predicted(indices.size(), -1);
    const size_t step = size_t(std::max(1, batch));
    for (size_t begin = 0; begin < indices.size(); begin += step) {
        ctx.throwIfCancelled();
        const size_t end = std::min(indices.size(), begin + step);
        std::vector<size_t> rows;
        auto input = preprocessBatch(model, dataset, indices, begin, end, rows);
        if (input.defined()) {
            const auto logits = model.predict(input);
            const auto classes = logits.argmax(1);
            const auto finite = torch::isfinite(logits).all(1); // NaN logits predict nothing
            for (size_t r = 0; r < rows.size(); ++r)
                if (finite[int64_t(r)].item<bool>())
                    predicted[rows[r]] = int(classes[int64_t(r)].item<int64_t>());
        }
        ctx.report(double(end) / double(indices.size()),
                   std::to_string(end) + " of " + std::to_string(indices.size()) + " images");
    }
    return predicted;
}

size_t bytesHeld(const Prediction &prediction)
{
    return bytesHeld(prediction.logits) + bytesHeld(prediction.probabilities);
}

size_t bytesHeld(const Explanation &explanation)
{
    return sizeof(Explanation) + bytesHeld(explanation.map) + bytesHeld(explanation.warnings) +
           explanation.stats.size() * 64;
}

size_t bytesHeld(const ExplainOutcome &outcome)
{
    return bytesHeld(outcome.prediction) + bytesHeld(outcome.explanation) +
           bytesHeld(outcome.nativeMap);
}

} // namespace heatlens
