#pragma once

#include "core/metrics/Sanity.h"
#include "core/uncertainty/Uncertainty.h"

#include <functional>
#include <string>
#include <vector>

namespace heatlens {

// Sanity checks for explanation uncertainty (Valdenegro-Toro & Mulye 2024; Adebayo et al. 2018
// for single maps): the model parameter randomisation test run on the mean map and on the std
// map. Each step randomises more layers (cascading, from the logits down) or one layer
// (independent) on private copies, samples the explanation distribution again under the same
// source, and compares the new mean and std maps with the original ones (Spearman of absolute
// values). A mean map that stays the same fails as in the plain test; a std map that stays the
// same means the uncertainty does not depend on what the model learnt: a low CV there is low for
// the wrong reason.
struct UncertaintySanityStep
{
    std::string label;
    cv::Mat mean, stdDev;
    double meanSpearman = 0.0; // |mean| against the original's
    double stdSpearman = 0.0;  // std against the original's
    double meanCv = 0.0;
};

struct UncertaintySanityResult
{
    std::string methodId, sourceId, mode;
    int samples = 0; // per distribution
    UncertaintyResult original;
    std::vector<UncertaintySanityStep> steps;
    double threshold = 0.5;
    bool meanPasses = false; // the mean map reacts to the weights
    bool stdPasses = false;  // the std map reacts to the weights
    std::string verdict;     // one line for people, shown beside CV maps
};
size_t bytesHeld(const UncertaintySanityResult &result);

// `request.options.maxSamples` samples per distribution (kept small: every step samples again).
// Ensembles randomise the same layers in every member. `onStep` gets the result so far.
UncertaintySanityResult
uncertaintySanity(const UncertaintyRequest &request, const SanityOptions &options,
                  const JobContext &ctx,
                  const std::function<void(const UncertaintySanityResult &)> &onStep = {});

// The verdict line for a finished check (also for results read back from files).
std::string uncertaintySanityVerdict(const UncertaintySanityResult &result);

} // namespace heatlens
