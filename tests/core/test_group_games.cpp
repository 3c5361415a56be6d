// Exact attribution and interaction indices of cooperative games (core/groups/GameIndices),
// checked against their definitions computed by brute force (permutations, marginal
// contributions, discrete derivatives) and against games whose answers are known: additive games,
// 2-additive games (every order-2 index is the pair's Möbius coefficient), unanimity games and an
// order-3 term that the order-2 indices must split as their definitions say.
#include "core/groups/GameIndices.h"

#include <QTest>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

using namespace heatlens;

namespace {

// A game with random values on every coalition (not k-additive for any k < p).
GameTable randomGame(int players, unsigned seed)
{
    std::mt19937 rng(seed);
    std::normal_distribution<double> normal;
    return tabulateGame(players, [&](Coalition) { return normal(rng); });
}

double factorial(int n)
{
    return n <= 1 ? 1.0 : n * factorial(n - 1);
}

double binomial(int n, int k)
{
    return factorial(n) / (factorial(k) * factorial(n - k));
}

// Shapley values as the mean marginal contribution over every order of the players.
std::vector<double> shapleyByPermutations(const GameTable &g)
{
    std::vector<int> order(size_t(g.players));
    std::iota(order.begin(), order.end(), 0);
    std::vector<double> sv(size_t(g.players), 0.0);
    int count = 0;
    do {
        Coalition s = 0;
        for (int i : order) {
            sv[size_t(i)] += g.values[s | (Coalition(1) << i)] - g.values[s];
            s |= Coalition(1) << i;
        }
        ++count;
    } while (std::next_permutation(order.begin(), order.end()));
    for (double &v : sv)
        v /= count;
    return sv;
}

// Delta_ij v(T) = v(T + ij) - v(T + i) - v(T + j) + v(T).
double delta(const GameTable &g, Coalition t, int i, int j)
{
    const Coalition a = Coalition(1) << i, b = Coalition(1) << j;
    return g.values[t | a | b] - g.values[t | a] - g.values[t | b] + g.values[t];
}

// SII and STII of a pair by their definitions (Grabisch & Roubens; Sundararajan et al.).
std::pair<double, double> pairByDefinition(const GameTable &g, int i, int j)
{
    const int n = g.players;
    const Coalition ij = (Coalition(1) << i) | (Coalition(1) << j);
    double sii = 0.0, stii = 0.0;
    for (Coalition t = 0; t < g.values.size(); ++t) {
        if (t & ij)
            continue;
        const int size = popcount(t);
        sii += factorial(n - size - 2) * factorial(size) / factorial(n - 1) * delta(g, t, i, j);
        stii += 2.0 / n * delta(g, t, i, j) / binomial(n - 1, size);
    }
    return {sii, stii};
}

double total(const GameIndex &x)
{
    double sum = std::accumulate(x.singles.begin(), x.singles.end(), 0.0);
    for (int i = 0; i < x.players; ++i)
        for (int j = i + 1; j < x.players; ++j)
            sum += x.pair(i, j);
    return sum;
}

} // namespace

class GroupGamesTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void moebiusCoefficientsSumBackToTheValues()
    {
        const auto g = randomGame(6, 1);
        const auto m = moebiusTransform(g);
        for (Coalition s = 0; s < g.values.size(); ++s) {
            double sum = 0.0;
            for (Coalition t = s;; t = (t - 1) & s) { // every subset of s
                sum += m[t];
                if (t == 0)
                    break;
            }
            QVERIFY(std::abs(sum - g.values[s]) < 1e-12);
        }
    }

    void exactIndicesEqualTheirDefinitionsByBruteForce()
    {
        const auto g = randomGame(5, 2);
        const auto sv = exactIndex(g, "sv");
        const auto byPermutation = shapleyByPermutations(g);
        for (int i = 0; i < 5; ++i)
            QVERIFY(std::abs(sv.singles[size_t(i)] - byPermutation[size_t(i)]) < 1e-12);
        // Banzhaf: the plain mean of the marginal contributions over the 2^(p-1) coalitions.
        const auto bv = exactIndex(g, "banzhaf");
        for (int i = 0; i < 5; ++i) {
            double sum = 0.0;
            for (Coalition s = 0; s < g.values.size(); ++s)
                if (!(s >> i & 1))
                    sum += g.values[s | (Coalition(1) << i)] - g.values[s];
            QVERIFY(std::abs(bv.singles[size_t(i)] - sum / 16.0) < 1e-12);
        }
        const auto sii = exactIndex(g, "sii"), stii = exactIndex(g, "stii");
        for (int i = 0; i < 5; ++i)
            for (int j = i + 1; j < 5; ++j) {
                const auto [a, b] = pairByDefinition(g, i, j);
                QVERIFY2(std::abs(sii.pair(i, j) - a) < 1e-12, qPrintable(QString::number(a)));
                QVERIFY2(std::abs(stii.pair(i, j) - b) < 1e-12, qPrintable(QString::number(b)));
                QCOMPARE(sii.pair(i, j), sii.pair(j, i));
            }
    }

    void shapleyTaylorAndKSiiAreEfficient()
    {
        const auto g = randomGame(7, 3);
        for (const char *index : {"stii", "k-sii"})
            QVERIFY2(std::abs(total(exactIndex(g, index)) - (g.full() - g.empty())) < 1e-10, index);
        // Shapley values are efficient on their own; SII pairs are not part of it.
        const auto sv = exactIndex(g, "sv");
        QVERIFY(std::abs(std::accumulate(sv.singles.begin(), sv.singles.end(), 0.0) -
                         (g.full() - g.empty())) < 1e-10);
    }

    void additiveGamesHaveNoInteractions()
    {
        const std::vector<double> a = {0.5, -1.0, 2.0, 0.25};
        const auto g = tabulateGame(4, [&](Coalition s) {
            double v = 3.0; // v(empty) does not matter
            for (int i = 0; i < 4; ++i)
                v += (s >> i & 1) ? a[size_t(i)] : 0.0;
            return v;
        });
        for (const auto &index : gameIndices()) {
            const auto x = exactIndex(g, index);
            for (int i = 0; i < 4; ++i) {
                QVERIFY(std::abs(x.singles[size_t(i)] - a[size_t(i)]) < 1e-12);
                for (int j = 0; j < 4 && !x.pairs.empty(); ++j)
                    QVERIFY(std::abs(x.pair(i, j)) < 1e-12);
            }
        }
    }

    void twoAdditiveGamesGiveEveryIndexThePairsMoebiusCoefficient()
    {
        // v(S) = sum of m_i + sum of m_ij over the pairs inside S (pairwise products of present
        // players, like the additive group model's pair experts).
        const std::vector<double> single = {1.0, -0.5, 0.25, 2.0, 0.0};
        const double mij[5][5] = {{0, 0.7, 0, 0, -0.2},
                                  {0.7, 0, 0.3, 0, 0},
                                  {0, 0.3, 0, -1.1, 0},
                                  {0, 0, -1.1, 0, 0.4},
                                  {-0.2, 0, 0, 0.4, 0}};
        const auto g = tabulateGame(5, [&](Coalition s) {
            double v = 0.0;
            for (int i = 0; i < 5; ++i) {
                if (!(s >> i & 1))
                    continue;
                v += single[size_t(i)];
                for (int j = i + 1; j < 5; ++j)
                    v += (s >> j & 1) ? mij[i][j] : 0.0;
            }
            return v;
        });
        for (const char *index : {"sii", "bii", "stii", "k-sii"}) {
            const auto x = exactIndex(g, index);
            for (int i = 0; i < 5; ++i)
                for (int j = 0; j < 5; ++j)
                    if (i != j)
                        QVERIFY2(std::abs(x.pair(i, j) - mij[i][j]) < 1e-12, index);
        }
        const auto sv = exactIndex(g, "sv");
        for (int i = 0; i < 5; ++i) {
            double expected = single[size_t(i)];
            for (int j = 0; j < 5; ++j)
                expected += 0.5 * mij[i][j];
            QVERIFY(std::abs(sv.singles[size_t(i)] - expected) < 1e-12);
        }
        // k-SII and STII singles are the players' own effects.
        for (const char *index : {"stii", "k-sii"}) {
            const auto x = exactIndex(g, index);
            for (int i = 0; i < 5; ++i)
                QVERIFY2(std::abs(x.singles[size_t(i)] - single[size_t(i)]) < 1e-12, index);
        }
    }

    void anOrderThreeTermIsSplitAsTheDefinitionsSay()
    {
        // The unanimity game of {0, 1, 2} among 4 players: v(S) = 1 when S holds all three (an
        // AND function). Its Möbius coefficient sits on the triple only.
        const auto g = tabulateGame(4, [](Coalition s) { return (s & 7) == 7 ? 1.0 : 0.0; });
        const auto sv = exactIndex(g, "sv"), sii = exactIndex(g, "sii");
        const auto stii = exactIndex(g, "stii"), ksii = exactIndex(g, "k-sii");
        const auto bii = exactIndex(g, "bii");
        for (int i = 0; i < 3; ++i) {
            QVERIFY(std::abs(sv.singles[size_t(i)] - 1.0 / 3) < 1e-12);
            QVERIFY(std::abs(ksii.singles[size_t(i)] + 1.0 / 6) < 1e-12); // 1/3 - (1/2 + 1/2)/2
            QVERIFY(std::abs(stii.singles[size_t(i)]) < 1e-12);
            for (int j = i + 1; j < 3; ++j) {
                QVERIFY(std::abs(sii.pair(i, j) - 0.5) < 1e-12);
                QVERIFY(std::abs(ksii.pair(i, j) - 0.5) < 1e-12);
                QVERIFY(std::abs(stii.pair(i, j) - 1.0 / 3) < 1e-12);
                QVERIFY(std::abs(bii.pair(i, j) - 0.5) < 1e-12);
            }
        }
        // The fourth player is a dummy.
        QCOMPARE(sv.singles[3], 0.0);
        for (int j = 0; j < 3; ++j)
            QCOMPARE(sii.pair(3, j), 0.0);
    }

    void unknownIndicesAndSizesAreNamed()
    {
        const auto g = randomGame(3, 4);
        try {
            exactIndex(g, "owen");
            QFAIL("no error");
        } catch (const std::invalid_argument &e) {
            QVERIFY(QString(e.what()).contains("\"owen\""));
            QVERIFY(QString(e.what()).contains("k-sii"));
        }
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 tabulateGame(25, [](Coalition) { return 0.0; }));
    }
};

QTEST_GUILESS_MAIN(GroupGamesTest)
#include "test_group_games.moc"
