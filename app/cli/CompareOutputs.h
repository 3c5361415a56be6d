#pragma once

// What `heatlens-cli compare` computed and the files it writes from it: cells.csv, pairs.csv,
// summary.json and the figures (agreement matrices and histograms).

#include "core/metrics/Comparison.h"

#include <string>
#include <vector>

namespace heatlens::cli {

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

// Writes matrix_<metric>.png for every metric and histogram_<a>_vs_<b>.png for every pair of
// models with a method both explain into `dir`, each atomically; returns their paths. Needs a
// QApplication.
std::vector<std::string> writeComparisonFigures(const ComparisonRun &run,
                                                const std::vector<PairSummary> &pairs,
                                                const std::string &dir);

// "true label", "the first model's prediction", "each model's own prediction".
std::string targetDescription(const std::string &target);

} // namespace heatlens::cli
