#pragma once

#include "core/data/Sample.h"
#include "core/uncertainty/Uncertainty.h"
#include "core/uncertainty/UncertaintyCurves.h"

#include <string>
#include <vector>

namespace heatlens {

// The per-image columns of an uncertainty run (after index, id, label, predicted, target,
// method, source): T reached, the map statistics, the prediction spread, the deletion AUC of the
// mean map, the banded curves' AUCs and the confident-versus-uncertain delta (empty when the
// run computes no curves), the seconds and why sampling stopped.
const std::vector<std::string> &uncertaintyColumns();

// One row of per_image.csv for one (image, method, source).
std::vector<std::string> uncertaintyRow(size_t index, const Sample &sample, int predicted,
                                        const UncertaintyResult &result, double deletionAuc,
                                        const UncertaintyCurves *curves);

// per_image.csv's columns for a DatasetRun of uncertainty: index, id, label, predicted,
// target, method, source, then uncertaintyColumns(); the combination is method|source.
std::vector<std::string> uncertaintyHeader();
const std::vector<size_t> &uncertaintyKeyColumns();

} // namespace heatlens
