#include "core/explain/MethodSupport.h"
#include "core/uncertainty/StochasticSource.h"

#include <ATen/CPUGeneratorImpl.h>

#include <sstream>

namespace heatlens {

namespace {

class InputNoiseRun : public SourceRun
{
public:
    InputNoiseRun(ModelPtr model, const torch::Tensor &input, double level, uint64_t seed)
        : m_model(std::move(model))
        , m_input(input)
        , m_level(level)
        , m_sigma(level * (input.max() - input.min()).item<double>())
        , m_seed(seed)
    {}

    SampleInput sample(int t) override { return {m_model, noisy(t)}; }
    bool batchable() const override { return true; }
    SampleInput rows(int first, int n) override
    {
        std::vector<torch::Tensor> rows;
        for (int r = 0; r < n; ++r)
            rows.push_back(noisy(first + r));
        return {m_model, torch::cat(rows)};
    }
    std::string description() const override
    {
        std::ostringstream out;
        out << "input noise: Gaussian, std " << m_level << " of the input's range (" << m_sigma
            << ")";
        return out.str();
    }

private:
    torch::Tensor noisy(int t) const
    {
        auto generator = at::detail::createCPUGenerator(sampleSeed(m_seed, t, 0));
        return m_input + torch::empty_like(m_input).normal_(0.0, 1.0, generator) * m_sigma;
    }

    ModelPtr m_model;
    torch::Tensor m_input;
    double m_level, m_sigma;
    uint64_t m_seed;
};

// Gaussian input noise: the explanation's sensitivity to the input (its statistics are
// VarGrad's for gradient methods, Adebayo et al. 2018), not model uncertainty.
class InputNoise : public StochasticSource
{
public:
    std::string id() const override { return "noise"; }
    std::string name() const override { return "Input noise"; }
    std::string description() const override
    {
        return "Gaussian noise added to the input (standard deviation a fraction of its range): "
               "how stable the explanation is under small input changes, not model uncertainty.";
    }
    std::vector<ParamSpec> params() const override
    {
        return {
            ParamSpec::real("level", "Noise level", 0.1)
                .range(0.0, 1.0)
                .describe("Standard deviation as a fraction of the input's range (max - min)."),
            seedParam("the noise"),
        };
    }
    bool perturbsInput() const override { return true; }
    std::unique_ptr<SourceRun> prepare(const SourceRequest &request) const override
    {
        return std::make_unique<InputNoiseRun>(request.model, request.input,
                                               request.params.getDouble("level"),
                                               uint64_t(request.params.getInt("seed")));
    }
};

} // namespace

std::unique_ptr<StochasticSource> makeInputNoise()
{
    return std::make_unique<InputNoise>();
}

} // namespace heatlens
