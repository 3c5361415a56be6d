#pragma once

#include "core/explain/Params.h"
#include "core/model/Model.h"

#include <opencv2/core/mat.hpp>

#include <memory>
#include <string>
#include <vector>

namespace heatlens {

// What one explanation sample runs on: a model whose randomness is frozen as that sample, and
// the input to explain (transformed, for sources that perturb the input).
struct SampleInput
{
    ModelPtr model;
    torch::Tensor input; // [1, C, H, W]; rows(): [n, C, H, W]
};

// One prepared run of a stochastic source on one model and input. Sample t is a deterministic
// function of (the source's parameters, seed, t): asking for it twice gives the same model and
// input, so that a method of many passes (Integrated Gradients, occlusion, LIME) sees one model
// sample in all of its passes, and curves can replay a sample later. Not thread-safe: the
// models handed out share private state, valid until the next sample() or rows() call.
class SourceRun
{
public:
    virtual ~SourceRun() = default;

    // How many distinct samples exist (ensemble members, TTA transforms); 0 = unlimited.
    virtual int sampleLimit() const { return 0; }
    virtual SampleInput sample(int t) = 0;
    // True when rows() exists: samples first .. first + n - 1 as the rows of one batch, row r
    // being exactly sample(first + r) (activation dropout, input noise, TTA).
    virtual bool batchable() const { return false; }
    virtual SampleInput rows(int first, int n);
    // Brings sample t's map back to the frame of the original input; `valid` (optional) gets a
    // CV_8U mask of the pixels that have a value there (a shifted image does not cover all).
    virtual cv::Mat restore(int t, const cv::Mat &map, cv::Mat *valid) const;
    // One line for logs, legends and JSON: "MC dropout: 2 dropout layers at their own rates".
    virtual std::string description() const = 0;
    const std::vector<std::string> &warnings() const { return m_warnings; }

protected:
    std::vector<std::string> m_warnings;
};

struct SourceRequest
{
    ModelPtr model;
    torch::Tensor input; // [1, C, H, W], preprocessed for `model`
    Params params;       // complete (completeParams of the source's params())
    // The ensemble source's members when they are not the model's own (a list of models with
    // one input format); empty otherwise.
    std::vector<ModelPtr> members;
};

// A source of model (or input) uncertainty: MC dropout, DropConnect, an ensemble's members,
// Flipout weights, test-time augmentation, input noise. Stateless and const, like Method; every
// change of model state happens on private copies made by prepare(), never on request.model.
class StochasticSource
{
public:
    virtual ~StochasticSource() = default;

    virtual std::string id() const = 0;   // "mc-dropout"
    virtual std::string name() const = 0; // "MC dropout"
    virtual std::string description() const = 0;
    virtual std::vector<ParamSpec> params() const = 0;
    // Why this source cannot sample `model` (no dropout layer, not an ensemble, ...), naming the
    // sources that can; empty when it can.
    virtual std::string whyNotApplicable(const Model &) const { return {}; }
    // True when the source perturbs the input rather than the model (its samples share the
    // model's weights).
    virtual bool perturbsInput() const { return false; }
    // Throws std::invalid_argument with whyNotApplicable() or a bad parameter.
    virtual std::unique_ptr<SourceRun> prepare(const SourceRequest &request) const = 0;
};

// Every stochastic source, in one explicit table.
class SourceRegistry
{
public:
    static const SourceRegistry &instance();

    const std::vector<std::unique_ptr<StochasticSource>> &sources() const { return m_sources; }
    const StochasticSource *find(const std::string &id) const;
    const StochasticSource &get(const std::string &id) const; // throws listing the known ids

private:
    SourceRegistry();
    std::vector<std::unique_ptr<StochasticSource>> m_sources;
};

// A 64-bit seed for sample `sample` of stream `stream` (a dropout site, a parameter tensor)
// under `seed` (SplitMix64 of the three): independent streams that any process reproduces.
uint64_t sampleSeed(uint64_t seed, int64_t sample, int64_t stream);

} // namespace heatlens
