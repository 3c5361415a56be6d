#include "core/groups/GameIndices.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace heatlens {

int popcount(Coalition s)
{
    return __builtin_popcountll(s);
}

const std::vector<std::string> &gameIndices()
{
    static const std::vector<std::string> names = {"sv", "banzhaf", "sii", "bii", "stii", "k-sii"};
    return names;
}

GameTable tabulateGame(int players, const std::function<double(Coalition)> &value)
{
    if (players < 1 || players > 24)
        throw std::invalid_argument("exact games take 1 to 24 players, got " +
                                    std::to_string(players));
    GameTable game;
    game.players = players;
    game.values.resize(size_t(1) << players);
    for (Coalition s = 0; s < game.values.size(); ++s)
        game.values[s] = value(s);
    return game;
}

std::vector<double> moebiusTransform(const GameTable &game)
{
    std::vector<double> m = game.values;
    // One dimension at a time: subtract the value without player i (inclusion-exclusion).
    for (int i = 0; i < game.players; ++i) {
        const Coalition bit = Coalition(1) << i;
        for (Coalition s = 0; s < m.size(); ++s)
            if (s & bit)
                m[s] -= m[s ^ bit];
    }
    return m;
}

namespace {

double binomial2(int n)
{
    return 0.5 * double(n) * double(n - 1);
}

} // namespace

GameIndex indexFromMoebius(const std::vector<double> &m, int players, const std::string &index)
{
    const auto &known = gameIndices();
    if (std::find(known.begin(), known.end(), index) == known.end()) {
        std::string list;
        for (const auto &k : known)
            list += (list.empty() ? "" : ", ") + k;
        throw std::invalid_argument("unknown interaction index \"" + index + "\" (known: " + list +
                                    ")");
    }
    if (m.size() != (size_t(1) << players))
        throw std::invalid_argument("the Möbius vector does not have 2^p entries");
    const size_t p = size_t(players);
    GameIndex out;
    out.index = index;
    out.players = players;
    out.singles.assign(p, 0.0);
    const bool interactions = index != "sv" && index != "banzhaf";
    if (interactions)
        out.pairs.assign(p * p, 0.0);
    for (Coalition t = 1; t < m.size(); ++t) {
        if (m[t] == 0.0)
            continue;
        const int size = popcount(t);
        // Singles: Shapley shares m(T) equally, Banzhaf halves it per other member.
        for (size_t i = 0; i < p; ++i) {
            if (!(t >> i & 1))
                continue;
            if (index == "banzhaf" || index == "bii")
                out.singles[i] += m[t] / std::ldexp(1.0, size - 1);
            else if (index == "stii")
                out.singles[i] += size == 1 ? m[t] : 0.0;
            else
                out.singles[i] += m[t] / size; // sv, sii, k-sii (corrected below)
        }
        if (!interactions || size < 2)
            continue;
        const double share = index == "bii"    ? m[t] / std::ldexp(1.0, size - 2)
                             : index == "stii" ? m[t] / binomial2(size)
                                               : m[t] / double(size - 1); // sii, k-sii
        for (size_t i = 0; i < p; ++i)
            for (size_t j = i + 1; j < p; ++j)
                if ((t >> i & 1) && (t >> j & 1)) {
                    out.pairs[i * p + j] += share;
                    out.pairs[j * p + i] += share;
                }
    }
    if (index == "k-sii") // Bernoulli number B1 = -1/2: singles lose half their pairs
        for (size_t i = 0; i < p; ++i)
            for (size_t j = 0; j < p; ++j)
                if (i != j)
                    out.singles[i] -= 0.5 * out.pairs[i * p + j];
    return out;
}

GameIndex exactIndex(const GameTable &game, const std::string &index)
{
    return indexFromMoebius(moebiusTransform(game), game.players, index);
}

} // namespace heatlens
