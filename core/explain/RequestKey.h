#pragma once

#include "core/explain/Params.h"

#include <string>

namespace heatlens {

class Dataset;
class Model;

// The one place where the name of a computation is built, for the viewer's caches and its
// "is this already being computed" checks: the model's identity (its file's content key), where
// the image comes from (dataset source and sample id), the method with its complete canonical
// parameters (defaults filled in, so "steps=50" given or left out name the same request), the
// target, and the options of whatever is computed from the explanation (a curve, a sanity
// check), each under its own kind:
//
//   RequestKey(model, dataset, sampleId).method("grad-cam", params).target(3)
//       .options("curve", curveOptions.canonical()).text()
//
// Two requests get the same text exactly when they compute the same result.
class RequestKey
{
public:
    RequestKey(const Model &model, const Dataset *dataset, const std::string &sampleId);

    // Unknown method ids are named by the parameters as given (they fail when computed).
    RequestKey &method(const std::string &methodId, const Params &params);
    RequestKey &target(int target); // -1: the model's own prediction
    RequestKey &options(const std::string &kind, const std::string &canonical);

    const std::string &text() const { return m_text; }
    operator const std::string &() const { return m_text; }

private:
    std::string m_text;
};

} // namespace heatlens
