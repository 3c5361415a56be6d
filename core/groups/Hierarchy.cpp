#include "core/groups/Hierarchy.h"

#include <algorithm>
#include <functional>
#include <map>
#include <numeric>
#include <set>

namespace heatlens {

namespace {

PlayerSet setOf(int players, const std::vector<int> &groups)
{
    PlayerSet s(players);
    for (int g : groups)
        s.add(g);
    return s;
}

std::vector<int> unite(const std::vector<int> &a, const std::vector<int> &b)
{
    std::vector<int> u;
    std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(u));
    return u;
}

} // namespace

std::vector<ClusterNode> agglomerate(Game &game, int target, const JobContext &ctx)
{
    const int p = game.players();
    const PlayerSet none(p);
    std::vector<ClusterNode> nodes;
    std::vector<PlayerSet> plan = {none};
    for (int i = 0; i < p; ++i)
        plan.push_back(setOf(p, {i}));
    for (const auto &[i, j] : game.adjacent())
        plan.push_back(setOf(p, {i, j}));
    game.evaluate(plan, ctx);
    const double empty = game.value(none, target);
    auto importance = [&](const std::vector<int> &groups) {
        return game.value(setOf(p, groups), target) - empty;
    };
    for (int i = 0; i < p; ++i)
        nodes.push_back({{i}, importance({i}), 0.0, -1, -1});
    // Live clusters (node indices) and which clusters neighbour which.
    std::set<int> live;
    for (int i = 0; i < p; ++i)
        live.insert(i);
    std::map<int, std::set<int>> neighbours;
    for (const auto &[i, j] : game.adjacent()) {
        neighbours[i].insert(j);
        neighbours[j].insert(i);
    }
    while (live.size() > 1) {
        ctx.throwIfCancelled();
        int bestA = -1, bestB = -1;
        double bestGain = 0.0;
        for (int a : live)
            for (int b : neighbours[a]) {
                if (b <= a)
                    continue;
                const auto u = unite(nodes[size_t(a)].groups, nodes[size_t(b)].groups);
                const double gain =
                    importance(u) - nodes[size_t(a)].importance - nodes[size_t(b)].importance;
                if (bestA < 0 || gain > bestGain) {
                    bestA = a;
                    bestB = b;
                    bestGain = gain;
                }
            }
        if (bestA < 0)
            break; // the rest is not connected
        ClusterNode merged;
        merged.groups = unite(nodes[size_t(bestA)].groups, nodes[size_t(bestB)].groups);
        merged.importance = importance(merged.groups);
        merged.gain = bestGain;
        merged.left = bestA;
        merged.right = bestB;
        const int id = int(nodes.size());
        nodes.push_back(merged);
        std::set<int> around;
        for (int n : {bestA, bestB})
            for (int m : neighbours[n])
                if (m != bestA && m != bestB)
                    around.insert(m);
        live.erase(bestA);
        live.erase(bestB);
        for (int m : around) {
            neighbours[m].erase(bestA);
            neighbours[m].erase(bestB);
            neighbours[m].insert(id);
        }
        neighbours[id] = around;
        live.insert(id);
        // The unions the next step scores: the merged cluster with each neighbour.
        std::vector<PlayerSet> next;
        for (int m : around)
            next.push_back(setOf(p, unite(merged.groups, nodes[size_t(m)].groups)));
        game.evaluate(next, ctx);
    }
    return nodes;
}

std::vector<std::vector<int>> topKSets(const GroupInteractions &e, int k)
{
    auto pairs = e.estimatedPairs;
    std::stable_sort(pairs.begin(), pairs.end(), [&](const auto &a, const auto &b) {
        return std::abs(e.pair(a.first, a.second)) > std::abs(e.pair(b.first, b.second));
    });
    std::vector<int> parent(static_cast<size_t>(e.players));
    std::iota(parent.begin(), parent.end(), 0);
    std::function<int(int)> root = [&](int i) {
        return parent[size_t(i)] == i ? i : parent[size_t(i)] = root(parent[size_t(i)]);
    };
    for (size_t t = 0; t < pairs.size() && int(t) < k; ++t)
        parent[size_t(root(pairs[t].first))] = root(pairs[t].second);
    std::map<int, std::vector<int>> sets;
    for (int i = 0; i < e.players; ++i)
        sets[root(i)].push_back(i);
    std::vector<std::vector<int>> out;
    for (auto &[r, members] : sets)
        out.push_back(members);
    std::sort(out.begin(), out.end());
    return out;
}

std::map<std::vector<int>, double> topKSetImportance(Game &game, int target,
                                                     const GroupInteractions &e, int kMax,
                                                     const JobContext &ctx)
{
    std::set<std::vector<int>> sets;
    const int pairs = int(e.estimatedPairs.size());
    for (int k = 1; k <= std::min(kMax, pairs); ++k)
        for (auto &set : topKSets(e, k))
            if (set.size() > 1)
                sets.insert(std::move(set));
    const PlayerSet none(e.players);
    std::vector<PlayerSet> coalitions{none};
    for (const auto &set : sets)
        coalitions.push_back(setOf(e.players, set));
    game.evaluate(coalitions, ctx);
    std::map<std::vector<int>, double> importance;
    const double empty = game.value(none, target);
    size_t at = 1;
    for (const auto &set : sets)
        importance[set] = game.value(coalitions[at++], target) - empty;
    return importance;
}

} // namespace heatlens
