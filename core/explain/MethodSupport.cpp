#include "core/explain/MethodSupport.h"

#include <algorithm>
#include <stdexcept>

namespace heatlens {

void checkRequest(const ExplainRequest &request, const std::string &methodId, bool rows)
{
    if (!request.model)
        throw std::invalid_argument(methodId + ": no model");
    const auto &card = request.model->card();
    const auto &in = request.input;
    if (!in.defined() || in.dim() != 4 || (rows ? in.size(0) < 1 : in.size(0) != 1) ||
        in.size(1) != card.inputChannels || in.size(2) != card.inputHeight ||
        in.size(3) != card.inputWidth)
        throw std::invalid_argument(methodId + ": expected an input of shape [" +
                                    (rows ? "N" : "1") + ", " + std::to_string(card.inputChannels) +
                                    ", " + std::to_string(card.inputHeight) + ", " +
                                    std::to_string(card.inputWidth) + "], got " +
                                    (in.defined() ? c10::str(in.sizes()) : std::string("nothing")));
    if (request.target < 0 || request.target >= request.model->numClasses())
        throw std::invalid_argument(methodId + ": target class " + std::to_string(request.target) +
                                    " is out of range [0, " +
                                    std::to_string(request.model->numClasses() - 1) + "]");
}

ParamSpec batchParam(const std::string &what, int defaultSize)
{
    return ParamSpec::integer("batch", "Batch size", defaultSize)
        .range(1, 1024)
        .describe(what + " per forward pass.");
}

ParamSpec seedParam(const std::string &what)
{
    return ParamSpec::integer("seed", "Seed", 0)
        .range(0, 1000000)
        .describe("Seed of " + what + ".");
}

cv::Mat tensorToMap(const torch::Tensor &map)
{
    auto t = map.detach().to(torch::kFloat32).contiguous();
    cv::Mat view(int(t.size(0)), int(t.size(1)), CV_32FC1, t.data_ptr<float>());
    return view.clone();
}

ExplanationBuilder::ExplanationBuilder(const ExplainRequest &request, const std::string &methodId,
                                       bool rows)
    : m_start(std::chrono::steady_clock::now())
{
    checkRequest(request, methodId, rows);
    m_out.methodId = methodId;
    m_out.params = request.params;
    m_out.target = request.target;
}

Explanation ExplanationBuilder::finish(const JobContext &ctx)
{
    m_out.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
    ctx.report(1.0);
    return std::move(m_out);
}

std::vector<Explanation> ExplanationBuilder::finishRows(std::vector<cv::Mat> maps, bool signedMap,
                                                        const JobContext &ctx)
{
    m_out.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
    ctx.report(1.0);
    const int n = std::max(1, int(maps.size()));
    const bool logits = m_out.logits.defined() && m_out.logits.size(0) == int64_t(maps.size());
    std::vector<Explanation> rows;
    rows.reserve(maps.size());
    for (auto &map : maps) {
        Explanation e = m_out;
        e.logits = logits ? m_out.logits.narrow(0, int64_t(rows.size()), 1) : torch::Tensor();
        e.map = std::move(map);
        e.signedMap = signedMap;
        e.seconds = m_out.seconds / n;
        e.forwardPasses = m_out.forwardPasses / n;
        e.backwardPasses = m_out.backwardPasses / n;
        rows.push_back(std::move(e));
    }
    return rows;
}

std::vector<Explanation> Method::explainRows(const ExplainRequest &, const JobContext &) const
{
    throw std::logic_error(id() + " cannot explain the rows of a batch in one pass");
}

} // namespace heatlens
