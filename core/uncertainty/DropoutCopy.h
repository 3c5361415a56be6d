#pragma once

#include "core/model/Model.h"

#include <string>
#include <vector>

namespace heatlens {

// A private copy of a model whose dropout layers sample their masks in evaluation mode (batch
// norm and everything else stay as in eval): MC dropout (Gal & Ghahramani 2016) for any
// TorchScript model. The copy's forward is inlined and every aten::dropout / feature_dropout
// node (scripted models pass self.training; traced models carry a constant train=False, which
// train() cannot change) is replaced by an operator that draws the mask of a given sample from
// (seed, sample, dropout site) alone:
//   setSample(t)   every row of every batch uses sample t's masks (one model sample over all the
//                  passes of Integrated Gradients, occlusion, LIME, ...)
//   setRows(first) row r of a batch uses sample (first + r)'s masks (T samples of a one-pass
//                  method in one batch; row r is exactly setSample(first + r))
// Feature dropout (Dropout2d) drops whole channels. The model it was made from is untouched.
class DropoutCopy
{
public:
    // `rate` 0 keeps every layer's own rate; in (0, 1) replaces all of them. Throws
    // std::invalid_argument naming the model when it has no dropout layer.
    DropoutCopy(const Model &model, double rate, uint64_t seed);

    const ModelPtr &model() const { return m_model; }
    void setSeed(uint64_t seed);
    void setSample(int64_t t);
    void setRows(int64_t first);

    // The dropout sites found, in graph order: their module paths ("classifier.dropout1") and
    // rates (-1 where the rate is computed at run time and not overridden).
    const std::vector<std::string> &sites() const { return m_sites; }
    const std::vector<double> &rates() const { return m_rates; }

    // How many dropout nodes `model`'s forward has (0: MC dropout does not apply).
    static int countDropouts(const Model &model);

private:
    torch::jit::Module m_module;
    torch::Tensor m_state; // int64 [3]: seed, first sample, 1 = rows mode
    ModelPtr m_model;
    std::vector<std::string> m_sites;
    std::vector<double> m_rates;
};

} // namespace heatlens
