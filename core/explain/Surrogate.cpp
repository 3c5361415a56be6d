#include "core/explain/Perturbation.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

namespace heatlens {

namespace {

// LIME and KernelSHAP: both fit a linear surrogate g(z) = phi0 + sum_g phi_g z_g of the target
// logit over interpretable inputs z in {0, 1}^G, where the G features are the groups of Feature
// Ablation (grid cells or superpixels: z_g = 1 keeps group g, 0 removes it, all channels, as the
// "fill" parameter says). Coalitions are played on the coalition game of the Groups tab, so a
// coalition drawn twice costs one model call. They differ in how coalitions z are drawn and
// weighted. The normal equations are accumulated batch by batch in double precision, so memory
// stays O(G^2) whatever the sample count (the game keeps the logits of every distinct coalition).

// The base of the two surrogates: draws `total` coalitions with `draw(n)` (rows in a fixed
// order, so that the batch size does not change them), plays them on the game of the groups
// and hands z and the target logits (double) to `consume`. No partial maps: the surrogate's
// coefficients exist only once the fit is done.
class SurrogateMethod : public PerturbationMethod
{
protected:
    std::string batchHolds() const override { return "Sampled images"; }
    std::string seedDraws() const override
    {
        return "the sampled coalitions and of the uniform-noise baseline";
    }

    static void sampleCoalitions(
        const PerturbationInput &in, CoalitionGame &game, int64_t total, const JobContext &ctx,
        Explanation &out, const std::function<torch::Tensor(int64_t n)> &draw,
        const std::function<void(const torch::Tensor &z, const torch::Tensor &f)> &consume)
    {
        torch::Tensor z; // the coalitions of the batch in flight, [n, G] 0/1 floats
        play(
            in, game, total, "samples", ctx, out,
            [&](int64_t begin, int64_t end) {
                z = draw(end - begin);
                return coalitionsOf(z);
            },
            [&](int64_t begin, int64_t end, const std::vector<PlayerSet> &coalitions) {
                auto f = torch::empty({end - begin}, torch::kFloat64);
                double *v = f.data_ptr<double>();
                for (size_t r = 0; r < coalitions.size(); ++r)
                    v[r] = game.value(coalitions[r], in.request.target);
                consume(z.to(torch::kFloat64), f);
                return torch::Tensor();
            });
    }

