#include "core/model/DemoCnn.h"
#include "core/model/LayerTap.h"
#include "core/model/Model.h"
#include "tests/support/TestSupport.h"

#include <QTest>

#include <torch/script.h>

#include <algorithm>
#include <map>
#include <sstream>

using namespace heatlens;

namespace {

// The fixture module (exported in eval mode), loaded once per file: the tests only read it.
torch::jit::Module loadFixture(const std::string &name)
{
    static std::map<std::string, torch::jit::Module> cache;
    auto it = cache.find(name);
    if (it == cache.end())
        it = cache.emplace(name, torch::jit::load(test::fixture(name))).first;
    return it->second;
}

// Reads a little-endian float32 C-order .npy of any shape (numpy.save output).
torch::Tensor readNpyTensor(const std::string &path)
{
    const std::string bytes = test::readAll(path);
    if (bytes.size() < 10 || bytes.compare(1, 5, "NUMPY") != 0)
        throw std::runtime_error(path + ": not a .npy file");
    const size_t headerLen = uint8_t(bytes[8]) | size_t(uint8_t(bytes[9])) << 8;
    const std::string header = bytes.substr(10, headerLen);
    if (!test::contains(header, "'<f4'") || !test::contains(header, "'fortran_order': False"))
        throw std::runtime_error(path + ": not float32 C order");
    const size_t open = header.find("'shape': (") + 10;
    std::stringstream dims(header.substr(open, header.find(')', open) - open));
    std::vector<int64_t> shape;
    for (std::string part; std::getline(dims, part, ',');)
        if (part.find_first_not_of(' ') != std::string::npos)
            shape.push_back(std::stoll(part));
    auto t = torch::empty(shape, torch::kFloat32);
    if (bytes.size() != 10 + headerLen + size_t(t.numel()) * 4)
        throw std::runtime_error(path + ": size does not match the header");
    std::memcpy(t.data_ptr<float>(), bytes.data() + 10 + headerLen, size_t(t.numel()) * 4);
    return t;
}

std::vector<int64_t> shapeOf(const torch::Tensor &t)
{
    return t.sizes().vec();
}

torch::Tensor plainForward(torch::jit::Module &module, const torch::Tensor &input)
{
    torch::NoGradGuard noGrad;
    return module.forward({input}).toTensor();
}

torch::Tensor subForward(const torch::jit::Module &module, const std::string &path,
                         const torch::Tensor &input)
{
    torch::NoGradGuard noGrad;
    for (const auto &sub : module.named_modules())
        if (sub.name == path)
            return torch::jit::Module(sub.value).forward({input}).toTensor();
    throw std::runtime_error("no submodule " + path);
}

size_t indexOf(const std::vector<std::string> &list, const std::string &item)
{
    return size_t(std::find(list.begin(), list.end(), item) - list.begin());
}

} // namespace

class LayerTapsTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void resnetTapsKeepLogits_data()
    {
        QTest::addColumn<QString>("file");
        QTest::newRow("traced") << "resnet18_traced.pt";
        QTest::newRow("scripted") << "resnet18_scripted.pt";
    }

    void resnetTapsKeepLogits()
    {
        QFETCH(QString, file);
        const std::string name = file.toStdString();
        if (!test::haveFixture(name) || !test::haveFixture("resnet18_logits.npy"))
            QSKIP("python fixtures absent (python3-torch not installed)");
        auto module = loadFixture(name);
        QVERIFY(!module.is_training());
        const auto input = readNpyTensor(test::fixture("resnet18_input.npy"));
        const auto reference = readNpyTensor(test::fixture("resnet18_logits.npy"));
        QCOMPARE(shapeOf(input), (std::vector<int64_t>{1, 3, 224, 224}));
        const test::ModuleSnapshot before(module);
        const auto untouched = plainForward(module, input);
        QVERIFY2(test::allClose(untouched, reference),
                 test::maxDifference(untouched, reference).c_str());

        LayerTap tap(module, {"layer4", "layer1.0.conv1", "fc"});
        const auto out = tap.run(input);
        QVERIFY2(test::allClose(out.logits, untouched),
                 test::maxDifference(out.logits, untouched).c_str());
        QVERIFY2(test::allClose(out.logits, reference),
                 test::maxDifference(out.logits, reference).c_str());
        QCOMPARE(out.taps.size(), size_t(3));
        QCOMPARE(shapeOf(out.taps[0]), (std::vector<int64_t>{1, 512, 7, 7}));
        QCOMPARE(shapeOf(out.taps[1]), (std::vector<int64_t>{1, 64, 56, 56}));
        QCOMPARE(shapeOf(out.taps[2]), (std::vector<int64_t>{1, 10}));
        QVERIFY(torch::equal(out.taps[2], out.logits));
        QCOMPARE(tap.paths(), (std::vector<std::string>{"layer4", "layer1.0.conv1", "fc"}));

        const std::string changed = before.parameterChanges(module);
        QVERIFY2(changed.empty(), changed.c_str());
    }

    void resnetTapsHoldTheLayersOwnOutputs_data() { resnetTapsKeepLogits_data(); }

    void resnetTapsHoldTheLayersOwnOutputs()
    {
        QFETCH(QString, file);
        const std::string name = file.toStdString();
        if (!test::haveFixture(name))
            QSKIP("python fixtures absent (python3-torch not installed)");
        auto module = loadFixture(name);
        torch::manual_seed(3);
        const auto input = torch::randn({2, 3, 224, 224}); // a batch of two works too
        const auto out = LayerTap(module, {"maxpool", "layer1.0.conv1", "layer4"}).run(input);
        // Feeding a tap to the submodules that follow it reproduces the next tap / the logits.
        QVERIFY(test::allClose(subForward(module, "layer1.0.conv1", out.taps[0]), out.taps[1]));
        const auto pooled = subForward(module, "avgpool", out.taps[2]).flatten(1);
        const auto logits = subForward(module, "fc", pooled);
        QVERIFY2(test::allClose(logits, out.logits),
                 test::maxDifference(logits, out.logits).c_str());
        QVERIFY(test::allClose(out.logits, plainForward(module, input)));
    }

    void tapsDoNotChangeTheModuleEvenWithGradients_data() { resnetTapsKeepLogits_data(); }

    void tapsDoNotChangeTheModuleEvenWithGradients()
    {
        QFETCH(QString, file);
        const std::string name = file.toStdString();
        if (!test::haveFixture(name))
            QSKIP("python fixtures absent (python3-torch not installed)");
        // Model::load runs the module plainly while probing (PlainExecutionGuard); nested layers
        // must stay tappable afterwards, exactly as on a module that never ran.
        auto model = Model::load(test::fixture(name));
        QCOMPARE(LayerTap::tappableLayers(model->module()),
                 LayerTap::tappableLayers(torch::jit::load(test::fixture(name))));
        const test::ModuleSnapshot before(model->module());
        LayerTap tap(model->module(), {"layer3", "layer4", "layer2.1.conv2"});
        const auto input = torch::rand({1, 3, 224, 224}).requires_grad_(true);
        auto out = tap.run(input);
        QCOMPARE(shapeOf(out.taps[2]), (std::vector<int64_t>{1, 128, 28, 28}));
        QVERIFY(out.taps[1].requires_grad());
        out.logits[0][2].backward();
        QVERIFY(input.grad().defined());
        QVERIFY(input.grad().abs().sum().item<double>() > 0.0);
        const std::string changed = before.parameterChanges(model->module());
        QVERIFY2(changed.empty(), changed.c_str());
        for (const auto &p : model->module().parameters())
            QVERIFY(!p.grad().defined());
    }

    void unknownLayerIsNamed()
    {
        auto module = test::seededDemoCnn(1);
        const std::string error = test::errorOf([&] { LayerTap(module, {"features.block9"}); });
        QVERIFY2(test::contains(error, "\"features.block9\"") &&
                     test::contains(error, "not a submodule"),
                 error.c_str());
        bool invalidArgument = false;
        try {
            LayerTap(module, {"features", "nonsense"});
        } catch (const std::invalid_argument &e) {
            invalidArgument = test::contains(e.what(), "\"nonsense\"");
        }
        QVERIFY(invalidArgument);
        if (!test::haveFixture("resnet18_traced.pt"))
            QSKIP("python fixtures absent (python3-torch not installed)");
        auto resnet = loadFixture("resnet18_traced.pt");
        QVERIFY(
            test::contains(test::errorOf([&] { LayerTap(resnet, {"layer4.7"}); }), "\"layer4.7\""));
    }

    void tappableLayersFollowExecutionOrder_data() { resnetTapsKeepLogits_data(); }

    void tappableLayersFollowExecutionOrder()
    {
        QFETCH(QString, file);
        const std::string name = file.toStdString();
        if (!test::haveFixture(name))
            QSKIP("python fixtures absent (python3-torch not installed)");
        auto module = loadFixture(name);
        const auto layers = LayerTap::tappableLayers(module);
        for (const char *layer : {"conv1", "layer1", "layer1.0.conv1", "layer4", "avgpool", "fc"})
            QVERIFY2(indexOf(layers, layer) < layers.size(), layer);
        QVERIFY(indexOf(layers, "conv1") < indexOf(layers, "layer1"));
        QVERIFY(indexOf(layers, "layer1") < indexOf(layers, "layer4"));
        QVERIFY(indexOf(layers, "layer4") < indexOf(layers, "fc"));
        // layer4, layer4.1 and layer4.1.relu produce the same value: shallowest first.
        QVERIFY(indexOf(layers, "layer4.1") < layers.size());
        QVERIFY(indexOf(layers, "layer4") < indexOf(layers, "layer4.1"));
        QCOMPARE(layers.back(), std::string("fc"));
    }

    void demoCnnTapsBlockOutputs()
    {
        torch::manual_seed(7);
        auto model = Model::fromModule(buildDemoCnn(CnnConfig{}), ModelCard{}, "demo");
        const test::ModuleSnapshot before(model->module());
        torch::manual_seed(8);
        const auto input = torch::randn({1, 1, 28, 28});
        LayerTap tap(model->module(), {"features.block3", "features.block1.conv", "features"});
        const auto out = tap.run(input);
        QCOMPARE(shapeOf(out.taps[0]), (std::vector<int64_t>{1, 64, 7, 7}));
        QCOMPARE(shapeOf(out.taps[1]), (std::vector<int64_t>{1, 16, 28, 28}));
        QVERIFY(torch::equal(out.taps[2], out.taps[0]));
        QVERIFY(test::allClose(out.logits, model->predict(input)));
        QVERIFY(test::allClose(subForward(model->module(), "features.block1.conv", input),
                               out.taps[1]));
        const auto layers = LayerTap::tappableLayers(model->module());
        QVERIFY(indexOf(layers, "features.block1.conv") < indexOf(layers, "features.block3"));
        QVERIFY(indexOf(layers, "features.block3") < indexOf(layers, "classifier.fc2"));
        const std::string changed = before.parameterChanges(model->module());
        QVERIFY2(changed.empty(), changed.c_str());
    }

    void transformerTapsReturnTokens()
    {
        if (!test::haveFixture("tiny_vit_like.pt"))
            QSKIP("python fixtures absent (python3-torch not installed)");
        auto model = Model::load(test::fixture("tiny_vit_like.pt"));
        QCOMPARE(model->card().inputChannels, 1);
        QCOMPARE(model->card().inputHeight, 28);
        const test::ModuleSnapshot before(model->module());
        torch::manual_seed(9);
        const auto input = torch::randn({1, 1, 28, 28});
        LayerTap tap(model->module(), {"blocks.0", "blocks.0.attn", "patch_embed"});
        const auto out = tap.run(input);
        QCOMPARE(shapeOf(out.taps[0]), (std::vector<int64_t>{1, 50, 16}));
        QCOMPARE(shapeOf(out.taps[1]), (std::vector<int64_t>{1, 50, 16}));
        QCOMPARE(shapeOf(out.taps[2]), (std::vector<int64_t>{1, 16, 7, 7}));
        QVERIFY(test::allClose(out.logits, model->predict(input)));
        QVERIFY(test::allClose(subForward(model->module(), "patch_embed", input), out.taps[2]));
        // The blocks live in a ModuleList iterated by the parent's forward: paths stay whole.
        const auto layers = LayerTap::tappableLayers(model->module());
        for (const char *layer : {"blocks", "blocks.0", "blocks.0.attn", "blocks.0.mlp.fc2"})
            QVERIFY2(indexOf(layers, layer) < layers.size(), layer);
        for (const auto &layer : layers)
            QVERIFY2(model->hasLayer(layer), layer.c_str());
        // The last token output; "blocks" and "blocks.0" give the same value, shallowest first.
        QCOMPARE(model->defaultCamLayer(), std::string("blocks"));
        const std::string changed = before.parameterChanges(model->module());
        QVERIFY2(changed.empty(), changed.c_str());
    }
};

QTEST_APPLESS_MAIN(LayerTapsTest)
#include "test_layer_taps.moc"
