#pragma once

#include "core/explain/Params.h"
#include "core/jobs/Progress.h"
#include "core/model/Model.h"

#include <opencv2/core/mat.hpp>

#include <map>
#include <string>
#include <vector>

namespace heatlens {

// What to explain: a preprocessed input [1, C, H, W] of `model`, for class `target`.
struct ExplainRequest
{
    ModelPtr model;
    torch::Tensor input;
    int target = 0;
    Params params; // complete: every declared parameter has a value
    // Images drawn from the dataset, preprocessed like `input` ([R, C, H, W]), for methods whose
    // baselines come from the data (usesReferences()); undefined when there is no dataset.
    torch::Tensor references;
};

// An H x W float map at model-input resolution, with how it was made.
struct Explanation
{
    cv::Mat map; // CV_32FC1, input height x width
    bool signedMap = false;
    std::string methodId;
    Params params;
    int target = -1;
    std::string layer; // the layer used, for layer methods
    double seconds = 0.0;
    int forwardPasses = 0;               // images passed forward
    int backwardPasses = 0;              // images passed backward
    std::map<std::string, double> stats; // e.g. completeness_gap for Integrated Gradients
    std::vector<std::string> warnings;
    // explainRows() only: the row's logits [1, classes] from the method's own forward pass, so
    // that a caller needs no second pass for the prediction; undefined otherwise.
    torch::Tensor logits;
};

// One attribution method. Implementations are stateless and const: one instance serves every
// request, from any thread. A method never mutates the model it is given.
class Method
{
public:
    virtual ~Method() = default;

    virtual std::string id() const = 0;   // kebab-case: "integrated-gradients"
    virtual std::string name() const = 0; // for menus: "Integrated Gradients"
    // gradient | cam | perturbation | transformer, or control (a reference ranking, not an
    // explanation: MethodRegistry::controls())
    virtual std::string family() const = 0;
    virtual std::string description() const = 0;
    virtual std::vector<ParamSpec> params() const = 0;
    // Why this method cannot explain `model` at all (e.g. attention methods on a CNN), for
    // menus and tables; empty when it can. explain() then throws std::invalid_argument with it.
    virtual std::string whyNotApplicable(const Model &) const { return {}; }
    // True when explain() needs request.references (baselines drawn from a dataset).
    virtual bool usesReferences() const { return false; }

    // Throws std::invalid_argument for bad requests (message names the parameter and value),
    // Cancelled when ctx is cancelled.
    virtual Explanation explain(const ExplainRequest &request, const JobContext &ctx) const = 0;

    // True when explainRows() explains the rows of a batch as independent inputs in one forward
    // and one backward pass (one-pass gradient methods, gradient CAMs): the uncertainty sampler
    // then runs T model samples as T rows of one batch instead of T passes.
    virtual bool explainsRows() const { return false; }
    // One explanation per row of request.input [B, C, H, W], each as explain() gives for that
    // row alone (up to rounding); forward and backward passes count one per row. Throws
    // std::logic_error when !explainsRows().
    virtual std::vector<Explanation> explainRows(const ExplainRequest &request,
                                                 const JobContext &ctx) const;
};

} // namespace heatlens
