#pragma once

#include "core/jobs/CancelToken.h"

#include <opencv2/core/mat.hpp>

#include <any>
#include <functional>
#include <string>

namespace heatlens {

// One progress report: a fraction in [0, 1], a short message and, for work that streams, the
// result so far: a partial map (methods) or any other partial result (a curve so far, the
// sanity-check steps done so far); both empty otherwise.
struct ProgressUpdate
{
    double fraction = 0.0;
    std::string message;
    cv::Mat partialMap;
    std::any partialResult;

    bool hasPartial() const { return !partialMap.empty() || partialResult.has_value(); }
};

// What core work receives from its caller (JobRunner in the GUI, the CLI loop, a test):
// where to report progress and how to learn that it should stop.
class JobContext
{
public:
    using Callback = std::function<void(const ProgressUpdate &)>;

    JobContext() = default;
    explicit JobContext(Callback callback, CancelToken token = {})
        : m_callback(std::move(callback))
        , m_token(std::move(token))
    {}

    void report(double fraction, const std::string &message = {}) const;
    void reportPartial(double fraction, const cv::Mat &partial,
                       const std::string &message = {}) const;
    void reportPartialResult(double fraction, std::any partial,
                             const std::string &message = {}) const;
    const CancelToken &cancelToken() const { return m_token; }
    void throwIfCancelled() const { m_token.throwIfCancelled(); }

    // A context for a sub-task covering [begin, end] of this one's progress range; `prefix`,
    // when given, is put before the sub-task's messages ("member 2/5  ...").
    JobContext sub(double begin, double end, const std::string &prefix = {}) const;

private:
    Callback m_callback;
    CancelToken m_token;
};

} // namespace heatlens
