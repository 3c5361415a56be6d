// The coalition engine (core/groups/CoalitionGame): masked inputs as the masker says, logits of
// every class cached per coalition (another class costs no call), exact games whose Shapley
// values follow in closed form for a linear model (an additive game: each group's weighted
// input), cancellation that keeps what was evaluated, and limits that say why.
#include "core/groups/CoalitionGame.h"
#include "core/model/DemoGroups.h"
#include "core/model/ModelCard.h"
#include "tests/support/KnownModels.h"

#include <QTest>

#include <algorithm>

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

    void additiveGroupModelsKnowTheirExactGame()
    {
        // The additive feature-group model (untrained: any weights) on a 3 x 3 grid: its own
        // exact_shapley and exact_interactions for a black baseline are what the coalition
        // engine's exact game gives, and pairs that are not neighbours do not interact.
        torch::manual_seed(5);
        GroupsConfig config;
        config.grid = 3;
        config.inputSize = 27;
        config.additive = true;
        ModelCard card;
        card.inputChannels = 1;
        card.inputHeight = card.inputWidth = 27;
        card.groupGridRows = card.groupGridCols = 3;
        card.groupPairs = config.pairs();
        auto module = buildDemoGroups(config);
        const auto model = Model::fromModule(module, card, "additive groups");
        const auto input = torch::randn({1, 1, 27, 27});
        const auto black = torch::zeros_like(input);
        CoalitionGame game(
            model, input,
            makeGrouping(cv::Mat::zeros(27, 27, CV_8UC1), parseGrouping("model"), &card), {});
        const int target = 4;
        const GameTable table = game.exactGame(target);
        torch::NoGradGuard noGrad;
        const auto shapley = module.get_method("exact_shapley")({input, black}).toTensor();
        const auto pairs = module.get_method("exact_interactions")({input, black}).toTensor();
        const auto sv = exactIndex(table, "sv");
        for (int g = 0; g < 9; ++g)
            QVERIFY2(std::abs(sv.singles[size_t(g)] - shapley[0][g][target].item<double>()) < 1e-4,
                     qPrintable(QString::number(g)));
        for (const char *index : {"sii", "stii", "k-sii"}) {
            const auto x = exactIndex(table, index);
            const auto adjacent = config.pairs();
            for (int i = 0; i < 9; ++i)
                for (int j = i + 1; j < 9; ++j) {
                    const auto at = std::find(adjacent.begin(), adjacent.end(), std::pair(i, j));
                    const double truth =
                        at == adjacent.end()
                            ? 0.0
                            : pairs[0][at - adjacent.begin()][target].item<double>();
                    QVERIFY2(std::abs(x.pair(i, j) - truth) < 1e-4, index);
                }
        }
        // The model is what its terms add up to.
        auto terms = module.get_method("terms")({input}).toTuple();
        const auto sum =
            terms->elements()[0].toTensor().sum(1) + terms->elements()[1].toTensor().sum(1);
        QVERIFY(torch::allclose(sum, model->predict(input), 1e-5, 1e-5));
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
