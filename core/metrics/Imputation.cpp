#include "core/metrics/Imputation.h"

#include <opencv2/core.hpp>
#include <opencv2/core/hal/intrin.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace heatlens {

namespace {

constexpr double kDirect = 1.0 / 6.0, kDiagonal = 1.0 / 12.0;
constexpr double kTolerance = 1e-6; // relative residual |b - Ax| / |b|
constexpr int kMaxIterations = 500;
constexpr int kSmoothing = 2;       // damped Jacobi sweeps before and after the coarse correction
constexpr double kOmega = 0.9;      // Jacobi damping (the stencil's high frequencies: [2/3, 4/3])
constexpr int kCoarsestSweeps = 16; // Jacobi sweeps on the coarsest grid
constexpr int kCoarsestSide = 5;    // a grid with a side below this is not coarsened further

std::string sizeOf(const cv::Mat &m)
{
    return std::to_string(m.cols) + "x" + std::to_string(m.rows);
}

// One grid of the multigrid hierarchy (single precision: it only preconditions). Vectors are
// stored padded: one row and column of zeros before the grid, two after (the restriction of an
// even-sized grid reads one further), so the stencil needs no bounds checks. Every vector is
// zero outside the unknowns.
struct Grid
{
    int h = 0, w = 0, stride = 0;
    std::vector<float> mask;   // 1 at unknowns
    std::vector<float> diag;   // at unknowns: the summed weight of the in-grid neighbours
    std::vector<float> jacobi; // at unknowns: omega / diag
    std::vector<float> rhs, err, tmp, row;

    Grid(int rows, int cols)
        : h(rows)
        , w(cols)
        , stride(cols + 3)
    {
        const size_t n = size_t(h + 3) * size_t(stride);
        mask.assign(n, 0.0f);
        diag.assign(n, 0.0f);
        jacobi.assign(n, 0.0f);
        rhs.assign(n, 0.0f);
        err.assign(n, 0.0f);
        tmp.assign(n, 0.0f);
        row.assign(size_t(w) + 4, 0.0f);
    }
    size_t at(int r, int c) const { return size_t(r + 1) * size_t(stride) + size_t(c + 1); }

