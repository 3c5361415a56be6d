#pragma once

#include "core/explain/ExplainJob.h"

#include <map>
#include <string>

namespace heatlens {

// The JSON summary written next to an exported explanation: model, image, prediction (top-5),
// method, parameters, target, statistics, warnings and timings (seconds, by phase).
std::string explanationSummaryJson(const Model &model, const std::string &imageId,
                                   const ExplainOutcome &outcome,
                                   const std::map<std::string, double> &timings);

} // namespace heatlens
