#pragma once

#include "core/groups/CoalitionGame.h"

#include <string>
#include <vector>

namespace heatlens {

// Group attributions and pairwise interactions of a coalition game, exact or estimated with a
// budget of model calls:
//   exact        all 2^p coalitions (p <= 20), any index of exactIndex()
//   permutation  permutation sampling of the Shapley interaction index: in a random order of the
//                players, each pair of neighbours (i, j) gives Delta_ij v(players before them),
//                an unbiased sample of SII_ij (2p calls per order); singles are the Shapley values
//                of the same orders
//   regression   Faith-SHAP (Tsai et al. 2023): weighted least squares of v(S) on 1, the
//                players and the pairs in S under the Shapley kernel, over sampled coalitions
//                (the empty and full ones always, sizes drawn by the kernel's weight)
//   archdetect   ArchDetect (Tsang et al. 2020): Delta_ij v at the empty coalition and at all
//                but i and j, averaged (their squares' mean is its detection strength); singles
//                v({i}) - v(empty). p^2 + p + 2 calls, or 2 (1 + p + |E|) adjacent pairs only
//   cd           contextual decomposition (see ContextualDecomposition.h) on a model's game:
//                p + pairs decompositions, no sampling
// With `repeats` > 1 the estimator runs with that many seeds on the budget each and reports the
// mean and the standard error of every value.
struct EstimateOptions
{
    std::string estimator = "exact";
    std::string index = "k-sii"; // exact: any exactIndex(); estimators have their own
    int budget = 0;              // model calls per run; 0: the estimator's default
    bool adjacentOnly = false;   // pairs of neighbouring groups only (archdetect, permutation)
    int repeats = 1;
    uint64_t seed = 0;
    // Sampling estimators: spend the budget in doubling steps (an eighth, a quarter, a half, all
    // of it) and stop once the top-10 pairs of two successive steps overlap by at least this
    // share (0: always spend the whole budget). The same seed makes every step's coalitions a
    // prefix of the next one's, so the steps cost no more than the last.
    double stopOverlap = 0.0;
    // Sampling estimators (one run): spend the budget in those doubling steps even without
    // stopOverlap and report each step's estimate before the last as a partial result (a
    // GroupInteractions, through JobContext::reportPartialResult), so that a run stopped early
    // still has its latest estimate. The final estimate is the same either way.
    bool streamSteps = false;

    std::string canonical() const;
    void validate() const; // throws std::invalid_argument naming the option
};

struct GroupInteractions
{
    std::string estimator, index;
    int players = 0;
    std::vector<double> singles;
    std::vector<double> pairs;                       // p x p, symmetric, zero diagonal
    std::vector<double> singleErrors, pairErrors;    // standard errors; empty for one run
    std::vector<std::pair<int, int>> estimatedPairs; // the pairs it estimates (all, or adjacent)
    double emptyValue = 0.0, fullValue = 0.0;        // v(empty), v(all groups)
    std::string stopReason; // sampling with stopOverlap: why it stopped where it did
    int calls = 0;          // coalitions it evaluates, cached ones included: its own cost
    double seconds = 0.0;

    double pair(int i, int j) const { return pairs[size_t(i) * size_t(players) + size_t(j)]; }
};

// The calls a plan needs before it runs (for the cost and ETA shown first).
int plannedCalls(int players, int adjacentPairs, const EstimateOptions &options);

// Runs the estimator on `game` for class `target`; the game's cache serves every coalition it
// already holds. Throws std::invalid_argument for a bad option, Cancelled when cancelled.
GroupInteractions estimateInteractions(Game &game, int target, const EstimateOptions &options,
                                       const JobContext &ctx = {});

// Scores of estimated pairs against the true ones (recovery of known interactions):
//   mse           mean squared error over the pairs estimated
//   precisionAt10 the share of the 10 largest true pairs (by |value|) among the 10 largest
//                 estimated ones
//   kendallTau    Kendall's tau-b between estimated and true values of the pairs that interact
//   falsePositive the share of pairs whose true value is 0 that the estimate gives at least a
//                 tenth of the largest true |value|
struct RecoveryScores
{
    double mse = 0.0, precisionAt10 = 0.0, kendallTau = 0.0, falsePositive = 0.0;
};
RecoveryScores scoreRecovery(const GroupInteractions &estimate, const std::vector<double> &truth,
                             double zeroTolerance = 1e-9);
// The same scores for the groups' attributions (singles) against true ones (p values).
RecoveryScores scoreSingles(const GroupInteractions &estimate, const std::vector<double> &truth);

} // namespace heatlens
