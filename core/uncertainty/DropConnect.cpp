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

// Weights of convolutions and linear maps: parameters named "...weight" (or a Flipout layer's
// "...weight_mu") of two or more dimensions (norm layers' weights are one-dimensional;
// embeddings are not named weight).
bool isLayerWeight(const std::string &name, const torch::Tensor &t)
{
    return t.dim() >= 2 && (endsWith(name, "weight") || endsWith(name, "weight_mu"));
}

class DropConnectRun : public SourceRun
{
public:
    DropConnectRun(const ModelPtr &model, const torch::Tensor &input, double rate, uint64_t seed)
        : m_weights(CopyPool<WeightSamples>::shared().acquire(
              model, "dropconnect rate=" + std::to_string(rate),
              [&] {
                  return std::make_unique<WeightSamples>(
                      *model, "DropConnect", /*buffers=*/false, isLayerWeight,
                      [rate](const torch::Tensor &w, at::Generator &g) {
                          if (rate <= 0.0)
                              return w;
                          return w * torch::empty_like(w).bernoulli_(1.0 - rate, g) / (1.0 - rate);
                      },
                      seed);
              }))
        , m_input(input)
        , m_rate(rate)
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
        out << "DropConnect: p=" << m_rate << " on " << m_weights->count()
            << " weight tensors of convolutions and linear layers (" << m_weights->elements()
            << " weights)";
        return out.str();
    }

private:
    std::shared_ptr<WeightSamples> m_weights; // lent by the pool for the run
    torch::Tensor m_input;
    double m_rate;
};

// MC DropConnect (Wan et al. 2013; Mobiny et al. 2021), post hoc: any trained model.
class DropConnect : public StochasticSource
{
public:
    std::string id() const override { return "dropconnect"; }
    std::string name() const override { return "DropConnect"; }
    std::string description() const override
    {
        return "Each sample zeroes every weight of the convolutions and linear layers with "
               "probability p and scales the rest by 1 / (1 - p), on a private copy: works on "
               "any model, trained with it or not.";
    }
    std::vector<ParamSpec> params() const override
    {
        return {
            ParamSpec::real("rate", "Drop rate", 0.1)
                .range(0.0, 0.9)
                .describe("Probability p that a weight is zeroed."),
            seedParam("the dropped weights"),
        };
    }
    std::string whyNotApplicable(const Model &model) const override
    {
        for (const auto &p : model.module().named_parameters())
            if (isLayerWeight(p.name, p.value))
                return {};
        return model.displayName() + " has no convolution or linear weights to drop; use noise "
                                     "or tta";
    }
    std::unique_ptr<SourceRun> prepare(const SourceRequest &request) const override
    {
        if (auto why = whyNotApplicable(*request.model); !why.empty())
            throw std::invalid_argument("dropconnect: " + why);
        return std::make_unique<DropConnectRun>(request.model, request.input,
                                                request.params.getDouble("rate"),
                                                uint64_t(request.params.getInt("seed")));
    }
};

} // namespace

std::unique_ptr<StochasticSource> makeDropConnect()
{
    return std::make_unique<DropConnect>();
}

} // namespace heatlens
