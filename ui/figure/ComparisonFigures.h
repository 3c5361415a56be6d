#pragma once

#include "core/report/ComparisonRun.h"

#include <string>
#include <vector>

namespace heatlens::ui {

// The figures of a dataset comparison (heatlens-cli compare, the viewer's "Over the dataset..."
// Export): matrix_<metric>.png for every metric and histogram_<a>_vs_<b>.png for every pair of
// models with a method both explain, written into `dir`, each atomically; returns their paths.
// Needs a QApplication (or QGuiApplication offscreen).
std::vector<std::string> writeComparisonFigures(const ComparisonRun &run,
                                                const std::vector<PairSummary> &pairs,
                                                const std::string &dir);

} // namespace heatlens::ui
