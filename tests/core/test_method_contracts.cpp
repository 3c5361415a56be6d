#include "core/explain/MethodRegistry.h"
#include "core/model/DemoCnn.h"
#include "core/model/DemoVit.h"
#include "core/model/Model.h"
#include "tests/support/TestSupport.h"

#include <QTest>

#include <opencv2/core.hpp>

#include <torch/script.h>

#include <cmath>
#include <functional>
#include <map>
#include <regex>

using namespace heatlens;

namespace {

// The models every method is run on; null when the fixture is absent. Loaded once.
ModelPtr modelNamed(const std::string &name)
{
    static std::map<std::string, ModelPtr> cache;
    auto it = cache.find(name);
    if (it != cache.end())
        return it->second;
    ModelPtr model;
    if (name == "demo-cnn") {
        torch::manual_seed(17);
        model = Model::fromModule(buildDemoCnn(CnnConfig{}), ModelCard{}, "demo-cnn");
    } else if (name == "demo-vit") {
        // No card: the attention taps must be found in the graph.
        torch::manual_seed(17);
        model = Model::fromModule(buildDemoVit(VitConfig{}), ModelCard{}, "demo-vit");
    } else if (test::haveFixture(name + ".pt")) {
        model = Model::load(test::fixture(name + ".pt"));
    }
    return cache[name] = model;
}

const std::vector<std::string> &modelNames()
{
    static const std::vector<std::string> names{"demo-cnn", "demo-vit", "tiny_vit_like",
                                                "resnet18_traced", "torchvision_vit_small_traced"};
    return names;
}

// Small settings so that the table runs quickly: few integration steps, samples and masks,
// coarse grids, large occlusion windows.
Params quickParams(const Method &method, std::map<std::string, std::string> overrides = {})
{
    const std::map<std::string, std::string> quick{
        {"steps", "4"}, {"samples", "12"}, {"masks", "16"}, {"cells", "3"}, {"window", "56"}};
    for (const auto &spec : method.params()) {
        auto it = quick.find(spec.name);
        if (it != quick.end() && !overrides.count(spec.name))
            overrides[spec.name] = it->second;
    }
    return resolveParams(method.params(), overrides, method.id());
}

ExplainRequest requestFor(const Method &method, const ModelPtr &model, int target = 1)
{
    const auto &card = model->card();
    torch::manual_seed(99);
    ExplainRequest request;
    request.model = model;
    request.input = torch::randn({1, card.inputChannels, card.inputHeight, card.inputWidth});
    request.target = target;
    // The per-channel CAMs cost one forward pass per channel: on ResNet-18 a 64-channel layer
    // rather than layer4's 512.
    const bool perChannel = method.id() == "score-cam" || method.id() == "ablation-cam";
    request.params = perChannel && model->hasLayer("layer1")
                         ? quickParams(method, {{"layer", "layer1"}})
                         : quickParams(method);
    if (method.usesReferences())
        request.references =
            torch::randn({3, card.inputChannels, card.inputHeight, card.inputWidth});
    return request;
}

bool allFinite(const cv::Mat &map)
{
    for (int r = 0; r < map.rows; ++r)
        for (int c = 0; c < map.cols; ++c)
            if (!std::isfinite(map.at<float>(r, c)))
                return false;
    return true;
}

// Runs `f`, expecting exception type E; returns its message or a description of what happened.
template<typename E> std::string expectThrow(const std::function<void()> &f, bool &thrown)
{
    thrown = false;
    try {
        f();
    } catch (const E &e) {
        thrown = true;
        return e.what();
    } catch (const std::exception &e) {
        return std::string("unexpected exception: ") + e.what();
    }
    return "no exception";
}

// True when `method` declares it cannot explain `model` at all; then explain() must say so.
bool notApplicable(const Method &method, const ModelPtr &model)
{
    const std::string reason = method.whyNotApplicable(*model);
    if (reason.empty())
        return false;
    bool thrown = false;
    const std::string error = expectThrow<std::invalid_argument>(
        [&] { method.explain(requestFor(method, model), JobContext{}); }, thrown);
    if (!thrown || error.find(reason) == std::string::npos)
        throw std::runtime_error(method.id() + " is not applicable (" + reason +
                                 ") but explain() said: " + error);
    return true;
}

bool hasLayerParam(const Method &method)
{
    for (const auto &spec : method.params())
        if (spec.type == ParamType::Layer)
            return true;
    return false;
}

} // namespace

