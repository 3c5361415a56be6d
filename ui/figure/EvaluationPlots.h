#pragma once

#include "core/report/EvaluationRun.h"

#include <string>
#include <vector>

namespace heatlens::ui {

// The figures of an evaluation run, drawn like the Curves tab draws them (CurvePlot): mean
// deletion and insertion curves per method, ROAD MoRF/LeRF, accuracy against the fraction of
// features removed, and the sanity check's similarity per randomisation step. Writes the PNGs
// that have data into the run's folder and returns their paths. Needs a QApplication.
std::vector<std::string> writeEvaluationPlots(const EvaluationRun &run,
                                              const std::vector<size_t> &indices,
                                              const std::vector<std::string> &methods,
                                              const std::string &modelName);

} // namespace heatlens::ui
