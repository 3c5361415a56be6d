#pragma once

#include "core/data/Sample.h"
#include "core/metrics/Evaluation.h"
#include "core/uncertainty/Uncertainty.h"
#include "core/uncertainty/UncertaintyCurves.h"

#include <map>
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

// The files of a dataset uncertainty run in a folder, resumable like evaluate's:
//   run.json        what was run; a resumed run must match it
//   per_image.csv   one row per (image, method, source), an image's rows appended together
//   summary.json    per method and source: mean and 95% interval of every numeric column
class UncertaintyRun
{
public:
    // `combinations`: "method|source" keys, each image's rows must cover. Throws
    // std::runtime_error naming run.json when `dir` holds another run, unless `startOver`.
    UncertaintyRun(const std::string &dir, const std::string &runJson,
                   std::vector<std::string> combinations, bool startOver);

    std::vector<size_t> pending(const std::vector<size_t> &indices) const;
    size_t done() const { return m_rows.size(); }
    void append(size_t index, const std::vector<std::vector<std::string>> &rows);

    // "method|source" -> column -> mean and 95% interval over the rows of `indices`; writes
    // summary.json with them, the images counted, the seconds and the skipped images.
    std::map<std::string, std::map<std::string, Summary>>
    summarise(const std::vector<size_t> &indices, double seconds,
              const std::vector<std::string> &skipped) const;

    std::string perImagePath() const;
    std::string summaryPath() const;

private:
    std::vector<std::string> header() const;

    std::string m_dir;
    std::vector<std::string> m_combinations;
    std::map<size_t, std::map<std::string, std::vector<std::string>>> m_rows;
};

} // namespace heatlens
