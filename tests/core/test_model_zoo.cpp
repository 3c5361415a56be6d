// Every demo architecture (CNN, ViT, feature-group model), saliency-guided training and deep
// ensembles: tiny configurations train in seconds on a Fashion-MNIST subset, reload with the
// same logits (also in Debian's python3-torch), and keep their structural promises.
#include "core/data/Dataset.h"
#include "core/explain/MethodSupport.h"
#include "core/io/Npy.h"
#include "core/model/Ensemble.h"
#include "core/model/LayerTap.h"
#include "core/model/Model.h"
#include "core/model/Trainer.h"
#include "core/model/Zoo.h"
#include "tests/support/TestSupport.h"

#include <QTest>

#include <torch/script.h>

#include <filesystem>
#include <map>
#include <set>

using namespace heatlens;
namespace fs = std::filesystem;

namespace {

TrainConfig tinyConfig(Arch arch, uint64_t seed = 1)
{
    TrainConfig c = defaultTrainConfig(arch);
    c.cnn.widths = {4, 8};
    c.cnn.pool = {true, true};
    c.cnn.hidden = 16;
    c.vit.dim = 32;
    c.vit.depth = 2;
    c.vit.heads = 2;
    c.groups.hidden = 8;
    c.epochs = 3;
    c.batch = 32;
    c.lr = 1e-2;
    c.warmup = 0.0;
    if (arch == Arch::Vit) { // transformers need more steps on so few images
        c.epochs = 8;
        c.batch = 16;
        c.lr = 2e-3;
    }
    c.seed = seed;
    c.threads = 1;
    c.limit = 1000;
    c.testLimit = 300;
    c.name = "tiny-" + archName(arch);
    c.displayName = "Tiny " + archName(arch);
    return c;
}

} // namespace

