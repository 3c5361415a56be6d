#include "core/jobs/Progress.h"

#include <algorithm>

namespace heatlens {

void JobContext::report(double fraction, const std::string &message) const
{
    if (m_callback)
        m_callback({std::clamp(fraction, 0.0, 1.0), message, cv::Mat(), {}});
}

void JobContext::reportPartial(double fraction, const cv::Mat &partial,
                               const std::string &message) const
{
    if (m_callback)
        m_callback({std::clamp(fraction, 0.0, 1.0), message, partial, {}});
}

void JobContext::reportPartialResult(double fraction, std::any partial,
                                     const std::string &message) const
{
    if (m_callback)
        m_callback({std::clamp(fraction, 0.0, 1.0), message, cv::Mat(), std::move(partial)});
}

JobContext JobContext::sub(double begin, double end, const std::string &prefix) const
{
    if (!m_callback)
        return JobContext({}, m_token);
    auto parent = m_callback;
    return JobContext(
        [parent, begin, end, prefix](const ProgressUpdate &u) {
            parent({begin + (end - begin) * u.fraction,
                    prefix.empty() ? u.message : prefix + "  " + u.message, u.partialMap,
                    u.partialResult});
        },
        m_token);
}

} // namespace heatlens