    // The diagonal from the mask: the weights of the neighbours inside the grid.
    void finish()
    {
        for (int r = 0; r < h; ++r)
            for (int c = 0; c < w; ++c) {
                const size_t i = at(r, c);
                if (mask[i] == 0.0f)
                    continue;
                const int rows = 1 + (r > 0) + (r < h - 1), cols = 1 + (c > 0) + (c < w - 1);
                const int direct = (rows - 1) + (cols - 1);
                const int diagonal = (rows - 1) * (cols - 1);
                diag[i] = float(direct * kDirect + diagonal * kDiagonal);
                jacobi[i] = float(kOmega / (direct * kDirect + diagonal * kDiagonal));
            }
    }
};

// out[c] = (A x)(r, c) for one row of a grid: d x - sum_n w_n x_n on the unknowns, 0 elsewhere
// (x is zero outside the unknowns).
template<typename T>
void applyRow(const T *x, const float *m, const float *d, size_t at, ptrdiff_t s, int w, T *out)
{
    const T k1 = T(kDirect), k2 = T(kDiagonal);
    const T *up = x + at - s, *mid = x + at, *down = x + at + s;
    m += at;
    d += at;
    int c = 0;
#if CV_SIMD128
    if constexpr (std::is_same_v<T, float>) {
        const cv::v_float32x4 vk1 = cv::v_setall_f32(k1), vk2 = cv::v_setall_f32(k2);
        for (; c + 4 <= w; c += 4) {
            const auto direct = cv::v_load(mid + c - 1) + cv::v_load(mid + c + 1) +
                                cv::v_load(up + c) + cv::v_load(down + c);
            const auto diagonal = cv::v_load(up + c - 1) + cv::v_load(up + c + 1) +
                                  cv::v_load(down + c - 1) + cv::v_load(down + c + 1);
            const auto v = cv::v_load(d + c) * cv::v_load(mid + c) - vk1 * direct - vk2 * diagonal;
            cv::v_store(out + c, cv::v_load(m + c) * v);
        }
    }
#endif
    for (; c < w; ++c) {
        const T direct = mid[c - 1] + mid[c + 1] + up[c] + down[c];
        const T diagonal = up[c - 1] + up[c + 1] + down[c - 1] + down[c + 1];
        out[c] = T(m[c]) * (T(d[c]) * mid[c] - k1 * direct - k2 * diagonal);
    }
}

// One damped Jacobi sweep on A e = rhs: e += omega D^-1 (rhs - A e).
void smooth(Grid &g)
{
    const ptrdiff_t s = g.stride;
    for (int r = 0; r < g.h; ++r) {
        const size_t at = g.at(r, 0);
        float *ax = g.row.data();
        applyRow(g.err.data(), g.mask.data(), g.diag.data(), at, s, g.w, ax);
        const float *e = g.err.data() + at, *j = g.jacobi.data() + at, *b = g.rhs.data() + at;
        float *o = g.tmp.data() + at;
        int c = 0;
#if CV_SIMD128
        for (; c + 4 <= g.w; c += 4)
            cv::v_store(o + c, cv::v_load(e + c) +
                                   cv::v_load(j + c) * (cv::v_load(b + c) - cv::v_load(ax + c)));
#endif
        for (; c < g.w; ++c)
            o[c] = e[c] + j[c] * (b[c] - ax[c]);
    }
    std::swap(g.err, g.tmp);
}

// tmp = rhs - A err.
void residual(Grid &g)
{
    const ptrdiff_t s = g.stride;
    for (int r = 0; r < g.h; ++r) {
        const size_t at = g.at(r, 0);
        float *o = g.tmp.data() + at;
        applyRow(g.err.data(), g.mask.data(), g.diag.data(), at, s, g.w, o);
        const float *b = g.rhs.data() + at;
        for (int c = 0; c < g.w; ++c)
            o[c] = b[c] - o[c];
    }
}

// Coarse node (R, C) sits on fine pixel (2R, 2C). Prolongation is bilinear interpolation onto
// the fine unknowns; restriction is its transpose (full weighting, weights summing to 4, which
// also matches the stencil's scaling: A_2h ~ 4 A_h for smooth functions).
void restrictTo(const Grid &fine, const float *f, Grid &coarse, float *out)
{
    const ptrdiff_t s = fine.stride;
    for (int r = 0; r < coarse.h; ++r)
        for (int c = 0; c < coarse.w; ++c) {
            const size_t o = coarse.at(r, c);
            if (coarse.mask[o] == 0.0f) {
                out[o] = 0.0f;
                continue;
            }
            const float *p = f + fine.at(2 * r, 2 * c);
            out[o] = p[0] + 0.5f * (p[-1] + p[1] + p[-s] + p[s]) +
                     0.25f * (p[-s - 1] + p[-s + 1] + p[s - 1] + p[s + 1]);
        }
}

void prolongAdd(const Grid &coarse, const float *e, Grid &fine, float *out)
{
    std::vector<float> &row = fine.row;
    for (int r = 0; r < fine.h; ++r) {
        const float *a = e + coarse.at(r / 2, 0);
        if (r % 2 == 0) {
            std::copy(a, a + coarse.w, row.begin());
        } else {
            const float *b = e + coarse.at(r / 2 + 1, 0);
            for (int c = 0; c < coarse.w; ++c)
                row[size_t(c)] = 0.5f * (a[c] + b[c]);
        }
        const size_t at = fine.at(r, 0);
        const float *m = fine.mask.data() + at;
        float *o = out + at;
        for (int c = 0; c + 1 < fine.w; c += 2) {
            const size_t k = size_t(c / 2);
            o[c] += m[c] * row[k];
            o[c + 1] += m[c + 1] * 0.5f * (row[k] + row[k + 1]);
        }
        if (fine.w % 2 == 1)
            o[fine.w - 1] += m[fine.w - 1] * row[size_t(fine.w / 2)];
    }
}

struct Hierarchy
{
    std::vector<Grid> grids;

