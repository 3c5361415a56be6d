#pragma once

#include <opencv2/core/mat.hpp>

#include <cstdint>

namespace heatlens {

// What noisyLinearImpute's solver needed (for tests and benchmarks).
struct ImputationStats
{
    int iterations = 0;            // conjugate-gradient iterations, the most over the channels
    double relativeResidual = 0.0; // final |b - Ax| / |b|, the largest over the channels
};

// ROAD's noisy linear imputation (Rong, Leemann et al. 2022, "A Consistent and Efficient
// Evaluation Strategy for Attribution Methods"; pytorch-grad-cam's NoisyLinearImputer, Quantus'
// ROAD). Every removed pixel becomes the weighted mean of its in-image 8 neighbours (direct ones
// weight 1/6, diagonal ones 1/12; neighbours outside the image are left out), where removed
// neighbours are unknowns too: the sparse system
//     sum_n w_n (x_i - x_n) = 0   for every removed pixel i, kept neighbours fixed,
// is solved per channel, then N(0, noise^2) noise is added to the imputed values only (one
// std::mt19937_64 seeded with `seed`, drawn in row-major pixel order, channels innermost, so the
// result is deterministic; noise 0 draws nothing).
//   image    CV_32F with 1 to 4 channels, any size
//   removed  CV_8UC1 of the image's size, non-zero = the pixel is imputed (all its channels)
// Returns a new image of the image's type; kept pixels are bit-identical to the input. When
// every pixel is removed there is nothing to interpolate from: the result is 0 (plus noise).
// For a linear image a r + b c + d and no noise, removed pixels are reproduced exactly (to the
// solver's tolerance) as long as none of them lies on the image border (there the weighted
// mean of the in-image neighbours is not the centre value).
// The solver is conjugate gradients in double precision, preconditioned by a single-precision
// geometric multigrid V-cycle and started from a push-pull (pyramid) fill of the holes; it stops
// at a relative residual |b - Ax| / |b| of 1e-6 (typically after 3 to 16 iterations), or after
// 500 iterations. Grids are coarsened while both sides are at least 5 px, so strips thinner than
// that converge slowly (more iterations, errors up to ~1e-3 of the value range).
// `stats`, when given, receives what the solver needed.
// Throws std::invalid_argument naming the problem for a bad type, a size mismatch or a
// negative (or not finite) noise.
cv::Mat noisyLinearImpute(const cv::Mat &image, const cv::Mat &removed, double noise, uint64_t seed,
                          ImputationStats *stats = nullptr);

} // namespace heatlens