    // The target logits of the coalitions z [n, G], played on the game.
    static torch::Tensor values(const PerturbationInput &in, CoalitionGame &game,
                                const torch::Tensor &z, const JobContext &ctx, Explanation &out)
    {
        const auto coalitions = coalitionsOf(z);
        const int before = game.calls();
        game.evaluate(coalitions, JobContext({}, ctx.cancelToken()));
        out.forwardPasses += game.calls() - before;
        auto f = torch::empty({z.size(0)}, torch::kFloat64);
        for (size_t r = 0; r < coalitions.size(); ++r)
            f[int64_t(r)] = game.value(coalitions[r], in.request.target);
        return f;
    }

private:
    static std::vector<PlayerSet> coalitionsOf(const torch::Tensor &z)
    {
        const auto rows = z.contiguous();
        const int g = int(rows.size(1));
        const float *d = rows.data_ptr<float>();
        std::vector<PlayerSet> sets;
        for (int64_t r = 0; r < rows.size(0); ++r) {
            PlayerSet s(g);
            for (int i = 0; i < g; ++i)
                if (d[r * g + i] > 0.5f)
                    s.add(i);
            sets.push_back(std::move(s));
        }
        return sets;
    }
};

// Solves the normal equations (gram + diag(penalty)) x = b. `rank` receives the rank of `gram`,
// the unregularised normal matrix, so the caller can warn about coefficients the samples do not
// determine. `regular` says the penalty makes the system regular whatever the rank; otherwise a
// rank-deficient system gets its minimum-norm solution.
torch::Tensor solveNormal(const torch::Tensor &gram, const torch::Tensor &penalty,
                          const torch::Tensor &b, bool regular, int64_t &rank)
{
    // No explicit tolerance: LibTorch's default, eps * size relative to the largest eigenvalue.
    const c10::optional<double> noTolerance;
    rank = torch::linalg_matrix_rank(gram, noTolerance, noTolerance, /*hermitian=*/true)
               .item<int64_t>();
    const auto a = gram + torch::diag(penalty);
    if (regular || rank == gram.size(0))
        return torch::linalg_solve(a, b.unsqueeze(1)).squeeze(1);
    return torch::matmul(torch::linalg_pinv(a, noTolerance, noTolerance, /*hermitian=*/true), b);
}

// Every pixel of a group receives the group's coefficient, as in Feature Ablation.
cv::Mat cellMap(const torch::Tensor &phi, const FeatureGroups &groups, int h, int w)
{
    return tensorToMap(phi.to(torch::kFloat32).index_select(0, groups.pixelGroup).view({h, w}));
}

ParamSpec cellsSpec()
{
    return ParamSpec::integer("cells", "Cells per side", 7)
        .range(1, 32)
        .describe("The image is cut into cells x cells features (as in Feature Ablation), or "
                  "about that many superpixels; the fit solves a system of that many unknowns.");
}

ParamSpec samplesSpec(const std::string &help)
{
    return ParamSpec::integer("samples", "Samples", 500).range(10, 100000).describe(help);
}

// LIME (Ribeiro, Singh & Guestrin 2016) as Captum's Lime samples it: each cell kept with
// probability 1/2. A sample is weighted by the exponential kernel exp(-d^2 / (2 width^2)) of
// its cosine distance to the unperturbed input in the interpretable space, d = 1 - cos(z, 1)
// = 1 - sqrt(|z| / G) (d = 1 for the empty coalition), with lime_image's default width 0.25.
// The surrogate is a weighted ridge regression with an unpenalised intercept (scikit-learn's
// Ridge objective, sum_i w_i (f_i - phi0 - z_i phi)^2 + ridge |phi|^2). The map gives each cell
// its coefficient; it is exact, up to the ridge shrinkage, when the model is additive.
class Lime : public SurrogateMethod
{
public:
    std::string id() const override { return "lime"; }
    std::string name() const override { return "LIME"; }
    std::string description() const override
    {
        return "Weighted linear fit of the target logit over randomly kept or removed cells.";
    }

protected:
    std::vector<ParamSpec> ownParams() const override
    {
        return {
            cellsSpec(),
            groupsSpec(),
            fillSpec(),
            samplesSpec("Random coalitions (one forward pass each); use well over cells x cells."),
            ParamSpec::real("width", "Kernel width", 0.25)
                .range(0.01, 10.0)
                .describe("Width of the exponential kernel on the cosine distance to the input: "
                          "smaller favours samples that keep most cells (more local)."),
            ParamSpec::real("ridge", "Ridge", 0.001)
                .range(0.0, 1000.0)
                .describe("L2 penalty on the cell coefficients (not the intercept); 0 = plain "
                          "weighted least squares.")};
    }

