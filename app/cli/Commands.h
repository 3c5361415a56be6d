#pragma once

#include <string>
#include <vector>

namespace heatlens::cli {

// Each command parses its own arguments and returns the process exit code.
int runExplain(const std::vector<std::string> &args);
int runEvaluate(const std::vector<std::string> &args);
int runCompare(const std::vector<std::string> &args);
int runUncertainty(const std::vector<std::string> &args);
int runInteractions(const std::vector<std::string> &args);
int runMerge(const std::vector<std::string> &args);
int runTrain(const std::vector<std::string> &args);
int runInspect(const std::vector<std::string> &args);
int runListMethods();
int runZoo(const std::vector<std::string> &args);

} // namespace heatlens::cli
