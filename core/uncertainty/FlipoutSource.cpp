#include "core/explain/MethodSupport.h"
#include "core/model/CopyPool.h"
#include "core/uncertainty/StochasticSource.h"
#include "core/uncertainty/WeightSamples.h"

#include <sstream>

namespace heatlens {

namespace {

bool endsWith(const std::string &s, const std::string &suffix)
{
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Flipout layers (Heatlens' own, core/model/FlipoutLayers) hold their weight noise in buffers
// named "weight_eps" and "bias_eps": zero in the saved model (the mean network), a standard
// normal draw per sample here. The layer computes mu + softplus(rho) * eps.
bool isNoiseBuffer(const std::string &name, const torch::Tensor &)
{
    return endsWith(name, "weight_eps") || endsWith(name, "bias_eps");
}

class FlipoutRun : public SourceRun
{
public:
    FlipoutRun(const ModelPtr &model, const torch::Tensor &input, uint64_t seed)
        : m_weights(CopyPool<WeightSamples>::shared().acquire(
              model, "flipout",
              [&] {
                  return std::make_unique<WeightSamples>(
                      *model, "Flipout", /*buffers=*/true, isNoiseBuffer,
                      [](const torch::Tensor &eps, at::Generator &g) {
                          return torch::empty_like(eps).normal_(0.0, 1.0, g);
                      },
                      seed);
              }))
        , m_input(input)
    {
        m_weights->setSeed(seed);
    }

    SampleInput sample(int t) override
    {
        m_weights->setSample(t);
        return {m_weights->model(), m_input};
    }
    std::string description() const override
    {
        std::ostringstream out;
        out << "Flipout: weights drawn from the trained posterior (" << m_weights->count()
            << " noise tensors, " << m_weights->elements() << " weights)";
        return out.str();
    }

private:
    std::shared_ptr<WeightSamples> m_weights; // lent by the pool for the run
    torch::Tensor m_input;
};

// Bayesian layers trained with Flipout (Wen et al. 2018): mean-field Gaussian weights; each
// sample draws every weight from its posterior.
class FlipoutSource : public StochasticSource
{
public:
    std::string id() const override { return "flipout"; }
    std::string name() const override { return "Flipout (Bayesian weights)"; }
    std::string description() const override
    {
        return "For models trained with Flipout layers (mean-field Gaussian weights, e.g. the "
               "zoo's demo-cnn-flipout): each sample draws every weight from its learned "
               "posterior.";
    }
    std::vector<ParamSpec> params() const override { return {seedParam("the weight draws")}; }
    std::string whyNotApplicable(const Model &model) const override
    {
        for (const auto &b : model.module().named_buffers())
            if (isNoiseBuffer(b.name, b.value))
                return {};
        return model.displayName() +
               " has no Flipout layers (weight_mu, weight_rho, weight_eps); open "
               "demo-cnn-flipout, or use dropconnect, mc-dropout or an ensemble";
    }
    std::unique_ptr<SourceRun> prepare(const SourceRequest &request) const override
    {
        if (auto why = whyNotApplicable(*request.model); !why.empty())
            throw std::invalid_argument("flipout: " + why);
        return std::make_unique<FlipoutRun>(request.model, request.input,
                                            uint64_t(request.params.getInt("seed")));
    }
};

} // namespace

std::unique_ptr<StochasticSource> makeFlipoutSource()
{
    return std::make_unique<FlipoutSource>();
}

} // namespace heatlens
