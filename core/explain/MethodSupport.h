#pragma once

#include "core/explain/Method.h"

#include <chrono>

namespace heatlens {

// Shared request checks for every family: input shape and target range. Throws
// std::invalid_argument naming the method and the value received.
// With `rows`, the input may have any number of rows (Method::explainRows).
void checkRequest(const ExplainRequest &request, const std::string &methodId, bool rows = false);

// Parameters many methods share. `batch`: "<what> per forward pass" (Int, 1..1024);
// `seed`: "Seed of <what>." (Int, 0..1000000, default 0).
ParamSpec batchParam(const std::string &what, int defaultSize = 32);
ParamSpec seedParam(const std::string &what);

// [H, W] float tensor -> CV_32FC1 (copied).
cv::Mat tensorToMap(const torch::Tensor &map);

// The bookkeeping every family base does around a method: checks the request, fills in method,
// parameters and target, and on finish() records the elapsed time and reports completion.
class ExplanationBuilder
{
public:
    ExplanationBuilder(const ExplainRequest &request, const std::string &methodId,
                       bool rows = false);

    Explanation &out() { return m_out; }
    Explanation finish(const JobContext &ctx);
    // For explainRows(): one explanation per map, sharing out()'s fields; passes and time are
    // divided among the rows.
    std::vector<Explanation> finishRows(std::vector<cv::Mat> maps, bool signedMap,
                                        const JobContext &ctx);

private:
    std::chrono::steady_clock::time_point m_start;
    Explanation m_out;
};

} // namespace heatlens
