#include "core/groups/Estimators.h"

#include "core/groups/ContextualDecomposition.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <sstream>

namespace heatlens {

namespace {

const std::vector<std::string> kEstimators = {"exact", "permutation", "regression", "archdetect",
                                              "cd"};

std::vector<std::pair<int, int>> allPairs(int p)
{
    std::vector<std::pair<int, int>> pairs;
    for (int i = 0; i < p; ++i)
        for (int j = i + 1; j < p; ++j)
            pairs.emplace_back(i, j);
    return pairs;
}

int defaultBudget(int p, const EstimateOptions &o)
{
    if (o.estimator == "permutation")
        return 2 * p * 20; // 20 orders
    if (o.estimator == "regression") {
        const double all = std::ldexp(1.0, std::min(p, 30));
        return int(std::min(all, 4.0 * (1 + p + p * (p - 1) / 2)));
    }
    return 0;
}

GroupInteractions emptyResult(const Game &game, const EstimateOptions &o)
{
    GroupInteractions r;
    r.estimator = o.estimator;
    r.index = o.index;
    r.players = game.players();
    r.singles.assign(size_t(r.players), 0.0);
    r.pairs.assign(size_t(r.players) * size_t(r.players), 0.0);
    r.estimatedPairs = o.adjacentOnly ? game.adjacent() : allPairs(r.players);
    return r;
}

void setPair(GroupInteractions &r, int i, int j, double v)
{
    r.pairs[size_t(i) * size_t(r.players) + size_t(j)] = v;
    r.pairs[size_t(j) * size_t(r.players) + size_t(i)] = v;
}

PlayerSet with(PlayerSet s, std::initializer_list<int> players)
{
    for (int i : players)
        s.add(i);
    return s;
}

PlayerSet without(PlayerSet s, std::initializer_list<int> players)
{
    for (int i : players)
        s.remove(i);
    return s;
}

GroupInteractions exact(Game &game, int target, const EstimateOptions &o, const JobContext &ctx)
{
    GroupInteractions r = emptyResult(game, o);
    const GameIndex x = exactIndex(game.exactGame(target, ctx), o.index);
    r.singles = x.singles;
    if (x.pairs.empty()) // an index of order 1
        r.estimatedPairs.clear();
    for (const auto &[i, j] : r.estimatedPairs)
        setPair(r, i, j, x.pair(i, j));
    return r;
}

GroupInteractions archDetect(Game &game, int target, const EstimateOptions &o,
                             const JobContext &ctx)
{
    GroupInteractions r = emptyResult(game, o);
    const int p = r.players;
    const PlayerSet none(p), all = PlayerSet::all(p);
    std::vector<PlayerSet> plan = {none, all};
    for (int i = 0; i < p; ++i) {
        plan.push_back(with(none, {i}));
        plan.push_back(without(all, {i}));
    }
    for (const auto &[i, j] : r.estimatedPairs) {
        plan.push_back(with(none, {i, j}));
        plan.push_back(without(all, {i, j}));
    }
    game.evaluate(plan, ctx);
    auto v = [&](const PlayerSet &s) { return game.value(s, target); };
    for (int i = 0; i < p; ++i)
        r.singles[size_t(i)] = v(with(none, {i})) - v(none);
    for (const auto &[i, j] : r.estimatedPairs) {
        const double atEmpty =
            v(with(none, {i, j})) - v(with(none, {i})) - v(with(none, {j})) + v(none);
        const double atFull =
            v(all) - v(without(all, {i})) - v(without(all, {j})) + v(without(all, {i, j}));
        setPair(r, i, j, 0.5 * (atEmpty + atFull));
    }
    return r;
}

GroupInteractions permutation(Game &game, int target, const EstimateOptions &o, uint64_t seed,
                              const JobContext &ctx)
{
    GroupInteractions r = emptyResult(game, o);
    const int p = r.players;
    const int budget = o.budget > 0 ? o.budget : defaultBudget(p, o);
    const int orders = std::max(1, budget / (2 * p));
    std::mt19937_64 rng(seed);
    std::vector<std::vector<int>> permutations;
    std::vector<PlayerSet> plan;
    for (int k = 0; k < orders; ++k) {
        std::vector<int> order(static_cast<size_t>(p));
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
        PlayerSet prefix(p);
        plan.push_back(prefix);
        for (int pos = 0; pos < p; ++pos) {
            if (pos + 1 < p)
                plan.push_back(with(prefix, {order[size_t(pos) + 1]}));
            prefix.add(order[size_t(pos)]);
            plan.push_back(prefix);
        }
        permutations.push_back(std::move(order));
    }
    game.evaluate(plan, ctx);
    auto v = [&](const PlayerSet &s) { return game.value(s, target); };
    std::vector<double> sums(size_t(p) * size_t(p), 0.0), counts(size_t(p) * size_t(p), 0.0);
    for (const auto &order : permutations) {
        PlayerSet prefix(p);
        for (int pos = 0; pos < p; ++pos) {
            const int i = order[size_t(pos)];
            const PlayerSet next = with(prefix, {i});
            r.singles[size_t(i)] += (v(next) - v(prefix)) / double(orders);
            if (pos + 1 < p) {
                const int j = order[size_t(pos) + 1];
                const double delta =
                    v(with(next, {j})) - v(next) - v(with(prefix, {j})) + v(prefix);
                for (const auto &[a, b] : {std::pair(i, j), std::pair(j, i)}) {
                    sums[size_t(a) * size_t(p) + size_t(b)] += delta;
                    counts[size_t(a) * size_t(p) + size_t(b)] += 1.0;
                }
            }
            prefix = next;
        }
    }
    for (const auto &[i, j] : r.estimatedPairs) {
        const size_t at = size_t(i) * size_t(p) + size_t(j);
        setPair(r, i, j, counts[at] > 0 ? sums[at] / counts[at] : 0.0);
    }
    if (o.index == "k-sii") // from SII as the exact decomposition does
        for (int i = 0; i < p; ++i)
            for (int j = 0; j < p; ++j)
                if (i != j)
                    r.singles[size_t(i)] -= 0.5 * r.pair(i, j);
    return r;
}

// Faith-SHAP: weighted least squares of v(S) on [1, z_i, z_i z_j] under the Shapley kernel.
GroupInteractions regression(Game &game, int target, const EstimateOptions &o, uint64_t seed,
                             const JobContext &ctx)
{
    GroupInteractions r = emptyResult(game, o);
    const int p = r.players;
    const auto pairs = r.estimatedPairs;
    const int features = 1 + p + int(pairs.size());
    const int budget = std::max(features + 2, o.budget > 0 ? o.budget : defaultBudget(p, o));
    std::vector<PlayerSet> plan = {PlayerSet(p), PlayerSet::all(p)};
    std::vector<double> weights = {1e6, 1e6}; // the empty and full coalitions are constraints
    const double all = std::ldexp(1.0, std::min(p, 40));
    if (p <= 20 && budget >= all) { // every coalition, weighted by the kernel itself
        for (Coalition s = 1; s + 1 < (Coalition(1) << p); ++s) {
            plan.push_back(PlayerSet::fromBits(p, s));
            const int t = popcount(s);
            weights.push_back(double(p - 1) / (std::exp(std::lgamma(p + 1) - std::lgamma(t + 1) -
                                                        std::lgamma(p - t + 1)) *
                                               t * (p - t)));
        }
    } else { // sizes drawn by the kernel's total weight per size (1 / (t (p - t))), uniform sets
        std::mt19937_64 rng(seed);
        std::vector<double> sizeWeights;
        for (int t = 1; t < p; ++t)
            sizeWeights.push_back(1.0 / (double(t) * double(p - t)));
        std::discrete_distribution<int> size(sizeWeights.begin(), sizeWeights.end());
        std::vector<int> order(static_cast<size_t>(p));
        std::iota(order.begin(), order.end(), 0);
        while (int(plan.size()) < budget) {
            const int t = size(rng) + 1;
            std::shuffle(order.begin(), order.end(), rng);
            PlayerSet s(p);
            for (int k = 0; k < t; ++k)
                s.add(order[size_t(k)]);
            plan.push_back(s);
            weights.push_back(1.0);
        }
    }
    game.evaluate(plan, ctx);
    const int64_t n = int64_t(plan.size());
    auto x = torch::zeros({n, features}, torch::kDouble);
    auto y = torch::zeros({n}, torch::kDouble);
    auto w = torch::tensor(weights, torch::kDouble);
    auto xa = x.accessor<double, 2>();
    auto ya = y.accessor<double, 1>();
    for (int64_t row = 0; row < n; ++row) {
        const PlayerSet &s = plan[size_t(row)];
        xa[row][0] = 1.0;
        for (int i = 0; i < p; ++i)
            xa[row][1 + i] = s.has(i) ? 1.0 : 0.0;
        for (size_t k = 0; k < pairs.size(); ++k)
            xa[row][1 + p + int64_t(k)] = s.has(pairs[k].first) && s.has(pairs[k].second);
        ya[row] = game.value(s, target);
    }
    // Least squares on the rows scaled by sqrt(weight), by QR with column pivoting (better
    // conditioned than the normal equations with the constraints' large weights).
    const auto root = w.sqrt();
    const auto beta =
        std::get<0>(torch::linalg_lstsq(x * root.unsqueeze(1), (y * root).unsqueeze(1),
                                        c10::nullopt, std::string("gelsy")))
            .squeeze(1);
    for (int i = 0; i < p; ++i)
        r.singles[size_t(i)] = beta[1 + i].item<double>();
    for (size_t k = 0; k < pairs.size(); ++k)
        setPair(r, pairs[k].first, pairs[k].second, beta[1 + p + int64_t(k)].item<double>());
    return r;
}

// Passes evaluations through to a game and remembers which coalitions were asked for: what an
// estimate costs on its own, whatever the game had cached already.
class CountingGame : public Game
{
public:
    explicit CountingGame(Game &game)
        : m_game(game)
    {}
    int players() const override { return m_game.players(); }
    const std::vector<std::pair<int, int>> &adjacent() const override { return m_game.adjacent(); }
    void evaluate(const std::vector<PlayerSet> &coalitions, const JobContext &ctx) override
    {
        m_asked.insert(coalitions.begin(), coalitions.end());
        m_game.evaluate(coalitions, ctx);
    }
    double value(const PlayerSet &s, int target) const override { return m_game.value(s, target); }
    int calls() const override { return int(m_asked.size()); }

private:
    Game &m_game;
    std::set<PlayerSet> m_asked;
};

// The share of the 10 strongest pairs (by |value|) two estimates have in common.
double topOverlap(const GroupInteractions &a, const GroupInteractions &b)
{
    auto top = [](const GroupInteractions &e) {
        auto pairs = e.estimatedPairs;
        std::stable_sort(pairs.begin(), pairs.end(), [&](const auto &x, const auto &y) {
            return std::abs(e.pair(x.first, x.second)) > std::abs(e.pair(y.first, y.second));
        });
        pairs.resize(std::min<size_t>(10, pairs.size()));
        return std::set<std::pair<int, int>>(pairs.begin(), pairs.end());
    };
    const auto ta = top(a), tb = top(b);
    size_t common = 0;
    for (const auto &pair : ta)
        common += tb.count(pair);
    return ta.empty() ? 1.0 : double(common) / double(ta.size());
}

GroupInteractions runOnce(Game &game, int target, const EstimateOptions &o, uint64_t seed,
                          const JobContext &ctx)
{
    if (o.estimator == "exact")
        return exact(game, target, o, ctx);
    if (o.estimator == "archdetect")
        return archDetect(game, target, o, ctx);
    if (o.estimator == "permutation")
        return permutation(game, target, o, seed, ctx);
    return regression(game, target, o, seed, ctx);
}

} // namespace

std::string EstimateOptions::canonical() const
{
    std::ostringstream out;
    out << estimator << ":" << index << ";budget=" << budget << ";adjacent=" << adjacentOnly
        << ";repeats=" << repeats << ";seed=" << seed;
    return out.str();
}

void EstimateOptions::validate() const
{
    if (std::find(kEstimators.begin(), kEstimators.end(), estimator) == kEstimators.end())
        throw std::invalid_argument("unknown estimator \"" + estimator +
                                    "\" (exact, permutation, regression, archdetect, cd)");
    const auto &indices = gameIndices();
    if (estimator == "exact" && std::find(indices.begin(), indices.end(), index) == indices.end())
        throw std::invalid_argument("exact: unknown index \"" + index + "\"");
    if (estimator == "permutation" && index != "sii" && index != "k-sii")
        throw std::invalid_argument("permutation sampling estimates sii or k-sii, not \"" + index +
                                    "\"");
    if (estimator == "regression" && index != "fsii")
        throw std::invalid_argument("regression estimates fsii (Faith-SHAP), not \"" + index +
                                    "\"");
    if (estimator == "archdetect" && index != "archdetect")
        throw std::invalid_argument("archdetect estimates its own index \"archdetect\", not \"" +
                                    index + "\"");
    if (estimator == "cd" && index != "cd")
        throw std::invalid_argument("contextual decomposition gives its own scores \"cd\", not \"" +
                                    index + "\"");
    if (budget < 0 || repeats < 1)
        throw std::invalid_argument("the budget must be >= 0 and repeats >= 1");
    if (stopOverlap < 0.0 || stopOverlap > 1.0)
        throw std::invalid_argument("the stopping overlap must be in [0, 1], got " +
                                    std::to_string(stopOverlap));
}

int plannedCalls(int players, int adjacentPairs, const EstimateOptions &o)
{
    const int p = players;
    const int pairs = o.adjacentOnly ? adjacentPairs : p * (p - 1) / 2;
    if (o.estimator == "exact")
        return p > 30 ? std::numeric_limits<int>::max() : 1 << p;
    if (o.estimator == "archdetect")
        return 2 * (1 + p + pairs);
    if (o.estimator == "cd")
        return p + pairs + 2; // decompositions (about two passes each), v(empty) and v(all)
    const int budget = o.budget > 0 ? o.budget : defaultBudget(p, o);
    return budget * o.repeats;
}

GroupInteractions estimateInteractions(Game &game, int target, const EstimateOptions &o,
                                       const JobContext &ctx)
{
    o.validate();
    if (o.estimator == "cd") {
        auto *model = dynamic_cast<CoalitionGame *>(&game);
        if (!model)
            throw std::invalid_argument("contextual decomposition needs a model's game");
        return cdInteractions(*model, target, o.adjacentOnly, model->batch(), ctx);
    }
    const auto start = std::chrono::steady_clock::now();
    CountingGame counted(game);
    const bool random = o.estimator == "permutation" || o.estimator == "regression";
    const int runs = random ? o.repeats : 1;
    // What every estimate carries besides its values: v(empty), v(all), its cost and time.
    const PlayerSet none(game.players()), all = PlayerSet::all(game.players());
    auto complete = [&](GroupInteractions r, const std::string &stopReason, const JobContext &on) {
        counted.evaluate({none, all}, on);
        r.emptyValue = game.value(none, target);
        r.fullValue = game.value(all, target);
        r.calls = counted.calls();
        r.stopReason = stopReason;
        r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return r;
    };
    std::vector<GroupInteractions> results;
    std::string stopReason;
    if (random && runs == 1 && (o.stopOverlap > 0.0 || o.streamSteps)) {
        const int budget = o.budget > 0 ? o.budget : defaultBudget(game.players(), o);
        EstimateOptions step = o;
        std::optional<GroupInteractions> previous;
        for (int part : {8, 4, 2, 1}) {
            step.budget = std::max(1, budget / part);
            // The steps' coalitions are prefixes of the next ones': new calls 1/8, 1/8, 1/4, 1/2.
            const JobContext stepContext = ctx.sub(part == 8 ? 0.0 : 0.5 / part, 1.0 / part);
            auto current = runOnce(counted, target, step, o.seed, stepContext);
            const double overlap = previous ? topOverlap(*previous, current)
                                            : std::numeric_limits<double>::quiet_NaN();
            previous = std::move(current);
            if (o.streamSteps && part > 1)
                ctx.reportPartialResult(1.0 / part,
                                        complete(*previous,
                                                 "so far: budget " + std::to_string(step.budget) +
                                                     " of " + std::to_string(budget),
                                                 JobContext({}, ctx.cancelToken())),
                                        "budget " + std::to_string(step.budget) + " of " +
                                            std::to_string(budget));
            if (o.stopOverlap > 0.0 && part > 1 && overlap >= o.stopOverlap) {
                stopReason = "stable: the top-10 pairs of budgets " +
                             std::to_string(budget / (part * 2)) + " and " +
                             std::to_string(step.budget) + " overlap by " +
                             std::to_string(int(std::lround(overlap * 100))) + "%";
                break;
            }
        }
        if (stopReason.empty() && o.stopOverlap > 0.0)
            stopReason = "the whole budget of " + std::to_string(budget) + " calls";
        results.push_back(std::move(*previous));
    } else {
        for (int k = 0; k < runs; ++k)
            results.push_back(runOnce(counted, target, o, o.seed + uint64_t(k),
                                      ctx.sub(double(k) / runs, double(k + 1) / runs)));
    }
    GroupInteractions r = results.front();
    if (runs > 1) {
        auto meanAndError = [&](auto member, std::vector<double> &mean,
                                std::vector<double> &error) {
            const size_t n = (results.front().*member).size();
            mean.assign(n, 0.0);
            error.assign(n, 0.0);
            for (const auto &res : results)
                for (size_t i = 0; i < n; ++i)
                    mean[i] += (res.*member)[i] / runs;
            for (const auto &res : results)
                for (size_t i = 0; i < n; ++i)
                    error[i] += std::pow((res.*member)[i] - mean[i], 2) / (runs - 1);
            for (double &e : error)
                e = std::sqrt(e / runs);
        };
        meanAndError(&GroupInteractions::singles, r.singles, r.singleErrors);
        meanAndError(&GroupInteractions::pairs, r.pairs, r.pairErrors);
    }
    return complete(std::move(r), stopReason, ctx);
}

RecoveryScores scoreRecovery(const GroupInteractions &e, const std::vector<double> &truth,
                             double zeroTolerance)
{
    RecoveryScores s;
    const auto &pairs = e.estimatedPairs;
    std::vector<double> est, tru;
    for (const auto &[i, j] : pairs) {
        est.push_back(e.pair(i, j));
        tru.push_back(truth[size_t(i) * size_t(e.players) + size_t(j)]);
    }
    const size_t n = est.size();
    if (n == 0)
        return s;
    for (size_t k = 0; k < n; ++k)
        s.mse += (est[k] - tru[k]) * (est[k] - tru[k]) / double(n);
    auto topOf = [&](const std::vector<double> &v, size_t k) {
        std::vector<size_t> order(v.size());
        std::iota(order.begin(), order.end(), size_t(0));
        std::stable_sort(order.begin(), order.end(),
                         [&](size_t a, size_t b) { return std::abs(v[a]) > std::abs(v[b]); });
        return std::set<size_t>(order.begin(), order.begin() + std::ptrdiff_t(k));
    };
    const size_t nonZero = size_t(std::count_if(
        tru.begin(), tru.end(), [&](double v) { return std::abs(v) > zeroTolerance; }));
    const size_t k = std::min<size_t>({10, n, std::max<size_t>(1, nonZero)});
    const auto topTrue = topOf(tru, k), topEst = topOf(est, k);
    size_t hits = 0;
    for (size_t a : topEst)
        hits += topTrue.count(a);
    s.precisionAt10 = double(hits) / double(k);
    // Kendall's tau-b over the pairs that truly interact: how well the estimate orders the real
    // interactions (true zeros are the false positives' business: their ties at 0 against an
    // estimate's rounding noise say nothing about the order).
    double concordant = 0, discordant = 0, tiesEst = 0, tiesTrue = 0;
    for (size_t a = 0; a < n; ++a)
        for (size_t b = a + 1; b < n; ++b) {
            if (std::abs(tru[a]) <= zeroTolerance || std::abs(tru[b]) <= zeroTolerance)
                continue;
            const double de = est[a] - est[b], dt = tru[a] - tru[b];
            if (de == 0 && dt == 0)
                continue;
            if (de == 0)
                ++tiesEst;
            else if (dt == 0)
                ++tiesTrue;
            else
                (de * dt > 0 ? concordant : discordant) += 1;
        }
    const double denom =
        std::sqrt((concordant + discordant + tiesEst) * (concordant + discordant + tiesTrue));
    s.kendallTau = denom > 0 ? (concordant - discordant) / denom : 0.0;
    // False positives: pairs that truly do not interact but get at least a tenth of the largest
    // true interaction.
    double largest = 0.0;
    for (double v : tru)
        largest = std::max(largest, std::abs(v));
    size_t zeros = 0, flagged = 0;
    for (size_t a = 0; a < n; ++a)
        if (std::abs(tru[a]) <= zeroTolerance) {
            ++zeros;
            flagged += std::abs(est[a]) >= 0.1 * largest;
        }
    s.falsePositive = zeros ? double(flagged) / double(zeros) : 0.0;
    return s;
}

RecoveryScores scoreSingles(const GroupInteractions &e, const std::vector<double> &truth)
{
    // The singles as pairs (i, i) of a diagonal game, scored like the pairs.
    GroupInteractions asPairs;
    asPairs.players = e.players;
    asPairs.pairs.assign(size_t(e.players) * size_t(e.players), 0.0);
    std::vector<double> diagonal(asPairs.pairs.size(), 0.0);
    for (int i = 0; i < e.players; ++i) {
        asPairs.estimatedPairs.emplace_back(i, i);
        asPairs.pairs[size_t(i) * size_t(e.players) + size_t(i)] = e.singles[size_t(i)];
        diagonal[size_t(i) * size_t(e.players) + size_t(i)] = truth[size_t(i)];
    }
    return scoreRecovery(asPairs, diagonal);
}

} // namespace heatlens