    void attribute(const PerturbationInput &in, const JobContext &ctx,
                   Explanation &out) const override
    {
        const auto &p = in.request.params;
        const int h = in.height, w = in.width;
        const FeatureGroups groups = featureGroups(in, p.getString("groups"), p.getInt("cells"));
        const int64_t g = groups.count;
        const int samples = p.getInt("samples");
        const double width = p.getDouble("width"), ridge = p.getDouble("ridge");

        std::mt19937_64 rng(in.seed);
        const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
        // Normal equations of the design A = [1, z]: gram = A^T W A, rhs = A^T W f, plus the
        // sums the weighted R^2 needs.
        auto gram = torch::zeros({g + 1, g + 1}, f64), rhs = torch::zeros({g + 1}, f64);
        double sw = 0.0, swf = 0.0, swff = 0.0;
        CoalitionGame game = groupGame(in, groups);
        sampleCoalitions(
            in, game, samples, ctx, out,
            [&](int64_t n) {
                auto z = torch::empty({n, g});
                float *d = z.data_ptr<float>();
                for (int64_t k = 0; k < n * g; ++k)
                    d[k] = unitUniform(rng) < 0.5 ? 1.0f : 0.0f;
                return z;
            },
            [&](const torch::Tensor &z, const torch::Tensor &f) {
                const auto distance = 1.0 - torch::sqrt(z.sum(1) / double(g));
                const auto weight = torch::exp(-distance * distance / (2.0 * width * width));
                const auto a = torch::cat({torch::ones({z.size(0), 1}, f64), z}, 1);
                gram += torch::matmul(a.t(), a * weight.unsqueeze(1));
                rhs += torch::matmul(a.t(), weight * f);
                sw += weight.sum().item<double>();
                swf += (weight * f).sum().item<double>();
                swff += (weight * f * f).sum().item<double>();
            });

        auto penalty = torch::full({g + 1}, ridge, f64);
        penalty[0] = 0.0;
        // A positive ridge with at least one positively weighted sample makes the system
        // positive definite: a null vector of gram with a zero penalty would be a pure
        // intercept, which the weighted samples see.
        int64_t rank = 0;
        const auto beta = solveNormal(gram, penalty, rhs, ridge > 0.0 && sw > 0.0, rank);
        if (rank < g + 1)
            out.warnings.push_back(
                "lime: the " + std::to_string(samples) + " samples determine only " +
                std::to_string(rank) + " of the " + std::to_string(g + 1) +
                " surrogate coefficients (" + groups.description + " and an intercept); " +
                (ridge > 0.0 ? "the ridge penalty decides the rest" : "the rest is set to zero") +
                ": raise samples or lower cells");
        // Weighted R^2 of the fit, from the accumulated sums: RSS = sum w f^2 - 2 beta.rhs +
        // beta^T gram beta, total sum of squares around the weighted mean.
        const double rss = swff - 2.0 * torch::dot(beta, rhs).item<double>() +
                           torch::dot(beta, torch::matmul(gram, beta)).item<double>();
        const double tss = sw > 0.0 ? swff - swf * swf / sw : 0.0;
        out.stats["intercept"] = beta[0].item<double>();
        out.stats["weighted_r2"] = tss > 0.0 ? 1.0 - std::max(0.0, rss) / tss : 1.0;
        out.map = cellMap(beta.slice(0, 1), groups, h, w);
        out.signedMap = true;
    }
};

// KernelSHAP (Lundberg & Lee 2017) with the shap library's sampling: a coalition size k in
// 1..G-1 is drawn with probability proportional to (G - 1) / (k (G - k)) (the Shapley kernel
// summed over the C(G, k) subsets of that size), then a uniformly random subset of that size,
// and every coalition is paired with its complement (halving the variance of the fit). The
// sampled coalitions then carry equal weights, and the empty and full coalitions, whose kernel
// weight is infinite, enter as constraints: phi0 = f(baseline) and sum phi = f(x) - f(baseline).
// As in shap, the last feature is eliminated with the second constraint and the rest solved by
// least squares in double precision. For an additive model the answer is exact: each cell gets
// the sum of its pixels' contributions.
class KernelShap : public SurrogateMethod
{
public:
    std::string id() const override { return "kernel-shap"; }
    std::string name() const override { return "KernelSHAP"; }
    std::string description() const override
    {
        return "Shapley values of grid cells, estimated by a kernel-weighted linear fit.";
    }

protected:
    std::vector<ParamSpec> ownParams() const override
    {
        return {cellsSpec(), groupsSpec(), fillSpec(),
                samplesSpec("Random coalitions (one forward pass each), drawn in complementary "
                            "pairs (an odd count is rounded up); at least cells x cells + 1.")};
    }

    void attribute(const PerturbationInput &in, const JobContext &ctx,
                   Explanation &out) const override
    {
        const auto &p = in.request.params;
        const int h = in.height, w = in.width;
        const FeatureGroups groups = featureGroups(in, p.getString("groups"), p.getInt("cells"));
        const int64_t g = groups.count;
        const int samples = p.getInt("samples");
        // G - 1 free attributions need at least G - 1 independent equations; G + 1 keeps the
        // rule simple to state (cells^2 + 1) and leaves room for a duplicate pair.
        if (samples < g + 1)
            throw std::invalid_argument(
                "parameter \"samples\" of kernel-shap: " + std::to_string(samples) +
                " coalitions cannot determine " + std::to_string(g) + " group attributions (" +
                groups.description + "); need at least " + std::to_string(g + 1));
        const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);