class MethodContractsTest : public QObject
{
    Q_OBJECT

private:
    void addTable()
    {
        QTest::addColumn<QString>("method");
        QTest::addColumn<QString>("model");
        for (const auto &method : MethodRegistry::instance().methods())
            for (const auto &model : modelNames())
                QTest::newRow((method->id() + "/" + model).c_str())
                    << QString::fromStdString(method->id()) << QString::fromStdString(model);
    }

    // Sets m_method and m_model from the row; false when the model's fixture is absent.
    bool fetchRow()
    {
        QFETCH(QString, method);
        QFETCH(QString, model);
        m_method = &MethodRegistry::instance().get(method.toStdString());
        m_model = modelNamed(model.toStdString());
        return m_model != nullptr;
    }

    const Method *m_method = nullptr;
    ModelPtr m_model;

private Q_SLOTS:
    void mapsHaveInputSizeAreFiniteAndDeterministic_data() { addTable(); }

    void mapsHaveInputSizeAreFiniteAndDeterministic()
    {
        if (!fetchRow())
            QSKIP("python fixtures absent (python3-torch not installed)");
        if (notApplicable(*m_method, m_model))
            return; // and it said why
        const Method *method = m_method;
        const ModelPtr model = m_model;
        const test::ModuleSnapshot before(model->module());
        const ExplainRequest request = requestFor(*method, model);
        const Explanation first = method->explain(request, JobContext{});
        const Explanation second = method->explain(request, JobContext{});
        const auto &card = model->card();
        QCOMPARE(first.map.type(), CV_32FC1);
        QCOMPARE(first.map.size(), cv::Size(card.inputWidth, card.inputHeight));
        QVERIFY(allFinite(first.map));
        QVERIFY2(test::bitwiseEqual(first.map, second.map), "two runs give different maps");
        QCOMPARE(first.methodId, method->id());
        QCOMPARE(first.target, 1);
        QCOMPARE(first.params.canonical(), request.params.canonical());
        QVERIFY(first.forwardPasses >= 1);
        QVERIFY(first.seconds >= 0.0);
        if (hasLayerParam(*method))
            QVERIFY(model->hasLayer(first.layer));
        const std::string changed = before.differences(model->module());
        QVERIFY2(changed.empty(), changed.c_str());
    }

    void badRequestsThrowAndLeaveTheModelUntouched_data() { addTable(); }

    void badRequestsThrowAndLeaveTheModelUntouched()
    {
        if (!fetchRow())
            QSKIP("python fixtures absent (python3-torch not installed)");
        if (notApplicable(*m_method, m_model))
            return; // and it said why
        const Method *method = m_method;
        const ModelPtr model = m_model;
        const test::ModuleSnapshot before(model->module());
        bool thrown = false;
        for (int target : {model->numClasses(), -1}) {
            ExplainRequest request = requestFor(*method, model, target);
            const std::string error = expectThrow<std::invalid_argument>(
                [&] { method->explain(request, JobContext{}); }, thrown);
            QVERIFY2(thrown &&
                         error.find("target class " + std::to_string(target)) != std::string::npos,
                     error.c_str());
        }
        ExplainRequest wrongShape = requestFor(*method, model);
        wrongShape.input = torch::zeros({1, 2, 5, 5});
        const std::string shape = expectThrow<std::invalid_argument>(
            [&] { method->explain(wrongShape, JobContext{}); }, thrown);
        QVERIFY2(thrown && shape.find("expected an input of shape") != std::string::npos,
                 shape.c_str());
        if (hasLayerParam(*method)) {
            ExplainRequest badLayer = requestFor(*method, model);
            badLayer.params.set("layer", std::string("no.such.layer"));
            const std::string layer = expectThrow<std::invalid_argument>(
                [&] { method->explain(badLayer, JobContext{}); }, thrown);
            QVERIFY2(thrown && layer.find("\"no.such.layer\"") != std::string::npos, layer.c_str());
        }
        const std::string changed = before.differences(model->module());
        QVERIFY2(changed.empty(), changed.c_str());
        // The model still explains normally afterwards.
        QVERIFY(allFinite(method->explain(requestFor(*method, model), JobContext{}).map));
    }

    void cancelledBeforeTheCallThrowsCancelled_data() { addTable(); }

