#include "core/uncertainty/StochasticSource.h"

#include <sstream>

namespace heatlens {

namespace {

// Why `member` cannot explain inputs made for `model` ("" when it can).
std::string inputMismatch(const Model &model, const Model &member)
{
    const auto &a = model.card(), &b = member.card();
    if (a.inputChannels != b.inputChannels || a.inputHeight != b.inputHeight ||
        a.inputWidth != b.inputWidth)
        return member.displayName() + " takes " + std::to_string(b.inputChannels) + "x" +
               std::to_string(b.inputHeight) + "x" + std::to_string(b.inputWidth) +
               " inputs, the model " + std::to_string(a.inputChannels) + "x" +
               std::to_string(a.inputHeight) + "x" + std::to_string(a.inputWidth);
    if (a.mean != b.mean || a.std != b.std || a.colorOrder != b.colorOrder)
        return member.displayName() + " normalises its input differently from the model";
    if (a.labels.size() != b.labels.size())
        return member.displayName() + " has " + std::to_string(b.labels.size()) +
               " classes, the model " + std::to_string(a.labels.size());
    return {};
}

class EnsembleRun : public SourceRun
{
public:
    EnsembleRun(std::vector<ModelPtr> members, const torch::Tensor &input)
        : m_members(std::move(members))
        , m_input(input)
    {}

    int sampleLimit() const override { return int(m_members.size()); }
    SampleInput sample(int t) override
    {
        return {m_members.at(size_t(t) % m_members.size()), m_input};
    }
    std::string description() const override
    {
        std::ostringstream out;
        out << "ensemble: " << m_members.size() << " members (";
        for (size_t i = 0; i < m_members.size(); ++i)
            out << (i ? ", " : "") << m_members[i]->displayName();
        out << ")";
        return out.str();
    }

private:
    std::vector<ModelPtr> m_members;
    torch::Tensor m_input;
};

// Deep ensembles (Lakshminarayanan et al. 2017): every member is one sample.
class EnsembleSource : public StochasticSource
{
public:
    std::string id() const override { return "ensemble"; }
    std::string name() const override { return "Deep ensemble"; }
    std::string description() const override
    {
        return "Every member of an ensemble (an ensemble folder, or models given with one input "
               "format) explains the image once: as many samples as members.";
    }
    std::vector<ParamSpec> params() const override { return {}; }
    std::string whyNotApplicable(const Model &model) const override
    {
        if (model.members().size() < 2)
            return model.displayName() +
                   " is not an ensemble; open an ensemble folder (demo-cnn-ensemble) or give "
                   "the members";
        return {};
    }
    std::unique_ptr<SourceRun> prepare(const SourceRequest &request) const override
    {
        auto members = request.members.empty() ? request.model->members() : request.members;
        if (members.size() < 2)
            throw std::invalid_argument("ensemble: " + whyNotApplicable(*request.model));
        for (const auto &m : members)
            if (auto why = inputMismatch(*request.model, *m); !why.empty())
                throw std::invalid_argument("ensemble: " + why);
        return std::make_unique<EnsembleRun>(std::move(members), request.input);
    }
};

} // namespace

std::unique_ptr<StochasticSource> makeEnsembleSource()
{
    return std::make_unique<EnsembleSource>();
}

} // namespace heatlens
