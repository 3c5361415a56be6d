#include "core/explain/GradientMethod.h"
#include "core/explain/MethodRegistry.h"

#include <ATen/CPUGeneratorImpl.h>

namespace heatlens {

namespace {

// The noise wrapper (Smilkov et al. 2017; Adebayo et al. 2018 for VarGrad; Captum's
// NoiseTunnel): the base gradient method's attributions for `samples` copies of the input with
// Gaussian noise of standard deviation `noise` x (input max - input min), aggregated per
// element by their mean (SmoothGrad), mean of squares (SmoothGrad-squared) or variance
// (VarGrad). Saliency and Input x Gradient run the noisy copies in batches of `batch`.
class SmoothGrad : public GradientMethod
{
public:
    std::string id() const override { return "smoothgrad"; }
    std::string name() const override { return "SmoothGrad / VarGrad"; }
    std::string description() const override
    {
        return "A gradient method averaged over noisy copies of the input: mean (SmoothGrad), "
               "mean of squares (SmoothGrad-squared) or variance (VarGrad).";
    }
    std::vector<ParamSpec> params() const override
    {
        return {
            ParamSpec::choice("base", "Base method", "saliency", baseMethods())
                .describe("Gradient method applied to every noisy copy (with its default "
                          "parameters)."),
            ParamSpec::choice("variant", "Aggregation", "smoothgrad",
                              {"smoothgrad", "smoothgrad-sq", "vargrad"})
                .describe("Mean, mean of squares, or variance of the noisy attributions."),
            ParamSpec::integer("samples", "Samples", 20).range(1, 1000).describe("Noisy copies."),
            ParamSpec::real("noise", "Noise level", 0.15)
                .range(0.0, 2.0)
                .describe("Standard deviation as a fraction of the input's range (max - min)."),
            ParamSpec::integer("batch", "Batch size", 16)
                .range(1, 1024)
                .describe("Noisy copies per pass."),
            seedParam("the noise"),
        };
    }

protected:
    torch::Tensor attribute(const ExplainRequest &request, const JobContext &ctx,
                            Explanation &out) const override
    {
        const Params &p = request.params;
        const auto &base = baseMethod(p);
        ExplainRequest baseRequest = request;
        baseRequest.params = completeParams(base.params(), Params{}, base.id());
        const int samples = p.getInt("samples");
        const int batch = base.acceptsBatch() ? p.getInt("batch") : 1;
        const auto &x = request.input;
        const double sigma = p.getDouble("noise") * (x.max() - x.min()).item<double>();
        auto generator = at::detail::createCPUGenerator(uint64_t(p.getInt("seed")));
        torch::Tensor sum = torch::zeros_like(x), sumSq = torch::zeros_like(x);
        for (int done = 0; done < samples;) {
            ctx.throwIfCancelled();
            const int n = std::min(batch, samples - done);
            auto noise = at::normal(0.0, 1.0, {n, x.size(1), x.size(2), x.size(3)}, generator);
            baseRequest.input = x + noise * sigma;
            auto a = base.attributions(
                baseRequest, ctx.sub(double(done) / samples, double(done + n) / samples), out);
            sum += a.sum(0, true);
            sumSq += (a * a).sum(0, true);
            done += n;
            ctx.report(double(done) / samples,
                       std::to_string(done) + "/" + std::to_string(samples) + " noisy copies");
        }
        const auto mean = sum / samples;
        const std::string variant = p.getString("variant");
        if (variant == "smoothgrad-sq")
            return sumSq / samples;
        if (variant == "vargrad")
            return (sumSq / samples - mean * mean).clamp_min(0.0);
        return mean;
    }

    torch::Tensor reduce(const torch::Tensor &attributions, const Params &params,
                         bool &signedMap) const override
    {
        if (params.getString("variant") != "smoothgrad") { // non-negative per element
            signedMap = false;
            return attributions[0].sum(0);
        }
        const auto &base = baseMethod(params);
        return base.reduceToMap(attributions, completeParams(base.params(), {}, base.id()),
                                signedMap);
    }

private:
    // Every registered gradient-family method the wrapper can run on a noisy copy by itself:
    // not a wrapper (this one) and not one that needs references drawn from a dataset.
    std::vector<std::string> baseMethods() const
    {
        std::vector<std::string> ids;
        for (const auto &m : MethodRegistry::instance().methods())
            if (m->id() != id() && dynamic_cast<const GradientMethod *>(m.get()) &&
                !m->usesReferences())
                ids.push_back(m->id());
        return ids;
    }

    static const GradientMethod &baseMethod(const Params &p)
    {
        const auto *base = dynamic_cast<const GradientMethod *>(
            &MethodRegistry::instance().get(p.getString("base")));
        if (!base)
            throw std::invalid_argument("smoothgrad: base " + p.getString("base") +
                                        " is not a gradient method");
        return *base;
    }
};

} // namespace

std::unique_ptr<Method> makeSmoothGrad()
{
    return std::make_unique<SmoothGrad>();
}

} // namespace heatlens