    void cancelledBeforeTheCallThrowsCancelled()
    {
        if (!fetchRow())
            QSKIP("python fixtures absent (python3-torch not installed)");
        if (notApplicable(*m_method, m_model))
            return; // and it said why
        const Method *method = m_method;
        const ModelPtr model = m_model;
        const test::ModuleSnapshot before(model->module());
        CancelToken token;
        token.cancel();
        int reports = 0;
        JobContext ctx([&](const ProgressUpdate &) { ++reports; }, token);
        bool thrown = false;
        const ExplainRequest request = requestFor(*method, model);
        const std::string error =
            expectThrow<Cancelled>([&] { method->explain(request, ctx); }, thrown);
        QVERIFY2(thrown, error.c_str());
        QCOMPARE(reports, 0);
        const std::string changed = before.differences(model->module());
        QVERIFY2(changed.empty(), changed.c_str());
    }

    void integratedGradientsStopsSoonAfterCancelFromProgress_data()
    {
        QTest::addColumn<QString>("model");
        for (const auto &model : modelNames())
            QTest::newRow(model.c_str()) << QString::fromStdString(model);
    }

    void integratedGradientsStopsSoonAfterCancelFromProgress()
    {
        QFETCH(QString, model);
        ModelPtr loaded = modelNamed(model.toStdString());
        if (!loaded)
            QSKIP("python fixtures absent (python3-torch not installed)");
        const Method &ig = MethodRegistry::instance().get("integrated-gradients");
        const test::ModuleSnapshot before(loaded->module());
        ExplainRequest request = requestFor(ig, loaded);
        request.params = quickParams(ig, {{"steps", "64"}, {"batch", "4"}});
        CancelToken token;
        std::vector<double> fractions;
        JobContext ctx(
            [&](const ProgressUpdate &u) {
                fractions.push_back(u.fraction);
                token.cancel();
            },
            token);
        bool thrown = false;
        const std::string error = expectThrow<Cancelled>([&] { ig.explain(request, ctx); }, thrown);
        QVERIFY2(thrown, error.c_str());
        // One batch of 4 of the 64 path points was computed, then it stopped.
        QCOMPARE(fractions, std::vector<double>{4.0 / 64.0});
        const std::string changed = before.differences(loaded->module());
        QVERIFY2(changed.empty(), changed.c_str());
    }

    void camMethodsWorkOnTransformerTokens()
    {
        ModelPtr vit = modelNamed("tiny_vit_like");
        if (!vit)
            QSKIP("python fixtures absent (python3-torch not installed)");
        const Method &gradCam = MethodRegistry::instance().get("grad-cam");
        // Before the attention the patch tokens reach the CLS token: a non-trivial map.
        ExplainRequest request = requestFor(gradCam, vit, 3);
        request.params.set("layer", std::string("blocks.0.norm1"));
        const Explanation e = gradCam.explain(request, JobContext{});
        QCOMPARE(e.map.size(), cv::Size(28, 28));
        QVERIFY(allFinite(e.map));
        QVERIFY(cv::countNonZero(e.map) > 0);
        // A token layer whose count is not a square grid plus CLS is explained as an error.
        ModelCard card = vit->card();
        card.patchGridHeight = 5;
        card.patchGridWidth = 5;
        auto wrongGrid = Model::fromModule(vit->module().clone(), card, "wrong grid");
        ExplainRequest bad = requestFor(gradCam, wrongGrid, 3);
        bad.params.set("layer", std::string("blocks.0.norm1"));
        bool thrown = false;
        const std::string error =
            expectThrow<std::invalid_argument>([&] { gradCam.explain(bad, JobContext{}); }, thrown);
        QVERIFY2(thrown && error.find("5x5") != std::string::npos &&
                     error.find("49 tokens") != std::string::npos,
                 error.c_str());
    }

