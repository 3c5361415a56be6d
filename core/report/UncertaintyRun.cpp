#include "core/report/UncertaintyRun.h"

#include "core/io/Csv.h"

#include <cmath>

namespace heatlens {

namespace {

const std::vector<std::string> kKeyColumns = {"index",  "id",     "label", "predicted",
                                              "target", "method", "source"};

double meanOf(const cv::Mat &m)
{
    return cv::mean(m)[0];
}

} // namespace

const std::vector<std::string> &uncertaintyColumns()
{
    static const std::vector<std::string> columns = {"samples",
                                                     "mean_cv",
                                                     "median_cv",
                                                     "undefined_cv",
                                                     "rank_stability",
                                                     "top_iou",
                                                     "relative_std_error",
                                                     "mean_std",
                                                     "entropy",
                                                     "mutual_information",
                                                     "flip_rate",
                                                     "deletion_auc",
                                                     "band_auc",
                                                     "band_auc_p5",
                                                     "band_auc_p95",
                                                     "delta_auc",
                                                     "delta_p5",
                                                     "delta_p95",
                                                     "seconds",
                                                     "stop_reason"};
    return columns;
}

std::vector<std::string> uncertaintyRow(size_t index, const Sample &sample, int predicted,
                                        const UncertaintyResult &r, double deletionAuc,
                                        const UncertaintyCurves *c)
{
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const PredictionSpread &p = r.prediction;
    std::vector<std::string> row = {std::to_string(index),
                                    sample.id,
                                    std::to_string(sample.label),
                                    std::to_string(predicted),
                                    std::to_string(r.target),
                                    r.methodId,
                                    r.sourceId};
    for (double v : {double(r.samples), r.meanCv, r.medianCv, r.undefinedCvFraction,
                     r.rankStability, r.topIoU, r.relativeStdError, meanOf(r.stdDev), p.entropy,
                     p.mutualInformation, p.flipRate, deletionAuc, c ? c->samples.aucMean : nan,
                     c ? c->samples.aucLow : nan, c ? c->samples.aucHigh : nan, c ? c->delta : nan,
                     c ? c->deltaLow : nan, c ? c->deltaHigh : nan, r.seconds})
        row.push_back(csvNumber(v));
    row.push_back(r.stopReason);
    return row;
}

std::vector<std::string> uncertaintyHeader()
{
    auto h = kKeyColumns;
    h.insert(h.end(), uncertaintyColumns().begin(), uncertaintyColumns().end());
    return h;
}

const std::vector<size_t> &uncertaintyKeyColumns()
{
    static const std::vector<size_t> columns = {5, 6}; // method, source
    return columns;
}

} // namespace heatlens