    explicit Hierarchy(const cv::Mat &removed)
    {
        grids.emplace_back(removed.rows, removed.cols);
        for (int r = 0; r < removed.rows; ++r) {
            const uchar *m = removed.ptr<uchar>(r);
            for (int c = 0; c < removed.cols; ++c)
                grids[0].mask[grids[0].at(r, c)] = m[c] != 0 ? 1.0f : 0.0f;
        }
        grids[0].finish();
        while (std::min(grids.back().h, grids.back().w) >= kCoarsestSide) {
            const Grid &f = grids.back();
            Grid c(f.h / 2 + 1, f.w / 2 + 1);
            // A coarse node is unknown when every fine pixel under its interpolation stencil is:
            // the coarse domain lies inside the fine one, as for a Dirichlet boundary.
            for (int r = 0; r < c.h; ++r)
                for (int k = 0; k < c.w; ++k) {
                    bool unknown = true;
                    for (int dr = -1; dr <= 1 && unknown; ++dr)
                        for (int dc = -1; dc <= 1 && unknown; ++dc) {
                            const int fr = 2 * r + dr, fc = 2 * k + dc;
                            if (fr >= 0 && fr < f.h && fc >= 0 && fc < f.w)
                                unknown = f.mask[f.at(fr, fc)] != 0.0f;
                        }
                    c.mask[c.at(r, k)] = unknown ? 1.0f : 0.0f;
                }
            c.finish();
            grids.push_back(std::move(c));
        }
    }

    // err = V-cycle(rhs) on grid `l`, a symmetric positive definite approximation of A^-1:
    // the same number of damped Jacobi sweeps before and after the coarse correction, the
    // restriction the transpose of the prolongation, a fixed number of sweeps on the coarsest.
    void vcycle(size_t l)
    {
        Grid &g = grids[l];
        const size_t n = g.err.size();
        for (size_t i = 0; i < n; ++i)
            g.err[i] = g.jacobi[i] * g.rhs[i];
        const bool coarsest = l + 1 == grids.size();
        for (int k = 1; k < (coarsest ? kCoarsestSweeps : kSmoothing); ++k)
            smooth(g);
        if (coarsest)
            return;
        residual(g);
        Grid &c = grids[l + 1];
        restrictTo(g, g.tmp.data(), c, c.rhs.data());
        vcycle(l + 1);
        prolongAdd(c, c.err.data(), g, g.err.data());
        for (int k = 0; k < kSmoothing; ++k)
            smooth(g);
    }

    // z = M^-1 r on the finest grid, left in grids[0].err; returns r . z.
    double precondition(const std::vector<double> &r)
    {
        Grid &g = grids[0];
        const size_t n = r.size();
        for (size_t i = 0; i < n; ++i)
            g.rhs[i] = float(r[i]);
        vcycle(0);
        double rz = 0.0;
        for (size_t i = 0; i < n; ++i)
            rz += r[i] * double(g.err[i]);
        return rz;
    }
};

// A first guess for the holes: push-pull. The known pixels are averaged down a pyramid of 2x2
// blocks until no block is empty, and each empty pixel takes the value of its parent block.
// The pyramid's shape depends on the mask only, so it is built once for all channels.
class PushPull
{
public:
    explicit PushPull(const cv::Mat &removed)
    {
        Level base{removed.rows, removed.cols, {}, {}};
        base.known.resize(size_t(base.h) * size_t(base.w));
        for (int r = 0; r < base.h; ++r)
            for (int c = 0; c < base.w; ++c)
                base.known[size_t(r) * size_t(base.w) + size_t(c)] = removed.at<uchar>(r, c) == 0;
        base.v.resize(base.known.size());
        levels_.push_back(std::move(base));
        auto holes = [](const Level &l) {
            return std::find(l.known.begin(), l.known.end(), 0) != l.known.end();
        };
        while (holes(levels_.back()) && (levels_.back().h > 1 || levels_.back().w > 1)) {
            const Level &f = levels_.back();
            Level c{(f.h + 1) / 2, (f.w + 1) / 2, {}, {}};
            c.known.assign(size_t(c.h) * size_t(c.w), 0);
            for (int r = 0; r < f.h; ++r)
                for (int k = 0; k < f.w; ++k)
                    c.known[size_t(r / 2) * size_t(c.w) + size_t(k / 2)] |=
                        f.known[size_t(r) * size_t(f.w) + size_t(k)];
            c.v.resize(c.known.size());
            levels_.push_back(std::move(c));
        }
    }

