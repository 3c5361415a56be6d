#include "core/explain/MethodSupport.h"
#include "core/model/CopyPool.h"
#include "core/uncertainty/DropoutCopy.h"
#include "core/uncertainty/StochasticSource.h"

#include <sstream>

namespace heatlens {

namespace {

class McDropoutRun : public SourceRun
{
public:
    McDropoutRun(const ModelPtr &model, const torch::Tensor &input, double rate, uint64_t seed)
        : m_copy(CopyPool<DropoutCopy>::shared().acquire(
              model, "mc-dropout rate=" + std::to_string(rate),
              [&] { return std::make_unique<DropoutCopy>(*model, rate, seed); }))
        , m_input(input)
    {
        m_copy->setSeed(seed);
        bool anyNonZero = false;
        for (double r : m_copy->rates())
            anyNonZero = anyNonZero || r != 0.0;
        if (!anyNonZero)
            m_warnings.push_back("every dropout layer of " + model->displayName() +
                                 " has rate 0, so all samples are the same model; set a rate");
    }

    SampleInput sample(int t) override
    {
        m_copy->setSample(t);
        return {m_copy->model(), m_input};
    }
    bool batchable() const override { return true; }
    SampleInput rows(int first, int n) override
    {
        m_copy->setRows(first);
        return {m_copy->model(), m_input.expand({n, -1, -1, -1}).contiguous()};
    }
    std::string description() const override
    {
        std::ostringstream out;
        out << "MC dropout: " << m_copy->sites().size() << " dropout layer"
            << (m_copy->sites().size() == 1 ? "" : "s") << " (";
        for (size_t i = 0; i < m_copy->sites().size(); ++i) {
            const double r = m_copy->rates()[i];
            out << (i ? ", " : "") << (m_copy->sites()[i].empty() ? "<root>" : m_copy->sites()[i])
                << " p=";
            if (r >= 0.0)
                out << r;
            else
                out << "own";
        }
        out << ")";
        return out.str();
    }

private:
    std::shared_ptr<DropoutCopy> m_copy; // lent by the pool for the run
    torch::Tensor m_input;
};

// Monte Carlo dropout (Gal & Ghahramani 2016; the seed paper's first source).
class McDropout : public StochasticSource
{
public:
    std::string id() const override { return "mc-dropout"; }
    std::string name() const override { return "MC dropout"; }
    std::string description() const override
    {
        return "The model's dropout layers sample their masks at explanation time (batch norm "
               "stays in evaluation mode): one set of masks per sample, the same in every pass "
               "of the method.";
    }
    std::vector<ParamSpec> params() const override
    {
        return {
            ParamSpec::real("rate", "Dropout rate", 0.0)
                .range(0.0, 0.95)
                .describe("0 keeps every dropout layer's own rate; otherwise replaces them."),
            seedParam("the dropout masks"),
        };
    }
    std::string whyNotApplicable(const Model &model) const override
    {
        if (DropoutCopy::countDropouts(model) == 0)
            return model.displayName() +
                   " has no dropout layer; use dropconnect (weights dropped post hoc), noise, "
                   "tta, or an ensemble";
        return {};
    }
    std::unique_ptr<SourceRun> prepare(const SourceRequest &request) const override
    {
        return std::make_unique<McDropoutRun>(request.model, request.input,
                                              request.params.getDouble("rate"),
                                              uint64_t(request.params.getInt("seed")));
    }
};

} // namespace

std::unique_ptr<StochasticSource> makeMcDropout()
{
    return std::make_unique<McDropout>();
}

} // namespace heatlens
