// The coalition engine (core/groups/CoalitionGame): masked inputs as the masker says, logits of
// every class cached per coalition (another class costs no call), exact games whose Shapley
// values follow in closed form for a linear model (an additive game: each group's weighted
// input), cancellation that keeps what was evaluated, and limits that say why.
#include "core/groups/CoalitionGame.h"
#include "tests/support/KnownModels.h"

#include <QTest>

using namespace heatlens;
using namespace heatlens::test;

namespace {

struct Linear
{
    torch::Tensor weight, bias, input;
    ModelPtr model;
    Grouping grid;

    Linear()
    {
        torch::manual_seed(4);
        weight = torch::randn({3, 64});
        bias = torch::tensor({0.3f, -0.2f, 0.1f});
        model = withCard(linearModule(weight, bias), 1, 8, 8);
        input = torch::randn({1, 1, 8, 8});
        grid = gridGrouping({8, 8}, 4, 4); // 16 groups of 2 x 2 pixels
    }
    // The Shapley value of group g for class k when absent pixels are 0: sum of w x over it.
    double groupTerm(int k, int g) const
    {
        double sum = 0.0;
        for (int y = 0; y < 8; ++y)
            for (int x = 0; x < 8; ++x)
                if (grid.labels.at<int>(y, x) == g)
                    sum += weight[k][y * 8 + x].item<double>() * input[0][0][y][x].item<double>();
        return sum;
    }
};

} // namespace

class CoalitionGameTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void exactShapleyOfALinearModelIsEachGroupsWeightedInput()
    {
        Linear c;
        CoalitionGame game(c.model, c.input, c.grid, {}, 4096);
        const GameTable table = game.exactGame(1);
        QCOMPARE(game.calls(), 1 << 16);
        QVERIFY(std::abs(table.empty() - c.bias[1].item<double>()) < 1e-5);
        const auto sv = exactIndex(table, "sv");
        for (int g = 0; g < 16; ++g)
            QVERIFY2(std::abs(sv.singles[size_t(g)] - c.groupTerm(1, g)) < 1e-4,
                     qPrintable(QString::number(g)));
        // The game is additive: no pair interacts.
        const auto sii = exactIndex(table, "sii");
        for (double v : sii.pairs)
            QVERIFY(std::abs(v) < 1e-4);
        // Another class: every logit is cached, so no call.
        const GameTable other = game.exactGame(2);
        QCOMPARE(game.calls(), 1 << 16);
        QVERIFY(std::abs(exactIndex(other, "sv").singles[3] - c.groupTerm(2, 3)) < 1e-4);
        QVERIFY(game.secondsPerCall() > 0.0);
    }

    void maskersFillTheAbsentGroups()
    {
        Linear c;
        const PlayerSet none(16), all = PlayerSet::all(16);
        PlayerSet first(16);
        first.add(0);
        for (const char *fill : {"black", "mean", "blur", "group-mean", "inpaint"}) {
            MaskerOptions m;
            m.fill = fill;
            CoalitionGame game(c.model, c.input, c.grid, m);
            // Everything present is the input; a present group keeps its pixels.
            QVERIFY2(torch::allclose(game.maskedInput(all), c.input, 1e-5, 1e-2), fill);
            const auto one = game.maskedInput(first);
            QVERIFY2(torch::allclose(one.narrow(2, 0, 2).narrow(3, 0, 2),
                                     c.input.narrow(2, 0, 2).narrow(3, 0, 2), 1e-5, 1e-2),
                     fill);
            const auto empty = game.maskedInput(none);
            if (std::string(fill) == "black")
                QVERIFY(empty.abs().max().item<double>() == 0.0);
            if (std::string(fill) == "mean") // the image's own mean without references
                QVERIFY(torch::allclose(empty, c.input.mean().expand_as(c.input), 1e-5));
            if (std::string(fill) == "group-mean") // each group at its own mean
                QVERIFY(std::abs(empty[0][0][0][0].item<double>() -
                                 c.input.narrow(2, 0, 2).narrow(3, 0, 2).mean().item<double>()) <
                        1e-5);
        }
        MaskerOptions bad;
        bad.fill = "noise";
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 CoalitionGame(c.model, c.input, c.grid, bad));
    }

    void cancellingKeepsTheBatchesEvaluated()
    {
        Linear c;
        CoalitionGame game(c.model, c.input, c.grid, {}, 100);
        CancelToken token;
        int reports = 0;
        const JobContext ctx(
            [&](const ProgressUpdate &) {
                if (++reports == 2)
                    token.cancel();
            },
            token);
        QVERIFY_THROWS_EXCEPTION(Cancelled, game.exactGame(0, ctx));
        QCOMPARE(game.calls(), 200);
        QVERIFY(game.isCached(PlayerSet::fromBits(16, 0)));
        QVERIFY(!game.isCached(PlayerSet::fromBits(16, 300)));
    }

    void exactModeRefusesMoreThanTwentyGroups()
    {
        Linear c;
        CoalitionGame game(c.model, c.input, gridGrouping({8, 8}, 8, 8), {});
        try {
            game.exactGame(0);
            QFAIL("no error");
        } catch (const std::invalid_argument &e) {
            QVERIFY(QString(e.what()).contains("64 groups") && QString(e.what()).contains("20"));
        }
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 CoalitionGame(c.model, c.input, gridGrouping({9, 9}, 3, 3), {}));
    }
};

QTEST_GUILESS_MAIN(CoalitionGameTest)
#include "test_coalition_game.moc"