    void methodIdsAndParameterNamesFollowTheConventions()
    {
        const std::regex kebab("[a-z][a-z0-9]*(-[a-z0-9]+)*");
        const std::regex word("[a-z]{1,12}");
        const std::vector<std::string> families{"gradient", "cam", "perturbation", "transformer"};
        std::vector<std::string> ids;
        QVERIFY(!MethodRegistry::instance().methods().empty());
        for (const auto &method : MethodRegistry::instance().methods()) {
            const std::string id = method->id();
            QVERIFY2(std::regex_match(id, kebab), id.c_str());
            QVERIFY2(std::find(ids.begin(), ids.end(), id) == ids.end(), id.c_str());
            ids.push_back(id);
            QCOMPARE(MethodRegistry::instance().find(id), method.get());
            QVERIFY(!method->name().empty());
            QVERIFY(!method->description().empty());
            QVERIFY2(std::find(families.begin(), families.end(), method->family()) !=
                         families.end(),
                     method->family().c_str());
            std::vector<std::string> names;
            for (const auto &spec : method->params()) {
                QVERIFY2(std::regex_match(spec.name, word), (id + ": " + spec.name).c_str());
                QVERIFY2(std::find(names.begin(), names.end(), spec.name) == names.end(),
                         spec.name.c_str());
                names.push_back(spec.name);
                QVERIFY(!spec.label.empty());
                // Every default is a value the parameter accepts, and reads back unchanged.
                const auto parsed =
                    parseParamValue(spec, paramValueText(spec.defaultValue), method->id());
                QCOMPARE(paramValueText(parsed), paramValueText(spec.defaultValue));
                QCOMPARE(parsed.index(), spec.defaultValue.index());
            }
        }
        QVERIFY(MethodRegistry::instance().find("no-such-method") == nullptr);
    }

    void theRandomControlIsFoundButNotListedAndIgnoresTheModel()
    {
        const MethodRegistry &registry = MethodRegistry::instance();
        QCOMPARE(registry.controls().size(), size_t(1));
        const Method &random = registry.get("random");
        QCOMPARE(random.family(), std::string("control"));
        QVERIFY(registry.isControl("random") && !registry.isControl("saliency"));
        for (const auto &method : registry.methods())
            QVERIFY2(method->family() != "control", method->id().c_str());
        // Seeded noise in [0, 1), the same for any model and class, a new map per seed.
        const ModelPtr model = modelNamed("demo-cnn");
        ExplainRequest request = requestFor(random, model, 1);
        const Explanation a = random.explain(request, JobContext{});
        request.target = 2;
        request.model = Model::fromModule(buildDemoCnn(CnnConfig{}), ModelCard{}, "other");
        QVERIFY(test::bitwiseEqual(random.explain(request, JobContext{}).map, a.map));
        request.params.set("seed", 1);
        QVERIFY(!test::bitwiseEqual(random.explain(request, JobContext{}).map, a.map));
        double lo = 0, hi = 0;
        cv::minMaxLoc(a.map, &lo, &hi);
        QVERIFY(lo >= 0.0 && hi < 1.0 && hi > lo);
        QCOMPARE(a.forwardPasses + a.backwardPasses, 0);
    }

    void smoothGradWrapsEveryGradientMethodThatNeedsNoReferences()
    {
        const MethodRegistry &registry = MethodRegistry::instance();
        std::vector<std::string> expected;
        for (const auto &method : registry.methods())
            if (method->family() == "gradient" && method->id() != "smoothgrad" &&
                !method->usesReferences())
                expected.push_back(method->id());
        std::vector<std::string> bases;
        for (const auto &spec : registry.get("smoothgrad").params())
            if (spec.name == "base")
                bases = spec.choices;
        QCOMPARE(bases, expected);
        for (const char *id : {"saliency", "integrated-gradients", "guided-backprop"})
            QVERIFY2(std::find(bases.begin(), bases.end(), id) != bases.end(), id);
        // Each of them runs under the noise tunnel.
        const ModelPtr model = modelNamed("demo-cnn");
        const Method &smooth = registry.get("smoothgrad");
        for (const auto &base : bases) {
            ExplainRequest request = requestFor(smooth, model, 1);
            request.params.set("base", base);
            request.params.set("samples", 2);
            const Explanation e = smooth.explain(request, JobContext{});
            QVERIFY2(allFinite(e.map) && cv::countNonZero(e.map) > 0, base.c_str());
        }
    }

    void perturbationMethodsShareBaselineBatchAndSeedLast()
    {
        for (const auto &method : MethodRegistry::instance().methods()) {
            if (method->family() != "perturbation")
                continue;
            const auto specs = method->params();
            QVERIFY2(specs.size() >= 4, method->id().c_str());
            const size_t n = specs.size();
            QCOMPARE(specs[n - 3].name, std::string("baseline"));
            QCOMPARE(specs[n - 2].name, std::string("batch"));
            QCOMPARE(specs[n - 1].name, std::string("seed"));
            QVERIFY2(specs[n - 2].help.find(" per forward pass.") != std::string::npos,
                     specs[n - 2].help.c_str());
        }
    }
};

QTEST_APPLESS_MAIN(MethodContractsTest)
#include "test_method_contracts.moc"
