#pragma once

#include <opencv2/core/mat.hpp>

#include <cstdint>

namespace heatlens {

// A map of seeded uniform noise in [0, 1): the random ranking every metric compares against.
// Registered as the control "random" (MethodRegistry::controls()): the curves, the evaluation
// and their figures ask the registry for it like for any method.
cv::Mat randomMap(int rows, int cols, uint64_t seed);

} // namespace heatlens