    // Fills the holes of `image`'s channel `k`; returns the finest level (row-major, h x w).
    const std::vector<float> &fill(const cv::Mat &image, int k)
    {
        Level &base = levels_[0];
        const int cn = image.channels();
        for (int r = 0; r < base.h; ++r) {
            const float *v = image.ptr<float>(r);
            for (int c = 0; c < base.w; ++c)
                base.v[size_t(r) * size_t(base.w) + size_t(c)] = v[c * cn + k];
        }
        for (size_t l = 1; l < levels_.size(); ++l) {
            const Level &f = levels_[l - 1];
            Level &c = levels_[l];
            std::vector<double> sum(c.v.size(), 0.0);
            std::vector<int> count(c.v.size(), 0);
            for (int r = 0; r < f.h; ++r)
                for (int k = 0; k < f.w; ++k) {
                    const size_t i = size_t(r) * size_t(f.w) + size_t(k);
                    if (f.known[i]) {
                        const size_t o = size_t(r / 2) * size_t(c.w) + size_t(k / 2);
                        sum[o] += double(f.v[i]);
                        ++count[o];
                    }
                }
            for (size_t i = 0; i < c.v.size(); ++i)
                c.v[i] = count[i] > 0 ? float(sum[i] / count[i]) : 0.0f;
        }
        for (size_t l = levels_.size() - 1; l-- > 0;) {
            Level &f = levels_[l];
            const Level &c = levels_[l + 1];
            for (int r = 0; r < f.h; ++r)
                for (int k = 0; k < f.w; ++k) {
                    const size_t i = size_t(r) * size_t(f.w) + size_t(k);
                    if (!f.known[i])
                        f.v[i] = c.v[size_t(r / 2) * size_t(c.w) + size_t(k / 2)];
                }
        }
        return base.v;
    }

private:
    struct Level
    {
        int h, w;
        std::vector<unsigned char> known;
        std::vector<float> v;
    };
    std::vector<Level> levels_;
};

struct Solution
{
    int iterations = 0;
    double relativeResidual = 0.0;
};

// Solves channel `k` of `image` into channel `k` of `out` (the removed pixels only) by
// conjugate gradients preconditioned with the multigrid V-cycle. The vectors live on the
// finest grid's padded layout, in double precision, and are shared by the channels.
class Solver
{
public:
    explicit Solver(const cv::Mat &removed)
        : mg_(removed)
        , guess_(removed)
    {
        const size_t n = mg_.grids[0].mask.size();
        for (auto *v : {&x_, &res_, &p_, &q_})
            v->assign(n, 0.0);
    }

