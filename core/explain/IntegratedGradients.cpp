#include "core/explain/Baselines.h"
#include "core/explain/GradientMethod.h"
#include "core/explain/Integration.h"

#include <cmath>

namespace heatlens {

namespace {

// Sundararajan et al. 2017: (x - b) * integral over alpha of grad f(b + alpha (x - b)).
// Completeness: the attributions sum to f(x) - f(b); the gap is reported as a statistic.
class IntegratedGradients : public GradientMethod
{
public:
    std::string id() const override { return "integrated-gradients"; }
    std::string name() const override { return "Integrated Gradients"; }
    std::string description() const override
    {
        return "Path integral of gradients from a baseline to the input; the attributions sum "
               "to f(input) - f(baseline).";
    }
    std::vector<ParamSpec> params() const override
    {
        return {ParamSpec::integer("steps", "Steps", 50)
                    .range(1, 4096)
                    .describe("Integration points along the path."),
                ParamSpec::integer("batch", "Internal batch size", 16)
                    .range(1, 1024)
                    .describe("Path points per forward/backward pass: bounds memory."),
                ParamSpec::choice("baseline", "Baseline", "black", baselineKinds())
                    .describe(baselineHelp()),
                seedParam("the uniform-noise baseline"),
                ParamSpec::choice("rule", "Integration rule", "gauss-legendre", quadratureRules())
                    .describe("Quadrature along the path.")};
    }

protected:
    torch::Tensor attribute(const ExplainRequest &request, const JobContext &ctx,
                            Explanation &out) const override
    {
        const auto &p = request.params;
        const auto baseline = makeBaseline(p.getString("baseline"), request.input,
                                           request.model->card(), uint64_t(p.getInt("seed")));
        const auto q = quadrature(p.getString("rule"), p.getInt("steps"));
        const auto delta = request.input - baseline;
        auto total = integrate(request, baseline, delta, q, ctx, out);
        auto attributions = delta * total;
        reportCompleteness(request, baseline, attributions, out);
        return attributions;
    }

private:
    // Weighted sum of gradients along the path, in batches of `batch` points.
    torch::Tensor integrate(const ExplainRequest &request, const torch::Tensor &baseline,
                            const torch::Tensor &delta, const Quadrature &q, const JobContext &ctx,
                            Explanation &out) const
    {
        const int n = int(q.alphas.size());
        const int batch = request.params.getInt("batch");
        auto total = torch::zeros_like(request.input);
        for (int begin = 0; begin < n; begin += batch) {
            ctx.throwIfCancelled();
            const int end = std::min(n, begin + batch);
            auto alphas =
                torch::tensor(std::vector<double>(q.alphas.begin() + begin, q.alphas.begin() + end))
                    .to(torch::kFloat32)
                    .view({-1, 1, 1, 1});
            auto weights = torch::tensor(std::vector<double>(q.weights.begin() + begin,
                                                             q.weights.begin() + end))
                               .to(torch::kFloat32)
                               .view({-1, 1, 1, 1});
            auto grads =
                targetGradient(*request.model, baseline + alphas * delta, request.target, out);
            total += (grads * weights).sum(0, true);
            ctx.report(double(end) / n,
                       "path point " + std::to_string(end) + " of " + std::to_string(n));
        }
        return total;
    }

    void reportCompleteness(const ExplainRequest &request, const torch::Tensor &baseline,
                            const torch::Tensor &attributions, Explanation &out) const
    {
        auto logits = request.model->predict(torch::cat({request.input, baseline}));
        out.forwardPasses += 2;
        const double delta = (logits[0][request.target] - logits[1][request.target]).item<double>();
        const double sum = attributions.sum().item<double>();
        out.stats["completeness_gap"] = std::abs(sum - delta);
        out.stats["attribution_sum"] = sum;
        out.stats["logit_delta"] = delta;
        if (std::abs(sum - delta) > 0.05 * std::max(1.0, std::abs(delta)))
            out.warnings.push_back("completeness gap " + std::to_string(std::abs(sum - delta)) +
                                   " is large: increase steps");
    }
};

} // namespace

std::unique_ptr<Method> makeIntegratedGradients()
{
    return std::make_unique<IntegratedGradients>();
}

} // namespace heatlens