class ModelZooTest : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<Dataset> m_dataset;
    TrainingData m_data;
    std::string m_dir;

    // What the tests share is trained on first use, whichever test asks first: any one test
    // runs alone (test_model_zoo <function>) or in any order.
    struct Trained
    {
        torch::jit::Module module;
        TrainReport report;
    };
    std::map<Arch, Trained> m_trained;
    struct TrainedEnsemble
    {
        EnsembleReport report;
        std::vector<double> progress;
        std::string dir;
    };
    std::unique_ptr<TrainedEnsemble> m_ensemble;

    const Trained &trained(Arch arch)
    {
        auto it = m_trained.find(arch);
        if (it == m_trained.end()) {
            const auto config = tinyConfig(arch);
            Trained t;
            t.module = trainModel(m_data, config, JobContext{}, t.report);
            saveModel(t.module, trainedModelCard(m_data, config), m_dir, config.name, t.report);
            it = m_trained.emplace(arch, std::move(t)).first;
        }
        return it->second;
    }

    // Three one-epoch CNN members in m_dir/tiny-ensemble.
    const TrainedEnsemble &trainedEnsemble()
    {
        if (!m_ensemble) {
            TrainConfig config = tinyConfig(Arch::Cnn, 11);
            config.epochs = 1;
            config.name = "tiny-ensemble";
            auto e = std::make_unique<TrainedEnsemble>();
            JobContext ctx([&](const ProgressUpdate &u) { e->progress.push_back(u.fraction); });
            e->report = trainEnsemble(m_data, config, 3, m_dir, ctx);
            e->dir = m_dir + "/tiny-ensemble";
            m_ensemble = std::move(e);
        }
        return *m_ensemble;
    }

    torch::Tensor heldOut(int count) const
    {
        auto x = m_data.testX.slice(0, 0, count).to(torch::kFloat32) / 255.0f;
        return (x - m_data.mean[0]) / m_data.std[0];
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (!fs::exists(test::fashionMnistDir()))
            QSKIP("Fashion-MNIST is not installed in /usr/share/datasets/fashion-mnist");
        m_dataset = openDataset(test::fashionMnistDir());
        m_data = loadTrainingData(*m_dataset, tinyConfig(Arch::Cnn));
        m_dir = test::makeTempDir("zoo");
    }

    void everyArchitectureTrainsAboveChanceInSeconds_data()
    {
        QTest::addColumn<int>("arch");
        QTest::newRow("cnn") << int(Arch::Cnn);
        QTest::newRow("vit") << int(Arch::Vit);
        QTest::newRow("groups") << int(Arch::Groups);
    }

    void everyArchitectureTrainsAboveChanceInSeconds()
    {
        QFETCH(int, arch);
        const auto config = tinyConfig(Arch(arch));
        const TrainReport &report = trained(config.arch).report;
        torch::jit::Module module = trained(config.arch).module;
        qInfo("%s: test accuracy %.3f after %.2f s on %zu images", archName(config.arch).c_str(),
              report.testAccuracy, report.trainSeconds, report.trainImages);
        // Ten classes: chance is 0.1.
        QVERIFY2(report.testAccuracy > 0.5, std::to_string(report.testAccuracy).c_str());
        QCOMPARE(report.trainImages, size_t(1000));
        QCOMPARE(report.testImages, size_t(300));
        QVERIFY(!module.is_training());
        for (const auto &p : module.parameters())
            QVERIFY(!p.requires_grad());

        // Reloaded through Model::load (card included): the same logits.
        auto model = Model::load(report.modelPath);
        QCOMPARE(model->card().family, archName(config.arch));
        QCOMPARE(model->numClasses(), 10);
        const auto x = heldOut(8);
        torch::NoGradGuard noGrad;
        const auto expected = module.forward({x}).toTensor();
        QVERIFY2(test::allClose(model->forward(x), expected, 1e-6),
                 test::maxDifference(model->forward(x), expected).c_str());
        // predict() runs the inference copy (frozen: batch norm folded into the convolutions),
        // whose rounding differs by a few ulps of the logits: the tolerance the copy is held to.
        const double scale = 1.0 + expected.abs().max().item<double>();
        QVERIFY2(test::allClose(model->predict(x), expected, 1e-4 * scale),
                 test::maxDifference(model->predict(x), expected).c_str());
        QVERIFY(model->warnings().empty());
    }

    void vitExposesAttentionProbabilitiesPerBlock()
    {
        auto model = Model::load(trained(Arch::Vit).report.modelPath);
        const auto &card = model->card();
        QCOMPARE(card.attention,
                 (std::vector<std::string>{"blocks.0.attn.softmax", "blocks.1.attn.softmax"}));
        QCOMPARE(card.patchGridHeight, 4);
        QCOMPARE(card.clsToken, 0);
        QCOMPARE(model->defaultCamLayer(), std::string("blocks.1.norm1"));
        auto tap = model->layerTap(card.attention);
        const auto out = tap->run(heldOut(3));
        for (const auto &attn : out.taps) {
            // [batch, heads, CLS + 16 patches, same]; every row a probability distribution.
            QCOMPARE(attn.sizes().vec(), (std::vector<int64_t>{3, 2, 17, 17}));
            QVERIFY(attn.min().item<float>() >= 0.0f);
            QVERIFY(test::allClose(attn.sum(-1), torch::ones({3, 2, 17}), 1e-5));
        }
        // The two blocks attend differently: the taps are distinct values, not one repeated.
        QVERIFY(!torch::allclose(out.taps[0], out.taps[1]));
    }

    void featureGroupModelIsExactlyTheWeightedMixtureOfItsExperts()
    {
        auto model = Model::load(trained(Arch::Groups).report.modelPath);
        const GroupsConfig groups = tinyConfig(Arch::Groups).groups;
        QCOMPARE(model->card().groupGridRows, 4);
        QCOMPARE(model->card().groupPairs.size(), size_t(24));
        QCOMPARE(groups.numExperts(), 40);
        QVERIFY(model->hasGroupAttributions());
        const auto x = heldOut(16);
        const auto w = model->groupAttributions(x);
        QCOMPARE(w.sizes().vec(), (std::vector<int64_t>{16, 40}));
        QVERIFY(w.min().item<float>() >= 0.0f);
        QVERIFY(test::allClose(w.sum(1), torch::ones({16}), 1e-6));
        torch::NoGradGuard noGrad;
        auto module = model->module();
        const auto experts = module.get_method("expert_logits")({x}).toTensor(); // [16, 40, 10]
        QCOMPARE(experts.sizes().vec(), (std::vector<int64_t>{16, 40, 10}));
        const auto mixture = (w.unsqueeze(2) * experts).sum(1);
        QVERIFY2(test::allClose(model->predict(x), mixture, 1e-5),
                 test::maxDifference(model->predict(x), mixture).c_str());
        // The trained weights are not uniform: some groups matter more than others.
        QVERIFY(w.max().item<float>() > 2.0f / 40.0f);
    }

    void featureGroupExpertsSeeOnlyTheirOwnPixels()
    {
        auto module = trained(Arch::Groups).module;
        const GroupsConfig groups = tinyConfig(Arch::Groups).groups;
        const auto x = heldOut(4);
        auto changed = x.clone();
        // Group 5 is row 1, column 1 of the 4 x 4 grid: pixels [7, 14) x [7, 14).
        changed.slice(2, 7, 14).slice(3, 7, 14).add_(3.0);
        torch::NoGradGuard noGrad;
        auto before = module.get_method("expert_logits")({x}).toTensor();
        auto after = module.get_method("expert_logits")({changed}).toTensor();
        const auto pairs = groups.pairs();
        for (int e = 0; e < groups.numExperts(); ++e) {
            const bool involved = e < groups.numGroups()
                                      ? e == 5
                                      : (pairs[size_t(e - groups.numGroups())].first == 5 ||
                                         pairs[size_t(e - groups.numGroups())].second == 5);
            const bool same = torch::equal(before.select(1, e), after.select(1, e));
            QVERIFY2(same != involved, ("expert " + std::to_string(e)).c_str());
        }
    }

    void saliencyGuidedMaskReplacesExactlyTheSmallestGradients()
    {
        // One sample of 2 x 2 x 4 = 16 features; |gradient| is a known permutation of 0..15.
        auto x = torch::linspace(-1.0, 2.0, 16).view({1, 1, 4, 4});
        const std::vector<float> g{5, -1, 9, 14, -3, 0.5f, 7, -12, 2, 11, -8, 4, 13, -6, 10, 15};
        auto grad = torch::tensor(g).view({1, 1, 4, 4});
        torch::Tensor mask;
        auto masked = saliencyGuidedMask(x, grad, 0.5, at::detail::createCPUGenerator(3), &mask);
        const std::set<int> smallest{0, 1, 4, 5, 8, 11, 13, 6}; // |g| < 7.5
        auto flatMask = mask.view(-1), flatX = x.view(-1), flatMasked = masked.view(-1);
        int replaced = 0;
        for (int i = 0; i < 16; ++i) {
            const bool expected = smallest.count(i) || std::abs(g[size_t(i)]) < 7.5f;
            QVERIFY2(flatMask[i].item<bool>() == expected, std::to_string(i).c_str());
            const float v = flatMasked[i].item<float>();
            if (expected) {
                QVERIFY(v >= -1.0f && v <= 2.0f); // within the sample's own range
                replaced += v != flatX[i].item<float>();
            } else {
                QCOMPARE(v, flatX[i].item<float>());
            }
        }
        QCOMPARE(int(mask.sum().item<int64_t>()), 8);
        QVERIFY(replaced >= 7); // random values: equal to the original only by accident

        // Per sample: a second sample with its own range and gradient gets its own mask.
        auto x2 = torch::stack({x[0], x[0] * 10.0}, 0);
        auto g2 = torch::stack({grad[0], -grad[0].flip({2})}, 0);
        auto m2 = saliencyGuidedMask(x2, g2, 0.25, at::detail::createCPUGenerator(4), &mask);
        QCOMPARE(mask.sum({1, 2, 3}).to(torch::kInt64)[0].item<int64_t>(), int64_t(4));
        QCOMPARE(mask.sum({1, 2, 3}).to(torch::kInt64)[1].item<int64_t>(), int64_t(4));
        QVERIFY(!torch::equal(mask[0], mask[1]));
        QVERIFY(m2[1].min().item<float>() >= -10.0f && m2[1].max().item<float>() <= 20.0f);
        QVERIFY(
            torch::equal(saliencyGuidedMask(x, grad, 0.0, at::detail::createCPUGenerator(1)), x));
    }

    void saliencyGuidedTrainingLearnsAndChangesTheModel()
    {
        const Trained &normal = trained(Arch::Cnn);
        TrainConfig config = tinyConfig(Arch::Cnn);
        config.saliencyGuided = 0.5;
        TrainReport report;
        auto module = trainModel(m_data, config, JobContext{}, report);
        qInfo("saliency-guided %.3f vs normal %.3f", report.testAccuracy,
              normal.report.testAccuracy);
        // Three times chance: it learned (0.53 here; a 3-epoch run on 1,000 images moves by
        // several points between processors, so no tighter bound holds everywhere).
        QVERIFY2(report.testAccuracy > 0.3, std::to_string(report.testAccuracy).c_str());
        torch::NoGradGuard noGrad;
        const auto x = heldOut(4);
        QVERIFY(!torch::allclose(module.forward({x}).toTensor(),
                                 torch::jit::Module(normal.module).forward({x}).toTensor()));
        QVERIFY(test::contains(trainedModelCard(m_data, config).description, "saliency-guided"));
        QVERIFY(recipeText(config) != recipeText(tinyConfig(Arch::Cnn)));
    }

    void ensembleFolderLoadsAsOneModelAveragingProbabilities()
    {
        const TrainedEnsemble &ensemble = trainedEnsemble();
        const EnsembleReport &report = ensemble.report;
        QVERIFY(!ensemble.progress.empty());
        QVERIFY(std::is_sorted(ensemble.progress.begin(), ensemble.progress.end()));
        QCOMPARE(report.members.size(), size_t(3));
        qInfo("ensemble of 3 one-epoch members: test accuracy %.3f", report.testAccuracy);
        QVERIFY2(report.testAccuracy > 0.3, std::to_string(report.testAccuracy).c_str());
        const std::string &dir = ensemble.dir;
        QCOMPARE(test::entries(dir),
                 (std::vector<std::string>{"ensemble.json", "member-1.json", "member-1.pt",
                                           "member-2.json", "member-2.pt", "member-3.json",
                                           "member-3.pt"}));
        for (const auto &name : test::entries(m_dir))
            QVERIFY2(!test::contains(name, "partial"), name.c_str());

        auto model = Model::load(dir);
        QVERIFY(model->isEnsemble());
        QCOMPARE(model->members().size(), size_t(3));
        QCOMPARE(model->displayName(), std::string("Tiny cnn"));
        QCOMPARE(model->defaultCamLayer(), std::string("members.0.features.block2"));
        QVERIFY(model->hasLayer("members.2.features.block1.conv"));
        const auto x = heldOut(5);
        torch::Tensor meanProb = torch::zeros({5, 10});
        for (const auto &member : model->members())
            meanProb += torch::softmax(member->predict(x), 1) / 3.0;
        const auto logits = model->predict(x);
        QVERIFY2(test::allClose(torch::softmax(logits, 1), meanProb, 1e-5),
                 test::maxDifference(torch::softmax(logits, 1), meanProb).c_str());
        QVERIFY(test::allClose(logits.exp(), meanProb, 1e-5)); // log of the mean probability
        // Opening the manifest itself is the same as opening the folder.
        QVERIFY(Model::load(dir + "/ensemble.json")->isEnsemble());
        // Members differ (different seeds).
        QVERIFY(!torch::allclose(model->members()[0]->predict(x), model->members()[1]->predict(x)));
    }

    void brokenEnsemblesAreRefusedWithTheFileNamed()
    {
        const std::string &dir = trainedEnsemble().dir;
        const std::string broken = test::makeTempDir("broken-ensemble");
        fs::copy(dir, broken, fs::copy_options::recursive);
        fs::remove(broken + "/member-2.pt");
        auto error = test::errorOf([&] { Model::load(broken); });
        QVERIFY2(test::contains(error, "member-2.pt") && test::contains(error, "no such file"),
                 error.c_str());

        test::writeBytes(broken + "/ensemble.json", "{\"format\": \"heatlens-ensemble\"}");
        error = test::errorOf([&] { Model::load(broken); });
        QVERIFY2(test::contains(error, broken + "/ensemble.json") &&
                     test::contains(error, "members"),
                 error.c_str());

        // A member with other labels cannot be averaged.
        fs::copy_file(dir + "/member-2.pt", broken + "/member-2.pt");
        auto card = *readModelCard(broken + "/member-2.json");
        card.labels[0] = "something else";
        test::writeBytes(broken + "/member-2.json", modelCardToJson(card));
        EnsembleManifest manifest;
        manifest.name = "broken";
        manifest.members = {"member-1.pt", "member-2.pt"};
        writeEnsembleManifest(broken, manifest);
        error = test::errorOf([&] { Model::load(broken); });
        QVERIFY2(test::contains(error, "member-2.pt") && test::contains(error, "labels"),
                 error.c_str());
    }

    void cancelledEnsembleLeavesNothingBehind()
    {
        TrainConfig config = tinyConfig(Arch::Cnn, 21);
        config.epochs = 1;
        config.name = "cancelled-ensemble";
        CancelToken token;
        int reports = 0;
        JobContext ctx(
            [&](const ProgressUpdate &) {
                if (++reports == 40) // inside the second member
                    token.cancel();
            },
            token);
        const std::string dir = test::makeTempDir("cancelled");
        bool cancelled = false;
        try {
            trainEnsemble(m_data, config, 3, dir, ctx);
        } catch (const Cancelled &) {
            cancelled = true;
        }
        QVERIFY(cancelled);
        QCOMPARE(test::entries(dir), std::vector<std::string>{});
    }

    void exportsLoadInPythonTorchWithTheSameLogits()
    {
        if (!test::pythonCanImport("torch"))
            QSKIP("Debian's python3-torch is not installed");
        for (Arch arch : {Arch::Cnn, Arch::Vit, Arch::Groups})
            trained(arch);
        const auto x = heldOut(4);
        writeNpy(m_dir + "/input.npy", tensorToMap(x.reshape({4 * 28, -1})));
        QStringList args{QString::fromStdString(m_dir + "/input.npy")};
        torch::NoGradGuard noGrad;
        for (auto &[arch, t] : m_trained) {
            const std::string stem = m_dir + "/" + archName(arch);
            writeNpy(stem + "-logits.npy",
                     tensorToMap(t.module.forward({x}).toTensor().reshape({4, -1})));
            args << QString::fromStdString(t.report.modelPath)
                 << QString::fromStdString(stem + "-logits.npy");
        }
        const auto w =
            m_trained[Arch::Groups].module.get_method("group_attributions")({x}).toTensor();
        writeNpy(m_dir + "/groups-w.npy", tensorToMap(w.reshape({4, -1})));
        args << QString::fromStdString(m_dir + "/groups-w.npy");
        const std::string script = R"(
import sys, numpy, torch
x = torch.from_numpy(numpy.load(sys.argv[1])).reshape(4, 1, 28, 28)
models = {}
for path, logits in zip(sys.argv[2:8:2], sys.argv[3:8:2]):
    m = torch.jit.load(path)
    m.eval()
    with torch.no_grad():
        y = m(x)
    expected = torch.from_numpy(numpy.load(logits))
    print(path, "max difference", float((y - expected).abs().max()))
    assert y.shape == (4, 10), y.shape
    assert torch.allclose(y, expected, atol=1e-5, rtol=1e-5)
    models[path] = m
groups = [m for p, m in models.items() if "groups" in p][0]
w = groups.group_attributions(x)
assert torch.allclose(w, torch.from_numpy(numpy.load(sys.argv[8])), atol=1e-6)
assert torch.allclose(w.sum(1), torch.ones(4))
vit = [m for p, m in models.items() if "vit" in p][0]
assert [n for n, _ in vit.named_modules() if n.endswith("attn.softmax")] == \
    ["blocks.0.attn.softmax", "blocks.1.attn.softmax"]
print("ok")
)";
        QString output;
        const int code = test::runPython(script, args, &output);
        QVERIFY2(code == 0, qPrintable(output));
    }

    void zooRecipesAreDistinctAndNamed()
    {
        std::set<std::string> names, recipes;
        for (const auto &r : zooRecipes()) {
            QVERIFY(r.displayName.rfind("Demo: ", 0) == 0);
            names.insert(r.name);
            recipes.insert(recipeText(r.config, r.members));
        }
        QCOMPARE(names.size(), zooRecipes().size());
        QCOMPARE(recipes.size(), zooRecipes().size());
        for (const char *needed : {"demo-cnn", "demo-vit", "demo-groups", "demo-cnn-sg",
                                   "demo-vit-sg", "demo-cnn-ensemble", "demo-vit-ensemble"})
            QVERIFY2(names.count(needed), needed);
    }
};

QTEST_GUILESS_MAIN(ModelZooTest)
#include "test_model_zoo.moc"
