#pragma once

// A dataset-level comparison as `heatlens-cli compare` and the viewer's "Over the dataset..."
// window run it: the one loop over the images, and the files it writes (cells.csv, pairs.csv,
// summary.json; the figures are drawn by ui/figure/ComparisonFigures).

#include "core/jobs/Progress.h"
#include "core/metrics/Comparison.h"

#include <memory>
#include <string>
#include <vector>

namespace heatlens {

class Dataset;

struct ComparedModel
{
    std::string name;     // short, for files and tables: the file stem, "#2" when it collides
    std::string argument; // as given on the command line
    ModelPtr model;
};

struct ComparisonRun
{
    std::vector<ComparedModel> models;
    ComparisonOptions options;
    std::string dataset; // as given
    size_t requested = 0;
    std::vector<ImageComparison> images; // the images compared, in order
    std::vector<std::string> skipped;    // "index: why" of unreadable samples
    bool interrupted = false;
    double seconds = 0.0;

    std::vector<ModelPtr> modelPointers() const;
    size_t cellCount() const { return models.size() * options.methods.size(); }
    size_t modelOf(size_t cell) const { return cell / options.methods.size(); }
    const std::string &methodOf(size_t cell) const
    {
        return options.methods[cell % options.methods.size()];
    }
    std::string cellName(size_t cell) const; // "demo-cnn/saliency"
};

// Per pair of cells (pairwiseAgreement's order), per group, per metric.
std::vector<PairSummary> summarise(const ComparisonRun &run);

std::string cellsCsv(const ComparisonRun &run);
std::string pairsCsv(const ComparisonRun &run);
std::string summaryJson(const ComparisonRun &run, const std::vector<PairSummary> &pairs);

// Names for the models of a run, from their files' stems ("#2", "#3" when stems collide);
// `arguments` (as given, may be empty) are kept beside them.
std::vector<ComparedModel> comparedModels(const std::vector<ModelPtr> &models,
                                          const std::vector<std::string> &arguments = {});

// Compares run.models with run.options on the listed images of `dataset`, appending to
// run.images in order: an unreadable sample is recorded in run.skipped ("index: why") and the
// run goes on; cancellation stops it with run.interrupted set and the images done kept (the one
// in progress is dropped). Unless `keepMaps`, the cells' maps are released once their image's
// agreement is computed (a long run keeps numbers, not maps). run.requested and run.seconds
// are set.
void runComparison(ComparisonRun &run, const std::shared_ptr<const Dataset> &dataset,
                   const std::vector<size_t> &indices, const JobContext &ctx,
                   bool keepMaps = false);

// Writes cells.csv, pairs.csv and summary.json into `dir`, each atomically; returns their paths.
std::vector<std::string> writeComparisonTables(const ComparisonRun &run,
                                               const std::vector<PairSummary> &pairs,
                                               const std::string &dir);

// run.json of a comparison: its options in the form of heatlens-cli compare's arguments (the
// models as given, methods, --param items, target, signed, top-k, max-side; merge parses them
// again), the dataset, the selection ("limit:N" or "indices:LIST"), the images of this run and
// its shard (index, count, images of the whole run).
std::string comparisonRunJson(const ComparisonRun &run, const std::string &selection, size_t images,
                              int shardIndex = 0, int shardCount = 1, size_t ofImages = 0);

// "true label", "the first model's prediction", "each model's own prediction".
std::string targetDescription(const std::string &target);

} // namespace heatlens
