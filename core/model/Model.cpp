#include "core/model/Model.h"

#include "core/model/ArchiveCheck.h"
#include "core/model/Ensemble.h"
#include "core/model/LayerTap.h"
#include "core/model/TorchRuntime.h"

#include <torch/csrc/jit/api/module.h>

#include <filesystem>
#include <future>
#include <sstream>

namespace heatlens {

namespace {

namespace fs = std::filesystem;

std::string firstLine(const std::string &text)
{
    auto end = text.find('\n');
    return end == std::string::npos ? text : text.substr(0, end);
}

[[noreturn]] void fail(const std::string &source, const std::string &what)
{
    throw ModelError(source + ": " + what);
}

torch::jit::Module loadArchive(const std::string &path)
{
    std::error_code ec;
    if (!fs::exists(path, ec))
        fail(path, "no such file");
    if (fs::is_directory(path, ec))
        fail(path, "is a folder, not a TorchScript file");
    // LibTorch does not check the records' CRC-32: a damaged tensor record would load as
    // corrupted weights. The check reads the file once, beside the load.
    auto damaged = std::async(std::launch::async, [path] { return damagedArchiveRecord(path); });
    torch::jit::Module module;
    try {
        module = torch::jit::load(path);
    } catch (const c10::Error &e) {
        damaged.wait();
        fail(path, "not a TorchScript archive (" + firstLine(e.what_without_backtrace()) + ")");
    } catch (const std::exception &e) {
        damaged.wait();
        fail(path, "not a TorchScript archive (" + firstLine(e.what()) + ")");
    }
    if (const std::string why = damaged.get(); !why.empty())
        fail(path, "the archive is damaged, its weights cannot be trusted: " + why);
    return module;
}

std::string shapeText(const std::vector<int64_t> &shape)
{
    std::ostringstream out;
    out << "[";
    for (size_t i = 0; i < shape.size(); ++i)
        out << (i ? ", " : "") << shape[i];
    out << "]";
    return out.str();
}

// Runs forward on zeros of `shape`; returns the output or throws with the model's reason.
c10::IValue tryForward(torch::jit::Module &module, const std::vector<int64_t> &shape)
{
    torch::NoGradGuard noGrad;
    PlainExecutionGuard plain;
    return module.forward({torch::zeros(shape)});
}

struct ProbeResult
{
    std::vector<int64_t> shape;
    c10::IValue output;
};

// Input shapes to try when the card does not say: the card's partial answer first.
std::vector<std::vector<int64_t>> candidateShapes(const ModelCard &card)
{
    std::vector<int64_t> channels =
        card.inputChannels ? std::vector<int64_t>{card.inputChannels} : std::vector<int64_t>{3, 1};
    std::vector<std::pair<int64_t, int64_t>> sizes;
    if (card.inputHeight > 0)
        sizes.push_back({card.inputHeight, card.inputWidth});
    else
        sizes = {{224, 224}, {28, 28}, {32, 32}, {64, 64}, {96, 96}, {128, 128}, {256, 256}};
    std::vector<std::vector<int64_t>> shapes;
    for (auto [h, w] : sizes)
        for (auto c : channels)
            shapes.push_back({1, c, h, w});
    return shapes;
}

ProbeResult probeInput(torch::jit::Module &module, const ModelCard &card, const std::string &path)
{
    std::string lastError;
    for (const auto &shape : candidateShapes(card)) {
        try {
            return {shape, tryForward(module, shape)};
        } catch (const c10::Error &e) {
            lastError = firstLine(e.what_without_backtrace());
        } catch (const std::exception &e) {
            lastError = firstLine(e.what());
        }
    }
    const bool fromCard = card.inputHeight > 0 && card.inputChannels > 0;
    fail(path, std::string("the model rejects ") +
                   (fromCard ? "the input shape " + shapeText(candidateShapes(card)[0]) +
                                   " given by its card"
                             : "every input shape tried (1 or 3 channels, 28..256 pixels); give "
                               "input.size and input.channels in the model card") +
                   " (" + lastError + ")");
}

int64_t validateLogits(const c10::IValue &output, const std::string &path)
{
    if (!output.isTensor())
        fail(path,
             "forward returns " + output.tagKind() + ", expected a [N, classes] tensor of logits");
    const auto &t = output.toTensor();
    if (t.dim() != 2 || t.size(0) != 1)
        fail(path, "forward returns a tensor of shape " + shapeText(t.sizes().vec()) +
                       " for one image, expected [1, classes] logits");
    if (!t.is_floating_point())
        fail(path, "forward returns " + std::string(c10::toString(t.scalar_type())) +
                       " values, expected floating-point logits");
    if (t.size(1) < 2)
        fail(path, "forward returns a single score per image; Heatlens explains classifiers "
                   "with at least two classes");
    return t.size(1);
}

std::string fileKey(const std::string &path)
{
    std::error_code ec;
    auto size = fs::file_size(path, ec);
    auto time = fs::last_write_time(path, ec).time_since_epoch().count();
    return fs::absolute(path).string() + "|" + std::to_string(size) + "|" + std::to_string(time);
}

} // namespace

std::shared_ptr<const Model> Model::load(const std::string &path)
{
    if (auto manifest = ensembleManifestPath(path); !manifest.empty())
        return loadEnsemble(path, manifest);
    auto module = loadArchive(path);
    ModelCard card;
    try {
        if (auto read = readModelCard(cardPathFor(path)))
            card = *read;
    } catch (const std::exception &e) {
        throw ModelError(e.what());
    }
    auto model = std::shared_ptr<Model>(new Model());
    model->m_path = path;
    model->m_cacheKey = fileKey(path);
    model->m_module = module;
    model->m_card = card;
    if (model->m_card.name.empty())
        model->m_card.name = fs::path(path).stem().string();
    model->validateAndComplete(path);
    return model;
}

namespace {

// Why `b` cannot be averaged with `a` in one ensemble ("" when it can).
std::string incompatibility(const Model &a, const Model &b)
{
    const auto &x = a.card(), &y = b.card();
    if (x.inputChannels != y.inputChannels || x.inputHeight != y.inputHeight ||
        x.inputWidth != y.inputWidth)
        return "takes " + std::to_string(y.inputChannels) + "x" + std::to_string(y.inputHeight) +
               "x" + std::to_string(y.inputWidth) + " inputs, the first member " +
               std::to_string(x.inputChannels) + "x" + std::to_string(x.inputHeight) + "x" +
               std::to_string(x.inputWidth);
    if (x.mean != y.mean || x.std != y.std || x.colorOrder != y.colorOrder ||
        x.resize != y.resize || x.resizeShorter != y.resizeShorter)
        return "preprocesses its input differently from the first member (card \"input\")";
    if (x.labels != y.labels)
        return "has other class labels than the first member";
    return {};
}

std::string prefixed(const std::string &path)
{
    return path.empty() ? path : "members.0." + path;
}

} // namespace

std::shared_ptr<const Model> Model::loadEnsemble(const std::string &path,
                                                 const std::string &manifestPath)
{
    EnsembleManifest manifest;
    try {
        manifest = readEnsembleManifest(manifestPath);
    } catch (const std::exception &e) {
        throw ModelError(e.what());
    }
    const auto dir = fs::path(manifestPath).parent_path();
    auto model = std::shared_ptr<Model>(new Model());
    model->m_cacheKey = fileKey(manifestPath);
    std::vector<torch::jit::Module> modules;
    for (const auto &file : manifest.members) {
        auto member = Model::load((dir / file).string());
        if (!model->m_members.empty())
            if (auto why = incompatibility(*model->m_members.front(), *member); !why.empty())
                fail(manifestPath, "member " + file + " " + why);
        model->m_cacheKey += "|" + member->cacheKey();
        modules.push_back(member->module());
        model->m_members.push_back(member);
    }
    const Model &first = *model->m_members.front();
    model->m_path = path;
    model->m_card = first.card();
    model->m_card.name = manifest.name.empty() ? dir.filename().string() : manifest.name;
    model->m_card.description = manifest.description;
    // Layer-based methods on the whole ensemble look at the first member's layers.
    model->m_card.camLayer = prefixed(first.defaultCamLayer());
    for (auto &a : model->m_card.attention)
        a = prefixed(a);
    model->m_card.groupGridRows = model->m_card.groupGridCols = 0;
    model->m_card.groupPairs.clear();
    model->m_card.groupMethod.clear();
    model->m_module = composeEnsemble(modules);
    model->validateAndComplete(path);
    return model;
}

std::shared_ptr<const Model> Model::fromModule(torch::jit::Module module, ModelCard card,
                                               const std::string &source)
{
    static std::atomic<int> counter{0};
    auto model = std::shared_ptr<Model>(new Model());
    model->m_path = source;
    model->m_cacheKey = "memory:" + source + "#" + std::to_string(counter++);
    model->m_module = module;
    model->m_card = card;
    if (model->m_card.name.empty())
        model->m_card.name = source;
    model->validateAndComplete(source);
    return model;
}

std::shared_ptr<const Model> Model::variant(const Model &base, torch::jit::Module module,
                                            const std::string &tag)
{
    static std::atomic<int> counter{0};
    auto model = std::shared_ptr<Model>(new Model());
    model->m_path = base.m_path;
    model->m_cacheKey = base.m_cacheKey + "|" + tag + "#" + std::to_string(counter++);
    model->m_module = module;
    model->m_card = base.m_card;
    model->m_card.name = base.m_card.name + " (" + tag + ")";
    model->m_defaultCamLayer = base.m_defaultCamLayer;
    model->m_members = base.m_members;
    model->m_variant = true;
    model->m_module.eval();
    for (auto p : model->m_module.parameters())
        p.set_requires_grad(false);
    return model;
}

void Model::validateAndComplete(const std::string &source)
{
    if (!m_module.find_method("forward"))
        fail(source, "the TorchScript module has no forward method");
    m_module.eval();
    for (auto p : m_module.parameters())
        p.set_requires_grad(false);
    ProbeResult probe = probeInput(m_module, m_card, source);
    m_card.inputChannels = int(probe.shape[1]);
    m_card.inputHeight = int(probe.shape[2]);
    m_card.inputWidth = int(probe.shape[3]);
    const int64_t classes = validateLogits(probe.output, source);
    if (m_card.labels.empty())
        for (int64_t i = 0; i < classes; ++i)
            m_card.labels.push_back("class " + std::to_string(i));
    if (int64_t(m_card.labels.size()) != classes)
        fail(source, "the model card lists " + std::to_string(m_card.labels.size()) +
                         " labels but the model outputs " + std::to_string(classes) + " classes");
    const size_t statCount = m_card.mean.size();
    if (statCount != 0 && statCount != 1 && int(statCount) != m_card.inputChannels)
        fail(source, "the model card's input.mean has " + std::to_string(statCount) +
                         " values for a " + std::to_string(m_card.inputChannels) +
                         "-channel input");
    if (statCount == 1) {
        m_card.mean.assign(m_card.inputChannels, m_card.mean[0]);
        m_card.std.assign(m_card.inputChannels, m_card.std[0]);
    }
    auto probs = probe.output.toTensor();
    if (!torch::isfinite(probs).all().item<bool>())
        m_warnings.push_back(source + ": the model returns NaN or infinite logits for a black " +
                             "input; Heatlens refuses to explain any image it does this for");
    if (probs.min().item<double>() >= 0.0 && std::abs(probs.sum().item<double>() - 1.0) < 1e-4)
        m_warnings.push_back(source + ": the output looks like probabilities (non-negative, sums "
                                      "to 1); Heatlens expects logits, so gradients will be "
                                      "those of the probabilities");
    try {
        torch::NoGradGuard noGrad;
        PlainExecutionGuard plain;
        m_module.forward(
            {torch::zeros({2, m_card.inputChannels, m_card.inputHeight, m_card.inputWidth})});
    } catch (const std::exception &) {
        fail(source, "the model accepts one image but not a batch of two; export it with a "
                     "free batch dimension");
    }
    if (!m_card.groupMethod.empty() && !m_module.find_method(m_card.groupMethod))
        fail(source, "the model card's feature_groups.method \"" + m_card.groupMethod +
                         "\" is not a method of the model");
    if (!m_card.camLayer.empty() && !hasLayer(m_card.camLayer))
        fail(source, "the model card's cam_layer \"" + m_card.camLayer +
                         "\" is not a submodule of the model");
    m_defaultCamLayer = m_card.camLayer.empty() ? findLastSpatialLayer() : m_card.camLayer;
}

std::string Model::displayName() const
{
    return m_card.name;
}

const std::string &Model::label(int index) const
{
    static const std::string unknown = "?";
    return index >= 0 && index < numClasses() ? m_card.labels[size_t(index)] : unknown;
}

torch::Tensor Model::preprocess(const cv::Mat &image, InputGeometry *geometry) const
{
    return preprocessImage(image, m_card, geometry);
}

torch::Tensor Model::predict(const torch::Tensor &input) const
{
    torch::InferenceMode inference;
    PlainExecutionGuard plain;
    if (const auto *frozen = inferenceModule())
        return const_cast<torch::jit::Module *>(frozen)->forward({input}).toTensor();
    return m_module.forward({input}).toTensor();
}

torch::Tensor Model::forward(const torch::Tensor &input) const
{
    PlainExecutionGuard plain;
    if (input.dim() == 4 && input.size(0) > 1)
        if (const auto *copy = gradientModule())
            return const_cast<torch::jit::Module *>(copy)
                ->forward({input.contiguous(at::MemoryFormat::ChannelsLast)})
                .toTensor();
    return m_module.forward({input}).toTensor();
}

torch::Tensor Model::groupAttributions(const torch::Tensor &input) const
{
    if (m_card.groupMethod.empty())
        throw std::runtime_error(m_path + ": not a feature-group model");
    torch::InferenceMode inference;
    PlainExecutionGuard plain;
    return m_module.get_method(m_card.groupMethod)({input}).toTensor();
}

std::vector<LayerInfo> Model::layers() const
{
    std::vector<LayerInfo> layers;
    for (const auto &sub : m_module.named_modules()) {
        if (sub.name.empty())
            continue;
        LayerInfo info;
        info.path = sub.name;
        info.type = sub.value.type()->name() ? sub.value.type()->name()->name() : "Module";
        info.depth = int(std::count(sub.name.begin(), sub.name.end(), '.'));
        info.isLeaf = sub.value.children().size() == 0;
        layers.push_back(info);
    }
    return layers;
}

bool Model::hasLayer(const std::string &path) const
{
    if (path.empty())
        return false; // the root is the model, not a layer
    for (const auto &sub : m_module.named_modules())
        if (sub.name == path)
            return true;
    return false;
}

std::string Model::defaultCamLayer() const
{
    return m_defaultCamLayer;
}

std::string Model::findLastSpatialLayer() const
{
    std::string best;
    try {
        auto candidates = LayerTap::tappableLayers(m_module);
        LayerTap tap(m_module, candidates);
        torch::NoGradGuard noGrad;
        auto out = tap.run(blackInput(m_card));
        // The last spatial output in execution order; candidates are sorted so that the
        // shallowest module producing a value comes first.
        const torch::Tensor *last = nullptr;
        for (size_t i = 0; i < candidates.size(); ++i) {
            const auto &t = out.taps[i];
            const bool spatial =
                (t.dim() == 4 && t.size(2) * t.size(3) > 1) || (t.dim() == 3 && t.size(1) > 1);
            if (spatial && (!last || !t.is_same(*last))) {
                best = candidates[i];
                last = &out.taps[i];
            }
        }
    } catch (const std::exception &) {
        return {};
    }
    return best;
}

} // namespace heatlens

namespace heatlens {

std::shared_ptr<const LayerTap> Model::layerTap(const std::vector<std::string> &paths) const
{
    return layerTap(paths, ReluRule::Plain);
}

std::shared_ptr<const LayerTap> Model::layerTap(const std::vector<std::string> &paths,
                                                ReluRule rule) const
{
    std::lock_guard lock(m_tapMutex);
    const auto key = std::make_pair(paths, int(rule));
    auto &tap = m_taps[key];
    if (!tap) {
        try {
            tap = std::make_shared<const LayerTap>(m_module, paths, rule);
        } catch (...) {
            m_taps.erase(key);
            throw;
        }
    }
    return tap;
}

std::vector<std::string> Model::attentionLayers() const
{
    std::call_once(m_attentionOnce, [this] {
        m_attentionLayers =
            m_card.attention.empty() ? LayerTap::attentionLayers(m_module) : m_card.attention;
    });
    return m_attentionLayers;
}

} // namespace heatlens
