#pragma once

#include <opencv2/core/mat.hpp>

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace heatlens {

// Estimates of the memory a value holds, for the caches' byte bound (core/jobs/ResultCache.h).
// Types of core add their own overload beside their definition; these cover the parts they are
// made of. Shared buffers are counted by every holder: an estimate errs on the high side.
inline size_t bytesHeld(const cv::Mat &m)
{
    return m.empty() ? 0 : m.total() * m.elemSize();
}

inline size_t bytesHeld(const std::string &s)
{
    return s.capacity();
}

template<typename T> size_t bytesHeld(const std::vector<T> &v)
{
    return v.capacity() * sizeof(T);
}

inline size_t bytesHeld(const std::vector<std::string> &v)
{
    size_t n = v.capacity() * sizeof(std::string);
    for (const auto &s : v)
        n += s.capacity();
    return n;
}

} // namespace heatlens
