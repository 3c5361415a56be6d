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
// Writes into `out` the files of one uncertainty run from the finished shard folders `shards`
// (in shard order) of the run `runJson` describes (a whole run's run.json).
int mergeUncertainty(const std::vector<std::string> &shards, const std::string &runJson,
                     const std::string &out);
// The same for an evaluation run.
int mergeEvaluation(const std::vector<std::string> &shards, const std::string &runJson,
                    const std::string &out);
// The same for a comparison run.
int mergeComparison(const std::vector<std::string> &shards, const std::string &runJson,
                    const std::string &out);
// The same for an interactions run.
int mergeInteractions(const std::vector<std::string> &shards, const std::string &runJson,
                      const std::string &out);
// The index an estimator reports unless --index says otherwise (exact: `given` or k-SII).
std::string defaultInteractionIndex(const std::string &estimator, const std::string &given);
int runFigure(const std::vector<std::string> &args);
int runTrain(const std::vector<std::string> &args);
int runInspect(const std::vector<std::string> &args);
int runListMethods();
int runZoo(const std::vector<std::string> &args);

} // namespace heatlens::cli
