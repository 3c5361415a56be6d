#pragma once

#include <algorithm>
#include <chrono>
#include <functional>

namespace heatlens::bench {

// Best of `repeat` timed runs of `fn`, after one untimed warm-up run, in seconds.
inline double seconds(const std::function<void()> &fn, int repeat)
{
    fn();
    double best = 1e30;
    for (int i = 0; i < repeat; ++i) {
        const auto start = std::chrono::steady_clock::now();
        fn();
        best = std::min(
            best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return best;
}

} // namespace heatlens::bench
