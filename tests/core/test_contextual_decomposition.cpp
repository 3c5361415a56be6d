// Contextual decomposition (core/groups/ContextualDecomposition): the ACD rules computed by hand
// on tiny models (a linear layer's bias shared in proportion to the parts, ReLU, max pooling),
// parts that add up to the logits on real architectures (the demo CNN: conv, batch norm, ReLU,
// max pooling, dropout, flatten, linear; ResNet-18 with its residual additions), no invented
// interactions between groups an additive model keeps apart, and unsupported operators named.
#include "core/groups/CoalitionGame.h"
#include "core/groups/ContextualDecomposition.h"
#include "core/model/DemoCnn.h"
#include "core/model/DemoGroups.h"
#include "core/model/DemoVit.h"
#include "core/model/ModelCard.h"
#include "tests/support/KnownModels.h"
#include "tests/support/TestSupport.h"

#include <QTest>

#include <algorithm>

using namespace heatlens;
using namespace heatlens::test;

namespace {

// relevant and irrelevant parts after an affine map whose constant is shared (ACD's rule).
std::pair<torch::Tensor, torch::Tensor> share(const torch::Tensor &rel, const torch::Tensor &irr,
                                              const torch::Tensor &bias)
{
    const auto r = rel.abs() + 1e-20, i = irr.abs() + 1e-20;
    return {rel + r / (r + i) * bias, irr + i / (r + i) * bias};
}

torch::Tensor gridMasks(const Grouping &g, const std::vector<std::vector<int>> &rows)
{
    auto masks = torch::zeros({int64_t(rows.size()), 1, g.labels.rows, g.labels.cols});
    for (size_t k = 0; k < rows.size(); ++k)
        for (int y = 0; y < g.labels.rows; ++y)
            for (int x = 0; x < g.labels.cols; ++x)
                if (std::count(rows[k].begin(), rows[k].end(), g.labels.at<int>(y, x)))
                    masks[int64_t(k)][0][y][x] = 1.0f;
    return masks;
}

void expectClose(const torch::Tensor &a, const torch::Tensor &b, double tolerance, const char *what)
{
    const double gap = (a - b).abs().max().item<double>();
    QVERIFY2(gap < tolerance, qPrintable(QString("%1: gap %2").arg(what).arg(gap)));
}

} // namespace

class ContextualDecompositionTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void linearLayerSharesItsBiasInProportion()
    {
        torch::manual_seed(11);
        const auto w = torch::randn({3, 64}), b = torch::tensor({0.5f, -0.7f, 0.2f});
        const auto x = torch::randn({1, 1, 8, 8});
        const ContextualDecomposition cd(linearModule(w, b));
        const Grouping grid = gridGrouping({8, 8}, 4, 4);
        const auto masks = gridMasks(grid, {{0}, {5}, {5, 6}, {}});
        const auto parts = cd.decompose(x, {}, masks);
        for (int64_t k = 0; k < masks.size(0); ++k) {
            const auto in = (x * masks[k]).flatten(), out = (x * (1 - masks[k])).flatten();
            const auto [rel, irr] = share(w.matmul(in), w.matmul(out), b);
            expectClose(parts.relevant[k], rel, 1e-4, "relevant");
            expectClose(parts.irrelevant[k], irr, 1e-4, "irrelevant");
        }
        // Without a bias, a linear model has no interactions and each group's part is its
        // weighted input; a baseline moves the split to x - baseline.
        const ContextualDecomposition unbiased(linearModule(w, torch::zeros({3})));
        const auto baseline = torch::full_like(x, 0.25);
        const auto p = unbiased.decompose(x, baseline, gridMasks(grid, {{5}, {6}, {5, 6}}));
        expectClose(p.relevant[2], p.relevant[0] + p.relevant[1], 1e-4, "no interaction");
        const auto in = ((x - baseline) * gridMasks(grid, {{5}})[0]).flatten();
        expectClose(p.relevant[0], w.matmul(in), 1e-4, "weighted input");
        expectClose(p.relevant + p.irrelevant,
                    torch::linear(x.flatten(1), w, torch::zeros({3})).expand({3, 3}), 1e-4,
                    "parts add up");
    }

    void reluAndMaxPoolFollowTheAcdRules()
    {
        torch::manual_seed(12);
        const auto w1 = torch::randn({6, 16}), b1 = torch::randn({6});
        const auto w2 = torch::randn({2, 6}), b2 = torch::randn({2});
        auto m = scriptModule(nullptr, "ReluNet", false);
        m.register_parameter("w1", w1, false);
        m.register_parameter("b1", b1, false);
        m.register_parameter("w2", w2, false);
        m.register_parameter("b2", b2, false);
        m.define("def forward(self, x):\n"
                 "    h = torch.max_pool2d(x, [2, 2], [2, 2], [0, 0], [1, 1])\n"
                 "    h = torch.relu(torch.linear(torch.flatten(h, 1), self.w1, self.b1))\n"
                 "    return torch.linear(h, self.w2, self.b2)\n");
        const ContextualDecomposition cd(m);
        const auto x = torch::randn({1, 1, 8, 8});
        const Grouping grid = gridGrouping({8, 8}, 2, 2);
        const auto masks = gridMasks(grid, {{1}, {0, 3}});
        const auto parts = cd.decompose(x, {}, masks);
        for (int64_t k = 0; k < masks.size(0); ++k) {
            // Max pooling: both parts where x has its maximum in each 2 x 2 window.
            const auto rel0 = x * masks[k], irr0 = x - rel0;
            auto pooledRel = torch::zeros({16}), pooledIrr = torch::zeros({16});
            for (int py = 0; py < 4; ++py)
                for (int px = 0; px < 4; ++px) {
                    int by = 2 * py, bx = 2 * px;
                    for (int dy = 0; dy < 2; ++dy)
                        for (int dx = 0; dx < 2; ++dx)
                            if (x[0][0][2 * py + dy][2 * px + dx].item<float>() >
                                x[0][0][by][bx].item<float>()) {
                                by = 2 * py + dy;
                                bx = 2 * px + dx;
                            }
                    pooledRel[py * 4 + px] = rel0[0][0][by][bx];
                    pooledIrr[py * 4 + px] = irr0[0][0][by][bx];
                }
            auto [hr, hi] = share(w1.matmul(pooledRel), w1.matmul(pooledIrr), b1);
            // ReLU: relevant' = relu(relevant), irrelevant' = relu(sum) - relevant'.
            const auto r = torch::relu(hr), i = torch::relu(hr + hi) - torch::relu(hr);
            const auto [rel, irr] = share(w2.matmul(r), w2.matmul(i), b2);
            expectClose(parts.relevant[k], rel, 1e-4, "relevant");
            expectClose(parts.irrelevant[k], irr, 1e-4, "irrelevant");
        }
    }

    void partsAddUpToTheLogitsOfRealArchitectures()
    {
        torch::manual_seed(13);
        std::vector<std::pair<std::string, torch::jit::Module>> models;
        CnnConfig config;
        models.emplace_back("demo CNN", buildDemoCnn(config));
        for (const char *name : {"resnet18_traced.pt", "resnet18_scripted.pt"})
            if (haveFixture(name))
                models.emplace_back(name, torch::jit::load(fixture(name)));
        for (auto &[name, module] : models) {
            module.eval();
            const int side = name == "demo CNN" ? config.inputSize : 64;
            const int channels = name == "demo CNN" ? config.inputChannels : 3;
            const auto x = torch::randn({1, channels, side, side});
            const Grouping grid = gridGrouping({side, side}, 4, 4);
            const auto masks = gridMasks(
                grid, {{0}, {3, 7}, {}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}});
            const auto parts = ContextualDecomposition(module).decompose(x, {}, masks);
            torch::NoGradGuard noGrad;
            const auto logits = module.forward({x}).toTensor();
            const double scale = logits.abs().max().item<double>();
            expectClose(parts.relevant + parts.irrelevant, logits.expand_as(parts.relevant),
                        1e-4 * scale + 1e-5, name.c_str());
            // No pixel relevant: no relevant logit; every pixel relevant: all of it.
            expectClose(parts.relevant[2], torch::zeros_like(logits[0]), 1e-4 * scale + 1e-5,
                        name.c_str());
            expectClose(parts.relevant[3], logits[0], 1e-3 * scale + 1e-5, name.c_str());
        }
        QVERIFY(!models.empty());
    }

    void additiveModelKeepsSeparateGroupsFromInteracting()
    {
        // The additive feature-group model: a pair without a pair expert shares no computation,
        // so its CD interaction is 0 (as its true interaction is); the pairs with an expert
        // generally interact.
        torch::manual_seed(14);
        GroupsConfig config;
        config.grid = 3;
        config.inputSize = 27;
        config.additive = true;
        ModelCard card;
        card.inputChannels = 1;
        card.inputHeight = card.inputWidth = 27;
        card.groupGridRows = card.groupGridCols = 3;
        card.groupPairs = config.pairs();
        const auto model = Model::fromModule(buildDemoGroups(config), card, "additive groups");
        const auto input = torch::randn({1, 1, 27, 27});
        CoalitionGame game(
            model, input,
            makeGrouping(cv::Mat::zeros(27, 27, CV_8UC1), parseGrouping("model"), &card), {});
        const auto r = cdInteractions(game, 2, false, 16);
        QCOMPARE(r.estimatedPairs.size(), size_t(36));
        QCOMPARE(r.calls, 9 + 36 + 2);
        const auto listed = config.pairs();
        double interacting = 0.0;
        for (const auto &[i, j] : r.estimatedPairs) {
            const bool expert = std::count(listed.begin(), listed.end(), std::pair(i, j)) > 0;
            if (expert)
                interacting = std::max(interacting, std::abs(r.pair(i, j)));
            else
                QVERIFY2(std::abs(r.pair(i, j)) < 1e-4,
                         qPrintable(QString("%1, %2: %3").arg(i).arg(j).arg(r.pair(i, j))));
        }
        QVERIFY(interacting > 1e-3);
        const auto adjacent = cdInteractions(game, 2, true);
        QCOMPARE(adjacent.estimatedPairs, game.adjacent());
        QVERIFY(std::abs(adjacent.singles[4] - r.singles[4]) < 1e-5);
        // Inpainting has no fixed baseline to decompose against.
        CoalitionGame inpainted(model, input, game.grouping(), MaskerOptions{"inpaint", {}, {}});
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, cdInteractions(inpainted, 2, false));
    }

    void unsupportedOperatorsAreNamed()
    {
        auto m = scriptModule(nullptr, "SoftmaxNet", false);
        m.register_parameter("w", torch::randn({3, 16}), false);
        m.define("def forward(self, x):\n"
                 "    return torch.softmax(torch.linear(torch.flatten(x, 1), self.w, None), 1)\n");
        try {
            ContextualDecomposition(m).decompose(torch::randn({1, 1, 4, 4}), {},
                                                 torch::ones({1, 1, 4, 4}));
            QFAIL("softmax was decomposed");
        } catch (const CdUnsupported &e) {
            QVERIFY2(std::string(e.what()).find("aten::softmax") != std::string::npos, e.what());
        }
        // A vision transformer: layer norm and attention have no CD rule here.
        VitConfig vit;
        auto module = buildDemoVit(vit);
        module.eval();
        try {
            ContextualDecomposition(module).decompose(
                torch::randn({1, vit.inputChannels, vit.inputSize, vit.inputSize}), {},
                torch::ones({1, 1, vit.inputSize, vit.inputSize}));
            QFAIL("a transformer was decomposed");
        } catch (const CdUnsupported &e) {
            QVERIFY2(std::string(e.what()).find("no rule for aten::") != std::string::npos,
                     e.what());
        }
    }
};

QTEST_APPLESS_MAIN(ContextualDecompositionTest)
#include "test_contextual_decomposition.moc"
