#pragma once

#include "core/explain/Params.h"
#include "core/metrics/Comparison.h"

#include <string>

namespace heatlens {

// What a comparison cell shows: the single map of its model and method, or the mean or the
// coefficient of variation of its explanation distribution under a stochastic source.
struct CellStatistic
{
    std::string statistic = "map"; // map | mean | cv
    std::string sourceId = "mc-dropout";
    Params sourceParams; // missing ones take their defaults
    int samples = 16;

    std::string canonical() const; // "" for the single map, else what changes the cell
    // Throws std::invalid_argument naming a bad statistic, source or sample count.
    void validate() const;
};

// explainCell for statistic "map"; otherwise the cell of the distribution's mean or CV map
// (pixels where the CV is undefined, |mean| ~ 0, are 0 in the cell: agreement needs finite
// values), with the prediction of the model as given. A source that cannot sample the model
// gives a cell with ok = false and the reason, like a method that does not apply.
CellResult explainCellStatistic(const ModelPtr &model, const cv::Mat &image,
                                const std::string &methodId, const Params &params, int target,
                                cv::Size frame, const std::shared_ptr<const Dataset> &references,
                                const CellStatistic &statistic, const JobContext &ctx);

} // namespace heatlens