        ctx.throwIfCancelled();
        CoalitionGame game = groupGame(in, groups);
        const auto ends = torch::stack({torch::ones({g}), torch::zeros({g})});
        const auto fEnds = values(in, game, ends, ctx, out);
        const double fx = fEnds[0].item<double>(), fb = fEnds[1].item<double>();
        const double delta = fx - fb;

        auto phi = torch::full({g}, delta, f64); // one feature: it carries the whole difference
        if (g > 1) {
            // Cumulative distribution of the coalition size.
            std::vector<double> sizeCdf;
            double total = 0.0;
            for (int64_t k = 1; k < g; ++k)
                sizeCdf.push_back(total += double(g - 1) / double(k * (g - k)));
            std::mt19937_64 rng(in.seed);
            std::vector<int64_t> order(size_t(g), 0);
            for (int64_t i = 0; i < g; ++i)
                order[size_t(i)] = i;
            auto drawCoalition = [&](float *row) {
                const double u = unitUniform(rng) * total;
                const int64_t k = 1 + std::min<int64_t>(g - 2, std::upper_bound(sizeCdf.begin(),
                                                                                sizeCdf.end(), u) -
                                                                   sizeCdf.begin());
                // Partial Fisher-Yates: the first k entries of `order` become a uniform subset.
                for (int64_t i = 0; i < k; ++i)
                    std::swap(order[size_t(i)],
                              order[size_t(i + int64_t(unitUniform(rng) * double(g - i)))]);
                std::fill(row, row + g, 0.0f);
                for (int64_t i = 0; i < k; ++i)
                    row[order[size_t(i)]] = 1.0f;
            };
            // Rows come in (z, 1 - z) pairs; a pair may straddle two batches.
            std::vector<float> complement;
            const int64_t count = 2 * ((int64_t(samples) + 1) / 2);
            // With phi_G = delta - sum_{j<G} phi_j, f(z) - fb = sum_g z_g phi_g becomes
            // f(z) - fb - z_G delta = sum_{j<G} (z_j - z_G) phi_j: least squares in G - 1
            // unknowns, accumulated as normal equations.
            auto gram = torch::zeros({g - 1, g - 1}, f64), rhs = torch::zeros({g - 1}, f64);
            sampleCoalitions(
                in, game, count, ctx, out,
                [&](int64_t n) {
                    auto z = torch::empty({n, g});
                    float *d = z.data_ptr<float>();
                    for (int64_t r = 0; r < n; ++r) {
                        float *row = d + r * g;
                        if (complement.empty()) {
                            drawCoalition(row);
                            complement.assign(row, row + g);
                            for (auto &v : complement)
                                v = 1.0f - v;
                        } else {
                            std::copy(complement.begin(), complement.end(), row);
                            complement.clear();
                        }
                    }
                    return z;
                },
                [&](const torch::Tensor &z, const torch::Tensor &f) {
                    const auto last = z.select(1, g - 1);
                    const auto design = z.slice(1, 0, g - 1) - last.unsqueeze(1);
                    const auto target = f - fb - last * delta;
                    gram += torch::matmul(design.t(), design);
                    rhs += torch::matmul(design.t(), target);
                });
            int64_t rank = 0;
            const auto rest = solveNormal(gram, torch::zeros({g - 1}, f64), rhs, false, rank);
            if (rank < g - 1)
                out.warnings.push_back(
                    "kernel-shap: the " + std::to_string(count) + " sampled coalitions determine " +
                    "only " + std::to_string(rank) + " of the " + std::to_string(g - 1) +
                    " free group attributions (" + groups.description +
                    "); the minimum-norm solution is used: raise samples or lower cells");
            phi.slice(0, 0, g - 1).copy_(rest);
            phi[g - 1] = delta - rest.sum().item<double>();
        }
        out.stats["base_value"] = fb;
        out.stats["logit_delta"] = delta;
        out.stats["efficiency_gap"] = std::abs(phi.sum().item<double>() - delta);
        out.map = cellMap(phi, groups, h, w);
        out.signedMap = true;
    }
};

} // namespace

std::unique_ptr<Method> makeLime()
{
    return std::make_unique<Lime>();
}

std::unique_ptr<Method> makeKernelShap()
{
    return std::make_unique<KernelShap>();
}

} // namespace heatlens
