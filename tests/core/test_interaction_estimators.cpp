// Interaction estimators (core/groups/Estimators) on games whose answers are known: 2-additive
// games (ArchDetect and regression recover every pair exactly, a single permutation gives each
// sampled pair exactly), a game with an order-3 term where permutation SII converges to the exact
// SII as the budget grows, the calls each plan announces, repeats with standard errors, and the
// recovery scores (MSE, Precision@10, Kendall tau, false positives on pairs that do not interact).
#include "core/groups/Estimators.h"
#include "core/groups/Hierarchy.h"

#include <QTest>

#include <algorithm>
#include <any>

#include <cmath>
#include <random>

using namespace heatlens;

namespace {

// A 2-additive game on a 3 x 4 grid of players: own effects and interactions of neighbours only.
struct TwoAdditive
{
    int p = 12;
    std::vector<double> single;
    std::vector<double> truth; // p x p
    std::vector<std::pair<int, int>> adjacent;

    TwoAdditive()
    {
        std::mt19937 rng(11);
        std::normal_distribution<double> normal;
        for (int i = 0; i < p; ++i)
            single.push_back(normal(rng));
        truth.assign(size_t(p * p), 0.0);
        for (int r = 0; r < 3; ++r)
            for (int c = 0; c < 4; ++c) {
                const int i = r * 4 + c;
                if (c + 1 < 4)
                    adjacent.emplace_back(i, i + 1);
                if (r + 1 < 3)
                    adjacent.emplace_back(i, i + 4);
            }
        for (const auto &[i, j] : adjacent)
            truth[size_t(i * p + j)] = truth[size_t(j * p + i)] = normal(rng);
    }
    double operator()(const PlayerSet &s) const
    {
        double v = 0.5;
        for (int i = 0; i < p; ++i) {
            if (!s.has(i))
                continue;
            v += single[size_t(i)];
            for (int j = i + 1; j < p; ++j)
                v += s.has(j) ? truth[size_t(i * p + j)] : 0.0;
        }
        return v;
    }
    FunctionGame game() const
    {
        return FunctionGame(
            p, [this](const PlayerSet &s) { return (*this)(s); }, adjacent);
    }
};

EstimateOptions options(const std::string &estimator, const std::string &index, int budget = 0)
{
    EstimateOptions o;
    o.estimator = estimator;
    o.index = index;
    o.budget = budget;
    return o;
}

double pairError(const GroupInteractions &e, const std::vector<double> &truth)
{
    double worst = 0.0;
    for (const auto &[i, j] : e.estimatedPairs)
        worst = std::max(worst, std::abs(e.pair(i, j) - truth[size_t(i * e.players + j)]));
    return worst;
}

} // namespace

class InteractionEstimatorsTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void twoAdditiveGamesAreRecoveredExactly_data()
    {
        QTest::addColumn<QString>("estimator");
        QTest::addColumn<QString>("index");
        QTest::addColumn<bool>("adjacent");
        QTest::newRow("exact sii") << "exact"
                                   << "sii" << false;
        QTest::newRow("archdetect") << "archdetect"
                                    << "archdetect" << false;
        QTest::newRow("archdetect, neighbours") << "archdetect"
                                                << "archdetect" << true;
        QTest::newRow("regression, every coalition") << "regression"
                                                     << "fsii" << false;
        QTest::newRow("regression, neighbours") << "regression"
                                                << "fsii" << true;
    }

    void twoAdditiveGamesAreRecoveredExactly()
    {
        QFETCH(QString, estimator);
        QFETCH(QString, index);
        QFETCH(bool, adjacent);
        TwoAdditive truth;
        FunctionGame game = truth.game();
        EstimateOptions o = options(estimator.toStdString(), index.toStdString(),
                                    estimator == "regression" ? 4096 : 0);
        o.adjacentOnly = adjacent;
        const auto e = estimateInteractions(game, 0, o);
        QVERIFY2(pairError(e, truth.truth) < 1e-8,
                 qPrintable(QString::number(pairError(e, truth.truth))));
        QCOMPARE(int(e.estimatedPairs.size()), adjacent ? 17 : 66);
        const auto scores = scoreRecovery(e, truth.truth);
        QVERIFY(scores.mse < 1e-15);
        QCOMPARE(scores.precisionAt10, 1.0);
        QCOMPARE(scores.falsePositive, 0.0);
        QCOMPARE(e.calls, plannedCalls(12, 17, o));
        QVERIFY(std::abs(e.fullValue - e.emptyValue - (truth(PlayerSet::all(12)) - 0.5)) < 1e-12);
    }

    void regressionWithSampledCoalitionsStillRecoversAnExactlyRepresentableGame()
    {
        TwoAdditive truth;
        FunctionGame game = truth.game();
        const auto e = estimateInteractions(game, 0, options("regression", "fsii", 400));
        QVERIFY2(pairError(e, truth.truth) < 1e-6,
                 qPrintable(QString::number(pairError(e, truth.truth))));
        for (int i = 0; i < 12; ++i) // singles: the own effects (Faith-SHAP of order 2)
            QVERIFY(std::abs(e.singles[size_t(i)] - truth.single[size_t(i)]) < 1e-6);
    }

    void permutationSiiConvergesToTheExactIndexWithTheBudget()
    {
        // Not 2-additive: an order-3 term over {0, 1, 2} and random pair terms.
        const int p = 8;
        std::mt19937 rng(5);
        std::normal_distribution<double> normal;
        std::vector<double> w(size_t(p * p));
        for (double &x : w)
            x = normal(rng);
        FunctionGame game(p, [&](const PlayerSet &s) {
            double v = (s.has(0) && s.has(1) && s.has(2)) ? 2.0 : 0.0;
            for (int i = 0; i < p; ++i)
                for (int j = i; j < p; ++j)
                    v += s.has(i) && s.has(j) ? w[size_t(i * p + j)] : 0.0;
            return v;
        });
        const GameIndex exact = exactIndex(game.exactGame(0), "sii");
        std::vector<double> truth(size_t(p * p));
        for (int i = 0; i < p; ++i)
            for (int j = 0; j < p; ++j)
                truth[size_t(i * p + j)] = i == j ? 0.0 : exact.pair(i, j);
        double previous = INFINITY;
        for (int orders : {10, 100, 1000}) {
            const auto e =
                estimateInteractions(game, 0, options("permutation", "sii", orders * 2 * p));
            const double mse = scoreRecovery(e, truth).mse;
            QVERIFY2(mse < previous, qPrintable(QString("%1 orders: %2").arg(orders).arg(mse)));
            previous = mse;
        }
        QVERIFY2(previous < 0.02, qPrintable(QString::number(previous)));
    }

    void repeatsGiveStandardErrors()
    {
        TwoAdditive truth;
        FunctionGame game = truth.game();
        EstimateOptions o = options("permutation", "sii", 2 * 12 * 3);
        o.repeats = 4;
        const auto e = estimateInteractions(game, 0, o);
        QCOMPARE(e.pairErrors.size(), e.pairs.size());
        QCOMPARE(e.singleErrors.size(), e.singles.size());
        // Each sampled pair is exact in a 2-additive game, so pairs sampled in every run have
        // no spread; pairs missed by some runs do.
        for (double err : e.pairErrors)
            QVERIFY(err >= 0.0);
        QCOMPARE(plannedCalls(12, 17, o), 2 * 12 * 3 * 4);
    }

    void samplingStopsWhenTheTopPairsSettle()
    {
        // A 2-additive game: every sampled pair is exact, so the top 10 settle early.
        TwoAdditive truth;
        FunctionGame game = truth.game();
        EstimateOptions o = options("regression", "fsii", 3200);
        o.stopOverlap = 0.9;
        const auto e = estimateInteractions(game, 0, o);
        QVERIFY2(e.stopReason.find("stable") == 0, e.stopReason.c_str());
        QVERIFY2(e.calls < 3200, qPrintable(QString::number(e.calls)));
        QVERIFY(pairError(e, truth.truth) < 1e-6);
    }

    void streamedStepsReportEachEstimateAndAStoppedRunKeepsTheLatest()
    {
        // Not 2-additive (an order-3 term), so the steps' estimates differ from the final one.
        const int p = 8;
        FunctionGame plain(p, [](const PlayerSet &s) {
            return (s.has(0) && s.has(1) && s.has(2) ? 2.0 : 0.0) + (s.has(3) ? 1.0 : 0.0) +
                   (s.has(4) && s.has(5) ? -1.5 : 0.0);
        });
        const EstimateOptions o = options("permutation", "sii", 800);
        const auto whole = estimateInteractions(plain, 0, o);

        std::vector<GroupInteractions> partials;
        std::vector<double> fractions;
        CancelToken token;
        EstimateOptions steps = o;
        steps.streamSteps = true;
        JobContext ctx(
            [&](const ProgressUpdate &u) {
                fractions.push_back(u.fraction);
                if (u.partialResult.has_value())
                    partials.push_back(std::any_cast<GroupInteractions>(u.partialResult));
            },
            token);
        FunctionGame fresh(p, [](const PlayerSet &s) {
            return (s.has(0) && s.has(1) && s.has(2) ? 2.0 : 0.0) + (s.has(3) ? 1.0 : 0.0) +
                   (s.has(4) && s.has(5) ? -1.5 : 0.0);
        });
        const auto final = estimateInteractions(fresh, 0, steps, ctx);
        // Budgets 100, 200 and 400 of 800 reported, then the same estimate as in one go, for
        // no more calls (every step's coalitions are a prefix of the next one's).
        QCOMPARE(int(partials.size()), 3);
        for (size_t k = 0; k < partials.size(); ++k) {
            QVERIFY2(partials[k].stopReason.find("so far: budget") == 0,
                     partials[k].stopReason.c_str());
            QVERIFY(k == 0 || partials[k].calls > partials[k - 1].calls);
            QCOMPARE(partials[k].fullValue, 1.5);
        }
        QVERIFY(std::is_sorted(fractions.begin(), fractions.end()));
        QCOMPARE(final.pairs, whole.pairs);
        QCOMPARE(final.singles, whole.singles);
        QCOMPARE(final.calls, whole.calls);

        // Stopped after the second step: Cancelled, and the caller holds that step's estimate.
        FunctionGame again(p, [](const PlayerSet &s) { return s.has(3) ? 1.0 : 0.0; });
        partials.clear();
        JobContext stopping(
            [&](const ProgressUpdate &u) {
                if (!u.partialResult.has_value())
                    return;
                partials.push_back(std::any_cast<GroupInteractions>(u.partialResult));
                if (partials.size() == 2)
                    token.cancel();
            },
            token);
        try {
            estimateInteractions(again, 0, steps, stopping);
            QFAIL("a stopped run ends with Cancelled");
        } catch (const Cancelled &) {
        }
        QCOMPARE(int(partials.size()), 2);
        QVERIFY2(partials.back().stopReason == "so far: budget 200 of 800",
                 partials.back().stopReason.c_str());
        QVERIFY(std::abs(partials.back().singles[3] - 1.0) < 1e-12);
    }

    void agglomerationMergesTheStrongestNeighboursFirst()
    {
        // Four players in a row (0-1-2-3): 1 and 2 interact strongly (+5), 0 and 1 weakly (+1).
        FunctionGame game(4,
                          [](const PlayerSet &s) {
                              double v = 0.1 * s.size();
                              v += s.has(1) && s.has(2) ? 5.0 : 0.0;
                              v += s.has(0) && s.has(1) ? 1.0 : 0.0;
                              return v;
                          },
                          {{0, 1}, {1, 2}, {2, 3}});
        const auto nodes = agglomerate(game, 0);
        QCOMPARE(int(nodes.size()), 7); // 4 leaves and 3 merges
        QCOMPARE(nodes[4].groups, (std::vector<int>{1, 2}));
        QVERIFY(std::abs(nodes[4].gain - 5.0) < 1e-12);
        QCOMPARE(nodes[5].groups, (std::vector<int>{0, 1, 2})); // gains 1 over {1, 2} and {0}
        QVERIFY(std::abs(nodes[5].gain - 1.0) < 1e-12);
        QCOMPARE(nodes[6].groups, (std::vector<int>{0, 1, 2, 3}));
        QVERIFY(std::abs(nodes[6].importance - (0.4 + 6.0)) < 1e-12);
    }

    void topKMergesOverlappingPairs()
    {
        TwoAdditive truth;
        FunctionGame game = truth.game();
        const auto e = estimateInteractions(game, 0, options("archdetect", "archdetect"));
        const auto none = topKSets(e, 0);
        QCOMPARE(int(none.size()), 12); // every group alone
        const auto sets = topKSets(e, 3);
        int grouped = 0;
        for (const auto &set : sets)
            grouped += set.size() > 1 ? int(set.size()) : 0;
        QVERIFY(grouped >= 4 && grouped <= 6); // three pairs, merged where they share a group
        size_t total = 0;
        for (const auto &set : sets)
            total += set.size();
        QCOMPARE(total, size_t(12));
        // ArchAttribute of every merged set up to k = 5: the set alone over the empty game,
        // which for this 2-additive game is its own effects and its inner pairs.
        const auto importance = topKSetImportance(game, 0, e, 5);
        QVERIFY(!importance.empty());
        for (int k = 1; k <= 5; ++k)
            for (const auto &set : topKSets(e, k))
                QCOMPARE(importance.count(set), size_t(set.size() > 1 ? 1 : 0));
        for (const auto &[set, value] : importance) {
            double expected = 0.0;
            for (size_t a = 0; a < set.size(); ++a) {
                expected += truth.single[size_t(set[a])];
                for (size_t b = a + 1; b < set.size(); ++b)
                    expected += truth.truth[size_t(set[a] * 12 + set[b])];
            }
            QVERIFY2(std::abs(value - expected) < 1e-9,
                     qPrintable(QString("%1 vs %2").arg(value).arg(expected)));
        }
    }

    void badOptionsAreNamed()
    {
        TwoAdditive truth;
        FunctionGame game = truth.game();
        for (const auto &[estimator, index] :
             std::vector<std::pair<std::string, std::string>>{{"sampling", "sii"},
                                                              {"permutation", "stii"},
                                                              {"regression", "sii"},
                                                              {"archdetect", "sii"},
                                                              {"exact", "fsii"}})
            QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                     estimateInteractions(game, 0, options(estimator, index)));
    }
};

QTEST_GUILESS_MAIN(InteractionEstimatorsTest)
#include "test_interaction_estimators.moc"
