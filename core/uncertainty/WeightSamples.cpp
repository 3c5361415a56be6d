#include "core/uncertainty/WeightSamples.h"

#include "core/uncertainty/StochasticSource.h"

#include <ATen/CPUGeneratorImpl.h>

namespace heatlens {

WeightSamples::WeightSamples(const Model &model, const std::string &tag, bool buffers,
                             const Pick &pick, Draw draw, uint64_t seed)
    : m_draw(std::move(draw))
    , m_seed(seed)
{
    torch::jit::Module copy = model.module().clone(); // deep: the tensors are the copy's own
    auto collect = [&](const auto &named) {
        for (const auto &entry : named)
            if (pick(entry.name, entry.value)) {
                m_names.push_back(entry.name);
                m_tensors.push_back(entry.value);
                m_originals.push_back(entry.value.detach().clone());
            }
    };
    if (buffers)
        collect(copy.named_buffers());
    else
        collect(copy.named_parameters());
    m_model = Model::variant(model, copy, tag);
}

void WeightSamples::setSample(int64_t t)
{
    torch::NoGradGuard noGrad;
    for (size_t i = 0; i < m_tensors.size(); ++i) {
        at::Generator generator = at::detail::createCPUGenerator(sampleSeed(m_seed, t, int64_t(i)));
        m_tensors[i].copy_(m_draw(m_originals[i], generator));
    }
}

int64_t WeightSamples::elements() const
{
    int64_t n = 0;
    for (const auto &t : m_tensors)
        n += t.numel();
    return n;
}

} // namespace heatlens
