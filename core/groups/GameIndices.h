#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace heatlens {

// Cooperative games over p players (feature groups) and their exact attribution and interaction
// indices, all derived from one table of the game's values (shapiq's ExactComputer and
// MoebiusConverter; definitions in Grabisch & Roubens 1999, Sundararajan et al. 2020, Bordt &
// von Luxburg 2023). A coalition is a bit set: bit i set when player i is present.

using Coalition = uint64_t;

// v(S) for every coalition S of p players: values[S], 2^p entries (p <= 24).
struct GameTable
{
    int players = 0;
    std::vector<double> values;

    double empty() const { return values.front(); }
    double full() const { return values.back(); }
};

// Evaluates `value` on every coalition (2^p calls). Throws std::invalid_argument for p outside
// [1, 24].
GameTable tabulateGame(int players, const std::function<double(Coalition)> &value);

// The Möbius transform (Harsanyi dividends): m(S) = sum over T in S of (-1)^(|S| - |T|) v(T),
// in O(p 2^p). v(S) = sum over T in S of m(T).
std::vector<double> moebiusTransform(const GameTable &game);

// Attributions of single players and interactions of pairs under one index, up to order 2.
//   sv       Shapley values (pairs: none)
//   banzhaf  Banzhaf values (pairs: none)
//   sii      Shapley interaction index: singles are the Shapley values, pairs
//            sum over T containing {i, j} of m(T) / (|T| - 1)
//   bii      Banzhaf interaction index: pairs sum of m(T) / 2^(|T| - 2)
//   stii     Shapley-Taylor index of order 2: singles m({i}), pairs sum of m(T) / C(|T|, 2);
//            efficient (singles and pairs sum to v(N) - v(empty))
//   k-sii    the order-2 k-SII decomposition: pairs SII_ij, singles SII_i - 1/2 sum_j SII_ij;
//            efficient too
// `pairs` is p x p, symmetric, row-major, with a zero diagonal (empty for sv and banzhaf).
struct GameIndex
{
    std::string index;
    int players = 0;
    std::vector<double> singles;
    std::vector<double> pairs;

    double pair(int i, int j) const { return pairs[size_t(i) * size_t(players) + size_t(j)]; }
};

// Throws std::invalid_argument naming the index when it is unknown.
GameIndex exactIndex(const GameTable &game, const std::string &index);
GameIndex indexFromMoebius(const std::vector<double> &moebius, int players,
                           const std::string &index);

// The names exactIndex knows, in the order above.
const std::vector<std::string> &gameIndices();

int popcount(Coalition s);

} // namespace heatlens