    Solution solve(const cv::Mat &image, int k, cv::Mat &dst)
    {
        Grid &g = mg_.grids[0];
        const size_t n = g.mask.size();
        const int cn = image.channels();
        const ptrdiff_t s = g.stride;
        // The initial guess at the unknowns, the known values (in g.tmp, zero at the unknowns).
        const std::vector<float> &guess = guess_.fill(image, k);
        for (int r = 0; r < g.h; ++r) {
            const float *v = image.ptr<float>(r);
            for (int c = 0; c < g.w; ++c) {
                const size_t i = g.at(r, c);
                const bool unknown = g.mask[i] != 0.0f;
                x_[i] = unknown ? double(guess[size_t(r) * size_t(g.w) + size_t(c)]) : 0.0;
                g.tmp[i] = unknown ? 0.0f : v[c * cn + k];
            }
        }
        // res = b - A x, where b = sum_n w_n z_n over the known neighbours n of every unknown.
        double bb = 0.0, rr = 0.0;
        for (int r = 0; r < g.h; ++r) {
            const size_t at = g.at(r, 0);
            double *ax = q_.data() + at;
            applyRow(x_.data(), g.mask.data(), g.diag.data(), at, s, g.w, ax);
            for (int c = 0; c < g.w; ++c) {
                const float *z = g.tmp.data() + at + size_t(c);
                const double b =
                    double(g.mask[at + size_t(c)]) *
                    (kDirect * (double(z[-1]) + double(z[1]) + double(z[-s]) + double(z[s])) +
                     kDiagonal * (double(z[-s - 1]) + double(z[-s + 1]) + double(z[s - 1]) +
                                  double(z[s + 1])));
                res_[at + size_t(c)] = b - ax[c];
                bb += b * b;
                rr += res_[at + size_t(c)] * res_[at + size_t(c)];
            }
        }
        const double bNorm = std::sqrt(bb);
        Solution out;
        if (bNorm == 0.0) {
            // Every known neighbour is zero: so is the solution.
            std::fill(x_.begin(), x_.end(), 0.0);
        } else {
            out.relativeResidual = std::sqrt(rr) / bNorm;
            double rz = 0.0;
            while (out.relativeResidual > kTolerance && out.iterations < kMaxIterations) {
                const double rzNext = mg_.precondition(res_);
                const double beta = out.iterations == 0 ? 0.0 : rzNext / rz;
                rz = rzNext;
                const float *z = g.err.data();
                for (size_t i = 0; i < n; ++i)
                    p_[i] = double(z[i]) + beta * p_[i];
                double pq = 0.0;
                for (int r = 0; r < g.h; ++r) {
                    const size_t at = g.at(r, 0);
                    applyRow(p_.data(), g.mask.data(), g.diag.data(), at, s, g.w, q_.data() + at);
                    for (int c = 0; c < g.w; ++c)
                        pq += p_[at + size_t(c)] * q_[at + size_t(c)];
                }
                if (!(pq > 0.0) || !(rz > 0.0))
                    break;
                const double alpha = rz / pq;
                rr = 0.0;
                for (size_t i = 0; i < n; ++i) {
                    x_[i] += alpha * p_[i];
                    res_[i] -= alpha * q_[i];
                    rr += res_[i] * res_[i];
                }
                ++out.iterations;
                out.relativeResidual = std::sqrt(rr) / bNorm;
            }
        }
        for (int r = 0; r < g.h; ++r) {
            float *o = dst.ptr<float>(r);
            for (int c = 0; c < g.w; ++c) {
                const size_t i = g.at(r, c);
                if (g.mask[i] != 0.0f)
                    o[c * cn + k] = float(x_[i]);
            }
        }
        return out;
    }

private:
    Hierarchy mg_;
    PushPull guess_;
    std::vector<double> x_, res_, p_, q_;
};

} // namespace

cv::Mat noisyLinearImpute(const cv::Mat &image, const cv::Mat &removed, double noise, uint64_t seed,
                          ImputationStats *stats)
{
    if (image.empty() || image.depth() != CV_32F || image.channels() > 4 || image.dims != 2)
        throw std::invalid_argument("noisy linear imputation needs a non-empty CV_32F image "
                                    "with 1 to 4 channels, got " +
                                    (image.empty()
                                         ? std::string("an empty one")
                                         : cv::typeToString(image.type()) + " " + sizeOf(image)));
    if (removed.type() != CV_8UC1 || removed.size() != image.size())
        throw std::invalid_argument(
            "the removal mask must be CV_8UC1 of the image's size " + sizeOf(image) + ", got " +
            (removed.empty() ? std::string("an empty one")
                             : cv::typeToString(removed.type()) + " " + sizeOf(removed)));
    if (!(noise >= 0.0) || !std::isfinite(noise))
        throw std::invalid_argument("the imputation noise must be a finite number >= 0, got " +
                                    std::to_string(noise));
    if (stats)
        *stats = ImputationStats{};
    cv::Mat out = image.clone();
    const int removedCount = cv::countNonZero(removed);
    if (removedCount == 0)
        return out;
    if (removedCount == removed.rows * removed.cols) {
        // Nothing is known: nothing to interpolate from.
        out.setTo(cv::Scalar::all(0.0));
    } else {
        Solver solver(removed);
        for (int k = 0; k < image.channels(); ++k) {
            const Solution s = solver.solve(image, k, out);
            if (stats) {
                stats->iterations = std::max(stats->iterations, s.iterations);
                stats->relativeResidual = std::max(stats->relativeResidual, s.relativeResidual);
            }
        }
    }
    if (noise > 0.0) {
        std::mt19937_64 rng(seed);
        std::normal_distribution<double> gauss(0.0, noise);
        const int cn = out.channels();
        for (int r = 0; r < out.rows; ++r) {
            const uchar *m = removed.ptr<uchar>(r);
            float *o = out.ptr<float>(r);
            for (int c = 0; c < out.cols; ++c)
                if (m[c] != 0)
                    for (int k = 0; k < cn; ++k)
                        o[c * cn + k] = float(double(o[c * cn + k]) + gauss(rng));
        }
    }
    return out;
}

} // namespace heatlens
