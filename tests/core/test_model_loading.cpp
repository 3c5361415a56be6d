#include "core/data/Dataset.h"
#include "core/explain/ExplainJob.h"
#include "core/model/ArchiveCheck.h"
#include "core/model/Model.h"
#include "core/model/ModelCard.h"
#include "tests/support/TestSupport.h"

#include <QTest>

#include <torch/csrc/autograd/autograd.h>
#include <torch/script.h>

#include <opencv2/imgcodecs.hpp>

#include <filesystem>

using namespace heatlens;
namespace fs = std::filesystem;

namespace {

// The message of the ModelError that loading `path` throws (other outcomes are reported too).
std::string loadError(const std::string &path)
{
    try {
        Model::load(path);
    } catch (const ModelError &e) {
        return e.what();
    } catch (const std::exception &e) {
        return std::string("(not a ModelError) ") + e.what();
    }
    return "(loaded without error)";
}

// A demo CNN saved as dir/<stem>.pt; returns the path.
std::string saveDemoCnn(const std::string &dir, const std::string &stem)
{
    const std::string path = dir + "/" + stem + ".pt";
    test::seededDemoCnn(5).save(path);
    return path;
}

const char *kFullCard = R"({
  "format_version": 1,
  "name": "Fashion CNN",
  "family": "vit",
  "description": "for tests",
  "input": {"channels": 3, "size": [32, 48], "color_order": "bgr",
            "mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.3],
            "resize": "center-crop", "resize_shorter": 40},
  "labels": ["cat", "dog"],
  "cam_layer": "blocks.3",
  "transformer": {"attention": ["blocks.0.attn", "blocks.1.attn"], "cls_token": -1,
                  "patch_grid": [2, 3]}
})";

} // namespace

class ModelLoadingTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void cardParsesEveryField()
    {
        const ModelCard card = parseModelCard(kFullCard, "full.json");
        QCOMPARE(card.formatVersion, 1);
        QCOMPARE(card.name, std::string("Fashion CNN"));
        QCOMPARE(card.family, std::string("vit"));
        QCOMPARE(card.description, std::string("for tests"));
        QCOMPARE(card.inputChannels, 3);
        QCOMPARE(card.inputHeight, 32);
        QCOMPARE(card.inputWidth, 48);
        QCOMPARE(card.colorOrder, std::string("bgr"));
        QCOMPARE(card.mean, (std::vector<float>{0.5f, 0.4f, 0.3f}));
        QCOMPARE(card.std, (std::vector<float>{0.2f, 0.25f, 0.3f}));
        QCOMPARE(card.resize, std::string("center-crop"));
        QCOMPARE(card.resizeShorter, 40);
        QCOMPARE(card.labels, (std::vector<std::string>{"cat", "dog"}));
        QCOMPARE(card.camLayer, std::string("blocks.3"));
        QCOMPARE(card.attention, (std::vector<std::string>{"blocks.0.attn", "blocks.1.attn"}));
        QCOMPARE(card.clsToken, -1);
        QCOMPARE(card.patchGridHeight, 2);
        QCOMPARE(card.patchGridWidth, 3);
    }

    void emptyCardMeansInferEverything()
    {
        const ModelCard card = parseModelCard("{}", "empty.json");
        QCOMPARE(card.formatVersion, ModelCard::kFormatVersion);
        QCOMPARE(card.family, std::string("other"));
        QCOMPARE(card.inputChannels, 0);
        QCOMPARE(card.inputHeight, 0);
        QVERIFY(card.labels.empty());
        QVERIFY(card.mean.empty());
        QCOMPARE(card.clsToken, 0);
    }

    void cardSurvivesAJsonRoundTrip()
    {
        const ModelCard card = parseModelCard(kFullCard, "full.json");
        const ModelCard back = parseModelCard(modelCardToJson(card), "back.json");
        QCOMPARE(modelCardToJson(back), modelCardToJson(card));
        QCOMPARE(back.patchGridWidth, 3);
        QCOMPARE(back.resizeShorter, 40);
        QCOMPARE(cardPathFor("/a/b/model.pt"), std::string("/a/b/model.json"));
        QCOMPARE(cardPathFor("model.v2.pt"), std::string("model.v2.json"));
    }

    void labelsFileIsReadRelativeToTheCard()
    {
        const std::string dir = test::makeTempDir("card-labels");
        fs::create_directories(dir + "/meta");
        test::writeBytes(dir + "/meta/names.txt", "shirt\r\n\ntrouser\nbag\n");
        test::writeBytes(dir + "/m.json", R"({"labels_file": "meta/names.txt"})");
        auto card = readModelCard(dir + "/m.json");
        QVERIFY(card.has_value());
        QCOMPARE(card->labels, (std::vector<std::string>{"shirt", "trouser", "bag"}));
        QCOMPARE(card->labelsFile, std::string("meta/names.txt"));

        test::writeBytes(dir + "/inline.json",
                         R"({"labels": ["a", "b"], "labels_file": "meta/names.txt"})");
        QCOMPARE(readModelCard(dir + "/inline.json")->labels, (std::vector<std::string>{"a", "b"}));

        test::writeBytes(dir + "/lost.json", R"({"labels_file": "nowhere.txt"})");
        const std::string error = test::errorOf([&] { readModelCard(dir + "/lost.json"); });
        QVERIFY2(test::contains(error, dir + "/lost.json") &&
                     test::contains(error, dir + "/nowhere.txt"),
                 error.c_str());
        QVERIFY(!readModelCard(dir + "/absent.json").has_value());
    }

    void badJsonNamesTheFile()
    {
        const std::string dir = test::makeTempDir("card-badjson");
        test::writeBytes(dir + "/m.json", "{\"name\": \"x\",");
        const std::string error = test::errorOf([&] { readModelCard(dir + "/m.json"); });
        QVERIFY2(test::contains(error, "model card " + dir + "/m.json") &&
                     test::contains(error, "not valid JSON"),
                 error.c_str());
        const std::string array = test::errorOf([&] { parseModelCard("[1, 2]", "arr.json"); });
        QVERIFY2(test::contains(array, "arr.json") && test::contains(array, "object"),
                 array.c_str());
    }

    void wrongTypesNameTheField()
    {
        const std::vector<std::pair<std::string, std::string>> cases{
            {R"({"name": 3})", "\"name\""},
            {R"({"labels": "cat"})", "\"labels\""},
            {R"({"labels": [1, 2]})", "\"labels\""},
            {R"({"input": {"channels": "three"}})", "\"channels\""},
            {R"({"input": {"mean": 0.5, "std": 0.2}})", "\"mean\""},
            {R"({"input": {"size": [28]}})", "\"input.size\""},
            {R"({"input": {"size": "28x28"}})", "\"size\""},
            {R"({"input": [1, 28, 28]})", "\"input\""},
            {R"({"transformer": {"patch_grid": [7, 0]}})", "\"transformer.patch_grid\""},
            {R"({"transformer": {"cls_token": "first"}})", "\"cls_token\""},
            {R"({"format_version": "1"})", "\"format_version\""},
            {R"({"family": "rnn"})", "\"family\""},
            {R"({"input": {"channels": 2}})", "\"input.channels\""},
            {R"({"input": {"color_order": "hsv"}})", "\"input.color_order\""},
            {R"({"input": {"resize": "pad"}})", "\"input.resize\""},
            {R"({"input": {"mean": [0.5], "std": [0.0]}})", "\"input.std\""},
            {R"({"input": {"mean": [0.5, 0.5], "std": [0.2]}})", "\"input.mean\""},
        };
        for (const auto &[json, field] : cases) {
            const std::string error = test::errorOf([&] { parseModelCard(json, "c.json"); });
            QVERIFY2(test::contains(error, "model card c.json") && test::contains(error, field),
                     (json + " -> " + error).c_str());
        }
    }

    void unsupportedFormatVersionIsRejected()
    {
        for (int version : {0, 2, 99}) {
            const std::string error = test::errorOf([&] {
                parseModelCard("{\"format_version\": " + std::to_string(version) + "}", "v.json");
            });
            QVERIFY2(
                test::contains(error, "v.json") &&
                    test::contains(error, "unsupported format_version " + std::to_string(version)),
                error.c_str());
        }
    }

    void missingFileOrFolderIsNamed()
    {
        const std::string dir = test::makeTempDir("load-missing");
        QCOMPARE(loadError(dir + "/none.pt"), dir + "/none.pt: no such file");
        const std::string folder = loadError(dir);
        QVERIFY2(test::contains(folder, dir + ": is a folder"), folder.c_str());
    }

    void textFileIsNotTorchScript()
    {
        const std::string dir = test::makeTempDir("load-text");
        test::writeBytes(dir + "/notes.pt", "just some text, not a zip archive\n");
        const std::string error = loadError(dir + "/notes.pt");
        QVERIFY2(test::contains(error, dir + "/notes.pt: not a TorchScript archive"),
                 error.c_str());
        QVERIFY2(!test::contains(error, "\n"), error.c_str()); // first line only, no backtrace
        test::writeBytes(dir + "/empty.pt", "");
        QVERIFY(test::contains(loadError(dir + "/empty.pt"), dir + "/empty.pt: "));
    }

    void damagedTensorRecordIsFoundByItsCrc()
    {
        const std::string dir = test::makeTempDir("load-damaged");
        const std::string good = saveDemoCnn(dir, "good");
        std::string bytes = test::readAll(good);
        // The largest record holds a weight tensor; flip one byte in the middle of its data.
        std::vector<ZipRecord> records = readZipDirectory(bytes, bytes.size());
        QVERIFY(records.size() > 5);
        const ZipRecord *largest = &records[0];
        for (const auto &r : records)
            if (r.size > largest->size)
                largest = &r;
        QCOMPARE(recordKind(largest->name), std::string("tensor data"));
        QCOMPARE(damagedArchiveRecord(good), std::string());
        const uint64_t header = largest->localHeaderOffset;
        const uint64_t dataStart = header + 30 + uint8_t(bytes[header + 26]) +
                                   256 * uint8_t(bytes[header + 27]) + uint8_t(bytes[header + 28]) +
                                   256 * uint8_t(bytes[header + 29]);
        bytes[dataStart + largest->size / 2] ^= 0x40;
        const std::string damaged = dir + "/damaged.pt";
        test::writeBytes(damaged, bytes);
        // LibTorch itself loads it, with a changed weight.
        QVERIFY(torch::jit::load(damaged).parameters().size() > 0);
        const std::string error = loadError(damaged);
        QVERIFY2(test::contains(error, damaged + ": the archive is damaged") &&
                     test::contains(error, "record " + largest->name + " (tensor data, ") &&
                     test::contains(error, "fails its CRC-32 check"),
                 error.c_str());
        // Cut short: no end of the directory, named by LibTorch's reader or by the check.
        test::writeBytes(dir + "/truncated.pt", bytes.substr(0, bytes.size() / 2));
        const std::string truncated = loadError(dir + "/truncated.pt");
        QVERIFY2(test::contains(truncated, dir + "/truncated.pt: "), truncated.c_str());
        QVERIFY(test::contains(damagedArchiveRecord(dir + "/truncated.pt"),
                               "no end-of-central-directory record"));
    }

    void nanLogitsAreRefusedNamingTheModel()
    {
        const std::string dir = test::makeTempDir("load-nan");
        torch::jit::Module m("NanLogits");
        m.register_attribute("training", c10::BoolType::get(), false);
        // NaN for inputs brighter than 0.5 on average, finite otherwise; +inf likewise.
        m.define(R"(
def forward(self, x):
    s = x.flatten(1).mean(1, keepdim=True)
    logits = torch.cat([s, -1.0 - s, s * 0.5 + 2.0], 1)
    return torch.where(s > 0.5, logits * (s - s) / (s - s), logits)
)");
        m.save(dir + "/nan.pt");
        auto model = Model::load(dir + "/nan.pt");
        QVERIFY(model->warnings().empty()); // a black probe gives finite logits
        const cv::Mat bright(28, 28, CV_8UC1, cv::Scalar(250));
        const cv::Mat dark(28, 28, CV_8UC1, cv::Scalar(10));
        const std::string error =
            test::errorOf([&] { predictInput(*model, model->preprocess(bright)); });
        QVERIFY2(test::contains(error, dir + "/nan.pt: the model's logits are NaN or infinite") &&
                     test::contains(error, "3 of 3 classes"),
                 error.c_str());
        QVERIFY(predictInput(*model, model->preprocess(dark)).predicted >= 0);
        ExplainJob job{model, bright, "saliency", {}, -1, nullptr};
        QVERIFY(test::contains(test::errorOf([&] { runExplain(job, JobContext{}); }),
                               "NaN or infinite"));
        // A dataset prediction marks it as no prediction instead of class 0.
        cv::imwrite(dir + "/bright.png", bright);
        cv::imwrite(dir + "/dark.png", dark);
        auto dataset = openImageFiles({dir + "/bright.png", dir + "/dark.png"});
        const auto predicted = predictSamples(*model, *dataset, {0, 1}, 2, JobContext{});
        QCOMPARE(predicted[0], -1);
        QVERIFY(predicted[1] >= 0);
        // Always NaN: the load warns already.
        torch::jit::Module always("AlwaysNan");
        always.register_attribute("training", c10::BoolType::get(), false);
        always.define("def forward(self, x):\n    s = x.flatten(1).mean(1, keepdim=True)\n"
                      "    return torch.cat([s, s], 1) * (s - s) / (s - s)\n");
        always.save(dir + "/always.pt");
        auto warned = Model::load(dir + "/always.pt");
        QCOMPARE(warned->warnings().size(), size_t(1));
        QVERIFY2(test::contains(warned->warnings()[0], "NaN or infinite logits for a black input"),
                 warned->warnings()[0].c_str());
    }

    void moduleWithoutForwardIsRejected()
    {
        const std::string dir = test::makeTempDir("load-noforward");
        torch::jit::Module m("NoForward");
        m.register_attribute("training", c10::BoolType::get(), true);
        m.define("def other(self, x):\n    return x\n");
        m.save(dir + "/noforward.pt");
        const std::string error = loadError(dir + "/noforward.pt");
        QVERIFY2(test::contains(error, dir + "/noforward.pt") &&
                     test::contains(error, "no forward method"),
                 error.c_str());
        const std::string inMemory =
            test::errorOf([&] { Model::fromModule(m, ModelCard{}, "in-memory module"); });
        QVERIFY2(test::contains(inMemory, "in-memory module: ") &&
                     test::contains(inMemory, "no forward method"),
                 inMemory.c_str());
    }

    void cardLabelCountMustMatchTheModel()
    {
        const std::string dir = test::makeTempDir("load-labels");
        const std::string path = saveDemoCnn(dir, "cnn");
        test::writeBytes(dir + "/cnn.json", R"({"labels": ["a", "b", "c"]})");
        const std::string error = loadError(path);
        QVERIFY2(test::contains(error, path + ": ") &&
                     test::contains(error, "lists 3 labels but the model outputs 10 classes"),
                 error.c_str());
    }

    void badCardNextToValidModelNamesTheCard()
    {
        const std::string dir = test::makeTempDir("load-badcard");
        const std::string path = saveDemoCnn(dir, "cnn");
        test::writeBytes(dir + "/cnn.json", "{ not json");
        const std::string error = loadError(path);
        QVERIFY2(test::contains(error, dir + "/cnn.json") &&
                     test::contains(error, "not valid JSON"),
                 error.c_str());
        test::writeBytes(dir + "/cnn.json", R"({"input": {"channels": "one"}})");
        const std::string typed = loadError(path);
        QVERIFY2(test::contains(typed, dir + "/cnn.json") && test::contains(typed, "\"channels\""),
                 typed.c_str());
    }

    void cardThatContradictsTheModelIsRejected()
    {
        const std::string dir = test::makeTempDir("load-contradict");
        const std::string path = saveDemoCnn(dir, "cnn");
        test::writeBytes(dir + "/cnn.json", R"({"input": {"channels": 3, "size": [32, 32]}})");
        const std::string shape = loadError(path);
        QVERIFY2(test::contains(shape, path + ": the model rejects the input shape [1, 3, 32, 32]"),
                 shape.c_str());
        test::writeBytes(dir + "/cnn.json", R"({"cam_layer": "features.block9"})");
        const std::string layer = loadError(path);
        QVERIFY2(test::contains(layer, path + ": ") && test::contains(layer, "\"features.block9\""),
                 layer.c_str());
        test::writeBytes(dir + "/cnn.json", R"({"input": {"mean": [0.1, 0.2], "std": [1, 1]}})");
        const std::string stats = loadError(path);
        QVERIFY2(test::contains(stats, "input.mean has 2 values for a 1-channel input"),
                 stats.c_str());
    }

    void demoCnnSavedAndReloadedGivesTheSameLogits()
    {
        const std::string dir = test::makeTempDir("load-demo");
        auto module = test::seededDemoCnn(11);
        module.save(dir + "/demo.pt");
        test::writeBytes(dir + "/demo.json", R"({"name": "Demo", "input": {"mean": [0.5],
            "std": [0.25]}, "cam_layer": "features.block3"})");
        auto model = Model::load(dir + "/demo.pt");
        QCOMPARE(model->displayName(), std::string("Demo"));
        QCOMPARE(model->path(), dir + "/demo.pt");
        QCOMPARE(model->card().inputChannels, 1);
        QCOMPARE(model->card().inputHeight, 28);
        QCOMPARE(model->card().inputWidth, 28);
        QCOMPARE(model->card().mean, std::vector<float>{0.5f});
        QCOMPARE(model->numClasses(), 10);
        QCOMPARE(model->label(3), std::string("class 3"));
        QCOMPARE(model->defaultCamLayer(), std::string("features.block3"));
        QVERIFY(model->warnings().empty());

        torch::manual_seed(12);
        const auto input = torch::randn({4, 1, 28, 28});
        torch::NoGradGuard noGrad;
        const auto expected = module.forward({input}).toTensor();
        QVERIFY(torch::equal(model->forward(input).detach(), expected));
        // predict() may run on the frozen copy (batch norm folded into the convolutions): the
        // same logits up to rounding.
        QVERIFY2(test::allClose(model->predict(input), expected, 1e-4),
                 test::maxDifference(model->predict(input), expected).c_str());

        // Same file, same cache key; every in-memory model gets its own.
        QCOMPARE(Model::load(dir + "/demo.pt")->cacheKey(), model->cacheKey());
        auto a = Model::fromModule(module, ModelCard{}, "mem");
        auto b = Model::fromModule(module, ModelCard{}, "mem");
        QVERIFY(a->cacheKey() != b->cacheKey());
        QCOMPARE(a->displayName(), std::string("mem"));
    }

    void layersListPathsTypesAndDepths()
    {
        auto model = Model::fromModule(test::seededDemoCnn(1), ModelCard{}, "demo");
        const auto layers = model->layers();
        auto find = [&](const std::string &path) -> const LayerInfo * {
            for (const auto &l : layers)
                if (l.path == path)
                    return &l;
            return nullptr;
        };
        QVERIFY(!layers.empty());
        QCOMPARE(layers.front().path, std::string("features"));
        const LayerInfo *conv = find("features.block1.conv");
        QVERIFY(conv);
        QCOMPARE(conv->type, std::string("Conv2d"));
        QCOMPARE(conv->depth, 2);
        QVERIFY(conv->isLeaf);
        const LayerInfo *block = find("features.block3");
        QVERIFY(block);
        QCOMPARE(block->type, std::string("ConvBlock"));
        QCOMPARE(block->depth, 1);
        QVERIFY(!block->isLeaf);
        QVERIFY(find("features.block1.bn") && find("features.block1.bn")->type == "BatchNorm2d");
        QVERIFY(find("classifier.fc2") && find("classifier.fc2")->type == "Linear");
        QVERIFY(find("features.block3.pool") == nullptr); // the default config pools twice
        QVERIFY(model->hasLayer("classifier.fc1"));
        QVERIFY(!model->hasLayer("classifier.fc3"));
    }

    void vectorAndTupleOutputsAreRejected()
    {
        if (!test::haveFixture("vector_model.pt") || !test::haveFixture("tuple_model.pt"))
            QSKIP("python fixtures absent (python3-torch not installed)");
        const std::string vector = loadError(test::fixture("vector_model.pt"));
        QVERIFY2(test::contains(vector, test::fixture("vector_model.pt") + ": ") &&
                     test::contains(vector, "shape [1]") && test::contains(vector, "[1, classes]"),
                 vector.c_str());
        const std::string tuple = loadError(test::fixture("tuple_model.pt"));
        QVERIFY2(test::contains(tuple, test::fixture("tuple_model.pt") + ": forward returns Tuple"),
                 tuple.c_str());
    }

    void probabilitiesLoadWithAWarning()
    {
        if (!test::haveFixture("probs_model.pt"))
            QSKIP("python fixtures absent (python3-torch not installed)");
        auto model = Model::load(test::fixture("probs_model.pt"));
        QCOMPARE(model->card().inputChannels, 1);
        QCOMPARE(model->card().inputHeight, 28);
        QCOMPARE(model->numClasses(), 10);
        QCOMPARE(model->displayName(), std::string("probs_model"));
        QCOMPARE(model->warnings().size(), size_t(1));
        QVERIFY2(test::contains(model->warnings()[0], "probabilities"),
                 model->warnings()[0].c_str());
    }

    void probingFindsTheOnlyAcceptedSize()
    {
        if (!test::haveFixture("fixed_size_model.pt"))
            QSKIP("python fixtures absent (python3-torch not installed)");
        auto model = Model::load(test::fixture("fixed_size_model.pt"));
        QCOMPARE(model->card().inputChannels, 3);
        QCOMPARE(model->card().inputHeight, 32);
        QCOMPARE(model->card().inputWidth, 32);
        QCOMPARE(model->numClasses(), 10);
        QVERIFY(model->warnings().empty());
        QCOMPARE(model->defaultCamLayer(), std::string()); // nothing spatial inside
    }

    void resnetFixturesLoadWithLayer4AsDefaultCamLayer()
    {
        for (const char *name : {"resnet18_traced.pt", "resnet18_scripted.pt"}) {
            if (!test::haveFixture(name))
                QSKIP("python fixtures absent (python3-torch not installed)");
            auto model = Model::load(test::fixture(name));
            QCOMPARE(model->card().inputChannels, 3);
            QCOMPARE(model->card().inputHeight, 224);
            QCOMPARE(model->card().inputWidth, 224);
            QCOMPARE(model->numClasses(), 10);
            QCOMPARE(model->defaultCamLayer(), std::string("layer4"));
            QVERIFY(model->hasLayer("layer4.1.conv2"));
            for (const auto &p : model->module().parameters())
                QVERIFY(!p.requires_grad());
            QVERIFY(!model->module().is_training());
        }
    }

    void predictionsOnTheInferenceCopyEqualTheModulesAndLeaveTheRandomStreamAlone()
    {
        std::vector<std::string> names{"resnet18_scripted.pt", "tiny_vit_like.pt"};
        for (const auto &name : names) {
            if (!test::haveFixture(name))
                QSKIP("python fixtures absent (python3-torch not installed)");
            auto model = Model::load(test::fixture(name));
            const auto &c = model->card();
            torch::manual_seed(3);
            const auto x = torch::randn({3, c.inputChannels, c.inputHeight, c.inputWidth});
            const auto next = torch::rand({4});
            torch::manual_seed(3);
            torch::randn({3, c.inputChannels, c.inputHeight, c.inputWidth});
            const auto predicted = model->predict(x); // builds the copy
            QVERIFY(torch::equal(torch::rand({4}), next));
            QVERIFY2(test::allClose(predicted, model->forward(x).detach(), 1e-4),
                     test::maxDifference(predicted, model->forward(x).detach()).c_str());
            const std::string status = model->inferenceCopyStatus();
            QVERIFY2(status.find("speed against the module") != std::string::npos, status.c_str());
            // The loaded module is untouched: still a module with submodules and parameters.
            QVERIFY(model->module().parameters().size() > 0);
        }
    }

    // Batches of forward() may run on the frozen channels-last copy: their input gradients are
    // the module's (within 1% in L2), and a model without batch norms keeps the module.
    void gradientBatchesOnTheCopyGiveTheModulesGradients()
    {
        const std::string name = "resnet18_traced.pt";
        if (!test::haveFixture(name))
            QSKIP("python fixtures absent (python3-torch not installed)");
        auto model = Model::load(test::fixture(name));
        const auto &c = model->card();
        torch::manual_seed(6);
        const auto x = torch::randn({3, c.inputChannels, c.inputHeight, c.inputWidth});
        auto gradientOf = [&](auto &&run) {
            auto input = x.clone().requires_grad_(true);
            auto score = run(input).select(1, 2).sum();
            return torch::autograd::grad({score}, {input})[0];
        };
        const auto viaModel =
            gradientOf([&](const torch::Tensor &in) { return model->forward(in); });
        torch::jit::Module module = model->module().clone();
        const auto viaModule =
            gradientOf([&](const torch::Tensor &in) { return module.forward({in}).toTensor(); });
        QVERIFY2((viaModel - viaModule).norm().item<double>() <=
                     1e-2 * viaModule.norm().item<double>(),
                 test::maxDifference(viaModel, viaModule).c_str());
        const std::string status = model->gradientCopyStatus();
        QVERIFY2(status.rfind("frozen, channels-last input", 0) == 0 ||
                     status.rfind("the module itself", 0) == 0,
                 status.c_str());
        // Nothing to fold: no copy is built or timed.
        auto plain = Model::load(test::fixture("tiny_vit_like.pt"));
        QVERIFY2(plain->gradientCopyStatus().find("no batch norm to fold") != std::string::npos,
                 plain->gradientCopyStatus().c_str());
    }

    // The inference-copy choice is measured once per model file and cached with the module's
    // logits on the probe; a later process builds the cached copy and checks it against those
    // logits, and a cache whose logits do not match is measured again, never trusted.
    void cachedInferenceCopyIsCheckedAgainstTheStoredLogits()
    {
        const std::string name = "resnet18_scripted.pt";
        if (!test::haveFixture(name))
            QSKIP("python fixtures absent (python3-torch not installed)");
        QTemporaryDir cacheHome;
        const QByteArray previous = qgetenv("XDG_CACHE_HOME");
        qputenv("XDG_CACHE_HOME", cacheHome.path().toUtf8());
        const std::string copies = cacheHome.path().toStdString() + "/heatlens/inference-copies";
        auto status = [&] {
            auto model = Model::load(test::fixture(name));
            const auto &c = model->card();
            torch::manual_seed(5);
            // One image: forward() on a batch would build (and cache) the gradient copy too.
            const auto x = torch::randn({1, c.inputChannels, c.inputHeight, c.inputWidth});
            const auto predicted = model->predict(x);
            const auto expected = model->forward(x).detach();
            if (!test::allClose(predicted, expected, 1e-4))
                return "predictions differ: " + test::maxDifference(predicted, expected);
            return model->inferenceCopyStatus();
        };
        const std::string first = status();
        QVERIFY2(first.find("measured before") == std::string::npos, first.c_str());
        std::vector<fs::path> files;
        for (const auto &entry : fs::directory_iterator(copies))
            files.push_back(entry.path());
        QCOMPARE(files.size(), size_t(1));
        const std::string written = test::readAll(files[0].string());
        const std::string classes = std::to_string(Model::load(test::fixture(name))->numClasses());
        const std::string tag = "\nprobe-logits " + classes + " ";
        QVERIFY2(written.find(tag) != std::string::npos, written.c_str());

        const std::string second = status();
        QVERIFY2(second.find("measured before") != std::string::npos, second.c_str());
        QVERIFY2(second.find("speed against the module") != std::string::npos, second.c_str());

        // Stored logits that a copy does not reproduce: the choice is measured again.
        if (second.rfind("the module itself", 0) != 0) {
            std::string tampered = written.substr(0, written.find(tag) + tag.size() - 1);
            for (int i = 0; i < std::stoi(classes); ++i)
                tampered += " 1000";
            test::writeBytes(files[0].string(), tampered + "\n");
            const std::string third = status();
            QVERIFY2(third.find("measured before") == std::string::npos, third.c_str());
            // Measured again: the module's own logits are stored (the timings may differ).
            const std::string rewritten = test::readAll(files[0].string());
            QCOMPARE(rewritten.substr(rewritten.find(tag)), written.substr(written.find(tag)));
        }
        if (previous.isEmpty())
            qunsetenv("XDG_CACHE_HOME");
        else
            qputenv("XDG_CACHE_HOME", previous);
    }
};

QTEST_APPLESS_MAIN(ModelLoadingTest)
#include "test_model_loading.moc"
