#pragma once

#include "core/groups/Estimators.h"

#include <map>
#include <vector>

namespace heatlens {

// Hierarchies of interacting groups.

// One cluster of groups: a leaf (one group) or the merge of two clusters.
struct ClusterNode
{
    std::vector<int> groups; // sorted
    double importance = 0.0; // v(cluster alone present) - v(empty)
    double gain = 0.0;       // merges: importance - the parts' importances (their interaction)
    int left = -1, right = -1;
};

// ACD-like agglomeration (Singh, Murdoch & Yu 2019) over the region adjacency graph, with the
// game's values as the score: starting from single groups, repeatedly merge the neighbouring
// pair of clusters whose union gains most over its parts, and score the merged cluster. Nodes:
// the p leaves first, then the p - 1 merges in order (the root last, when the graph is
// connected; otherwise as many merges as it allows). Calls: 1 + p + |E| to start, then one per
// new pair of neighbours of each merged cluster.
std::vector<ClusterNode> agglomerate(Game &game, int target, const JobContext &ctx = {});

// Archipelago's top-k view (Tsang et al. 2020): the k strongest pairs by |interaction| merged
// into disjoint sets where they overlap (union-find), every other group alone; sets sorted by
// their smallest group.
std::vector<std::vector<int>> topKSets(const GroupInteractions &estimate, int k);

// The importance of every set of more than one group that topKSets gives for k = 1..kMax,
// Archipelago's ArchAttribute: v(the set alone present) - v(empty). One call per distinct set
// (plus the empty coalition), cached by the game.
std::map<std::vector<int>, double> topKSetImportance(Game &game, int target,
                                                     const GroupInteractions &estimate, int kMax,
                                                     const JobContext &ctx = {});

} // namespace heatlens
