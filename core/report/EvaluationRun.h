#pragma once

#include "core/metrics/Evaluation.h"

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace heatlens {

// The mean of one kind of curve over the images of a run, point by point.
struct MeanCurve
{
    std::vector<double> x;
    std::vector<double> mean;
    std::vector<double> ci95;
    int images = 0;
};

// The files of one evaluation run in a directory, written so that a run can be interrupted at
// any time and resumed by running the same command again:
//   run.json        what was run (model, dataset, options); a resumed run must match it
//   per_image.csv   one row per (image, method): prediction, target and every metric column;
//                   an image's rows are appended together, after its curves, and flushed
//   curves.csv      one row per (image, method, curve kind): x and y values, ';'-separated
//   summary.json    means and 95% confidence intervals per method and column, mean curves
// Rows cut by an interruption and curves of images without rows are dropped on reopening.
class EvaluationRun
{
public:
    // Opens or starts the run in `dir` (created if missing). Throws std::runtime_error naming
    // run.json and the first differing option when `dir` holds a run with other options,
    // unless `startOver` (the previous files are then replaced).
    EvaluationRun(const std::string &dir, const EvaluationOptions &options,
                  const std::string &runJson, bool startOver);

    // The listed images without complete rows: (dataset index, position in `indices`).
    std::vector<std::pair<size_t, size_t>> pending(const std::vector<size_t> &indices) const;
    void append(const ImageEvaluation &evaluation);

    // Per method and column over the rows of `indices`; writes summary.json (with the mean
    // curves, the model, timings and skipped images) and returns the table.
    std::map<std::string, std::map<std::string, Summary>>
    summarise(const std::vector<size_t> &indices, double seconds,
              const std::vector<std::string> &skipped) const;
    // Per method and curve kind, the mean over the images of `indices`.
    std::map<std::string, std::map<std::string, MeanCurve>>
    meanCurves(const std::vector<size_t> &indices) const;

    std::string perImagePath() const;
    std::string curvesPath() const;
    std::string summaryPath() const;
    const std::string &dir() const { return m_dir; }

private:
    std::vector<std::string> header() const;
    void loadRows();
    void loadCurves();

    std::string m_dir;
    std::string m_runJson; // run.json's text: equal to the file's when resuming
    EvaluationOptions m_options;
    std::vector<std::string> m_columns;
    // index -> method -> row fields (as written)
    std::map<size_t, std::map<std::string, std::vector<std::string>>> m_rows;
    // index -> method -> kind -> (x, y)
    std::map<size_t, std::map<std::string, std::map<std::string, Curve>>> m_curves;
};

// run.json's text for these options: model (path, name, cache identity), dataset, options.
std::string runOptionsJson(const EvaluationOptions &options, const Model &model,
                           const std::string &dataset, const std::string &references);

} // namespace heatlens
