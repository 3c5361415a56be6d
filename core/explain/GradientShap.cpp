// GradientSHAP / Expected Gradients (Lundberg & Lee 2017; Erion et al. 2021): Integrated
// Gradients averaged over baselines drawn from the data, estimated by sampling: for each sample
// a random reference image b from the dataset, a random point alpha ~ U(0, 1) on the path from b
// to the (optionally noised) input, and the attribution grad f(b + alpha (x + e - b)) * (x - b).
// The mean approximates E_b[IG(x; b)], whose sum is f(x) - E_b[f(b)] (completeness, reported as
// a gap). With noise 0 this is Expected Gradients; Captum's GradientShap adds Gaussian noise.
#include "core/explain/GradientMethod.h"
#include "core/explain/MethodSupport.h"

#include <ATen/CPUGeneratorImpl.h>

#include <stdexcept>

namespace heatlens {

namespace {

class GradientShap : public GradientMethod
{
public:
    std::string id() const override { return "gradient-shap"; }
    std::string name() const override { return "GradientSHAP / Expected Gradients"; }
    std::string description() const override
    {
        return "Integrated Gradients averaged over baselines drawn from the dataset (sampled).";
    }
    bool usesReferences() const override { return true; }
    std::vector<ParamSpec> params() const override
    {
        return {ParamSpec::integer("samples", "Samples", 64)
                    .range(1, 100000)
                    .describe("Random (reference, path point) pairs averaged."),
                ParamSpec::real("noise", "Noise level", 0.0)
                    .range(0.0, 2.0)
                    .describe("Gaussian noise added to the input, as a fraction of its range (0 = "
                              "Expected Gradients)."),
                batchParam("Path points (forward and backward)", 16),
                seedParam("the reference, path point and noise draws")};
    }

protected:
    torch::Tensor attribute(const ExplainRequest &request, const JobContext &ctx,
                            Explanation &out) const override
    {
        const auto &refs = request.references;
        if (!refs.defined() || refs.size(0) == 0)
            throw std::invalid_argument(
                id() + ": needs reference images drawn from a dataset; open a dataset (viewer) or "
                       "pass --dataset / --references (CLI)");
        const auto &x = request.input;
        if (refs.dim() != 4 || refs.sizes().slice(1) != x.sizes().slice(1))
            throw std::invalid_argument(id() + ": reference images have shape " +
                                        c10::str(refs.sizes()) + ", the input " +
                                        c10::str(x.sizes()));
        const Params &p = request.params;
        const int samples = p.getInt("samples"), batch = p.getInt("batch");
        const double sigma = p.getDouble("noise") * (x.max() - x.min()).item<double>();
        auto generator = at::detail::createCPUGenerator(uint64_t(p.getInt("seed")));
        auto sum = torch::zeros_like(x);
        for (int done = 0; done < samples;) {
            ctx.throwIfCancelled();
            const int n = std::min(batch, samples - done);
            const auto pick = at::randint(refs.size(0), {n}, generator, torch::kLong);
            const auto alpha = at::rand({n, 1, 1, 1}, generator);
            const auto base = refs.index_select(0, pick);
            auto noisy = x.expand_as(base);
            if (sigma > 0)
                noisy = noisy + at::normal(0.0, 1.0, base.sizes(), generator) * sigma;
            const auto points = base + alpha * (noisy - base);
            const auto grads = targetGradient(*request.model, points, request.target, out);
            sum += (grads * (x - base)).sum(0, true);
            done += n;
            ctx.report(double(done) / samples,
                       std::to_string(done) + "/" + std::to_string(samples) + " samples");
        }
        const auto attributions = sum / samples;
        // Completeness in expectation: sum of attributions = f(x) - mean over references f(b).
        const auto fx = request.model->predict(x)[0][request.target].item<double>();
        const auto fb =
            request.model->predict(refs).select(1, request.target).mean().item<double>();
        out.forwardPasses += 1 + int(refs.size(0));
        const double total = attributions.sum().item<double>();
        out.stats["completeness_gap"] = std::abs(total - (fx - fb));
        out.stats["references"] = double(refs.size(0));
        return attributions;
    }
};

} // namespace

std::unique_ptr<Method> makeGradientShap()
{
    return std::make_unique<GradientShap>();
}

} // namespace heatlens
