#pragma once

#include "core/model/Model.h"

#include <functional>
#include <string>
#include <vector>

namespace heatlens {

// A private copy of a model whose chosen tensors (parameters or buffers) are redrawn in place
// for each sample: DropConnect's dropped weights, Flipout's weight noise. The tensors are picked
// by name; sample t's values depend only on (seed, t, the tensor's index), so a sample can be
// drawn again at any time. The copy runs its module directly (Model::variant): layer taps made
// for it see the values of the current sample.
class WeightSamples
{
public:
    // (name, tensor) -> whether the tensor is redrawn
    using Pick = std::function<bool(const std::string &, const torch::Tensor &)>;
    // The tensor's value for a sample, from its value in the model and a seeded generator.
    using Draw = std::function<torch::Tensor(const torch::Tensor &, at::Generator &)>;

    // `buffers`: pick among buffers instead of parameters.
    WeightSamples(const Model &model, const std::string &tag, bool buffers, const Pick &pick,
                  Draw draw, uint64_t seed);

    const ModelPtr &model() const { return m_model; }
    void setSeed(uint64_t seed) { m_seed = seed; }
    void setSample(int64_t t);
    size_t count() const { return m_tensors.size(); }
    int64_t elements() const;
    const std::vector<std::string> &names() const { return m_names; }

private:
    ModelPtr m_model;
    std::vector<std::string> m_names;
    std::vector<torch::Tensor> m_tensors; // in the copy, written in place
    std::vector<torch::Tensor> m_originals;
    Draw m_draw;
    uint64_t m_seed;
};

} // namespace heatlens
