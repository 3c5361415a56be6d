#pragma once

#include "core/data/Sample.h"
#include "core/explain/ExplainJob.h"
#include "core/metrics/Agreement.h"
#include "core/metrics/Evaluation.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace heatlens {

class Dataset;

// Comparing explanations across models (a CNN and a ViT trained on the same data, ensemble
// members, saliency-guided twins, user models of other input sizes) and methods: a grid of
// cells, model x method, on one image; every map brought to one frame of the image first.

// One cell: a model explained by a method, on one image, in the comparison frame.
struct CellResult
{
    bool ok = false;
    std::string error; // why there is no map: the method does not apply to the model, or failed
    Prediction prediction;
    int target = -1;
    cv::Mat map;            // CV_32F in the comparison frame (0 outside the part the model saw)
    cv::Rect region;        // the part of the frame the model saw (its crop)
    InputGeometry geometry; // of the model's input in the image (frameToInput goes back)
    bool signedMap = false;
    std::string layer;
    double seconds = 0.0;
};
size_t bytesHeld(const CellResult &cell);

// Explains `image` with one model and method for class `target` (< 0: the model's own
// prediction) and brings the map to a frame of `frame` pixels (comparisonFrame of the image).
// A method that does not apply to the model, a target out of the model's range, or a method
// that fails gives a cell with ok = false and the reason; Cancelled propagates.
CellResult explainCell(const ModelPtr &model, const cv::Mat &image, const std::string &methodId,
                       const Params &params, int target, cv::Size frame,
                       const std::shared_ptr<const Dataset> &references, const JobContext &ctx);

// The part of the frame every listed cell's model saw: where their maps can be compared. Cells
// without a map are ignored; the whole frame when none has one.
cv::Rect sharedRegion(const std::vector<const CellResult *> &cells, cv::Size frame);

// Agreement of every pair of cells (pairwiseAgreement's order) over their shared region; pairs
// with a cell without a map are NaN.
std::vector<Agreement> cellAgreement(const std::vector<const CellResult *> &cells,
                                     const AgreementOptions &options);

// A grid of cells (row-major: models x `columns` methods) compared: the agreement of every pair
// of cells, and the consensus (mean and spread of the normalised maps) of each column, then of
// all cells; a column without a map has an empty Consensus (maps = 0).
struct GridAgreement
{
    std::vector<Agreement> pairs;
    std::vector<Consensus> consensus; // columns + 1
};
GridAgreement gridAgreement(const std::vector<const CellResult *> &cells, int columns,
                            const AgreementOptions &options, const JobContext &ctx);

// What a dataset-level comparison runs: every model with every method, on every image.
struct ComparisonOptions
{
    std::vector<std::string> methods;
    std::map<std::string, Params> params; // per method id; missing ones take defaults
    // label: every model explains the true label (the first model's prediction when the image
    // has none); first: every model explains the first model's prediction; own: each model
    // explains its own prediction.
    std::string target = "label";
    AgreementOptions agreement;
    int maxSide = 512; // of the comparison frame
};

// Throws std::invalid_argument naming an unknown method or target mode, bad agreement options,
// or models whose class counts differ (a shared target would mean different classes).
void validateComparison(const ComparisonOptions &options, const std::vector<ModelPtr> &models);

// One image compared: cells model-major (model 0 with every method, then model 1, ...) and
// the agreement of every pair of cells.
struct ImageComparison
{
    size_t index = 0;
    std::string id;
    int label = -1;
    std::vector<CellResult> cells;
    std::vector<Agreement> pairs;
};

ImageComparison compareImage(const std::vector<ModelPtr> &models, const Sample &sample,
                             size_t index, const ComparisonOptions &options,
                             const std::shared_ptr<const Dataset> &references,
                             const JobContext &ctx);

// Which images a pair's statistics are over: "all", "class:<label name>" (true class),
// "correct" (both cells' models predicted the true class), "incorrect" (neither did),
// "mixed" (one did). Class names come from `labels` (the models share their classes).
std::vector<std::string> comparisonGroups(const ImageComparison &image, size_t cellA, size_t cellB,
                                          const Model &labels);

// Per pair of cells (pairwiseAgreement's order), per group, per metric: mean and 95% interval.
using PairSummary = std::map<std::string, std::map<std::string, Summary>>;
std::vector<PairSummary> summariseComparisons(const std::vector<ImageComparison> &images,
                                              const std::vector<ModelPtr> &models,
                                              size_t methodCount);

} // namespace heatlens
