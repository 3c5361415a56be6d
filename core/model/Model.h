#pragma once

#include "core/model/ModelCard.h"
#include "core/model/Preprocess.h"

#include <torch/script.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace heatlens {

class LayerTap;
enum class ReluRule;

// A model load failed; the message names the file and what is wrong.
class ModelError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

// One named submodule, for layer pickers: "features.block1.conv" of type "Conv2d".
struct LayerInfo
{
    std::string path;
    std::string type;
    int depth = 0;
    bool isLeaf = true;
};

// A TorchScript classifier and its card. Loading validates the model (forward exists, accepts
// the card's input shape, returns [N, classes] logits) and completes the card by probing.
// The module is kept in eval mode with frozen parameters; methods never mutate it: anything
// that needs a different state works on a private clone (see LayerTap, future guards).
class Model : public std::enable_shared_from_this<Model>
{
public:
    // Loads `path` and the sidecar card beside it (same stem, .json) when present; `path` may
    // also be an ensemble folder or its ensemble.json manifest.
    static std::shared_ptr<const Model> load(const std::string &path);
    // Wraps an in-memory module (tests, trainer); `source` names it in messages.
    static std::shared_ptr<const Model> fromModule(torch::jit::Module module, ModelCard card,
                                                   const std::string &source);
    // A private copy of `base` with another module of the same structure whose state may change
    // between calls (a stochastic copy: dropout masks, weights drawn per sample): base's card,
    // layers and default CAM layer, no probing, and no frozen copies (they would bake in one
    // state): predict() and forward() run `module` itself. `tag` is added to the name and key.
    static std::shared_ptr<const Model> variant(const Model &base, torch::jit::Module module,
                                                const std::string &tag);

    const std::string &path() const { return m_path; }
    const ModelCard &card() const { return m_card; }
    std::string displayName() const;
    int numClasses() const { return int(m_card.labels.size()); }
    const std::string &label(int index) const;
    // Identity for caches: path + file time + size (or a unique id for in-memory models).
    const std::string &cacheKey() const { return m_cacheKey; }
    const std::vector<std::string> &warnings() const { return m_warnings; }

    torch::Tensor preprocess(const cv::Mat &image, InputGeometry *geometry = nullptr) const;
    // Logits [N, classes] for an input batch; runs without autograd, on the inference copy
    // (frozen and optimised) when it gives the same logits, else on the module.
    torch::Tensor predict(const torch::Tensor &input) const;
    // How predict() runs, for inspect and benchmarks: "frozen, ..." or why not (builds the copy).
    std::string inferenceCopyStatus() const;
    // Logits with autograd (for gradient methods); the module itself is not modified. A batch
    // of more than one image (methods of many passes: Integrated Gradients, SmoothGrad, ...)
    // runs on the gradient copy when there is one (see gradientCopyStatus); one image runs on
    // the module, so a single pass never pays for building the copy.
    torch::Tensor forward(const torch::Tensor &input) const;
    // How batches of forward() run, for inspect and benchmarks (builds the copy).
    std::string gradientCopyStatus() const;

    std::vector<LayerInfo> layers() const;
    bool hasLayer(const std::string &path) const;
    // A sensible default for CAM methods: the card's cam_layer, else the last layer whose
    // output is spatial (probed once at load).
    std::string defaultCamLayer() const;

    const torch::jit::Module &module() const { return m_module; }

    // A deep ensemble (loaded from a folder with ensemble.json) is one model whose module
    // averages its members' probabilities; members() are the members as models of their own
    // (empty for a single model).
    // Feature-group models (card "feature_groups"): the exact attribution of every group and
    // pair, [N, groups + pairs], from the module's own method; throws if there is none.
    bool hasGroupAttributions() const { return !m_card.groupMethod.empty(); }
    torch::Tensor groupAttributions(const torch::Tensor &input) const;

    bool isEnsemble() const { return !m_members.empty(); }
    const std::vector<std::shared_ptr<const Model>> &members() const { return m_members; }

    // A tapped forward for these layers, built once and reused (building inlines the graph,
    // which costs more than a small model's forward). Throws like LayerTap's constructor.
    std::shared_ptr<const LayerTap> layerTap(const std::vector<std::string> &paths) const;
    std::shared_ptr<const LayerTap> layerTap(const std::vector<std::string> &paths,
                                             ReluRule rule) const;

    // The attention-probability taps of a transformer, one per block in order: the card's
    // transformer.attention when given, else found in the graph (LayerTap::attentionLayers).
    // Empty for models without attention.
    std::vector<std::string> attentionLayers() const;

private:
    Model() = default;
    static std::shared_ptr<const Model> loadEnsemble(const std::string &path,
                                                     const std::string &manifestPath);
    void validateAndComplete(const std::string &source);
    std::string findLastSpatialLayer() const;
    const torch::jit::Module *inferenceModule() const; // null when not usable
    const torch::jit::Module *gradientModule() const;  // null when the module is used

    std::string m_path;
    std::string m_cacheKey;
    ModelCard m_card;
    std::vector<std::string> m_warnings;
    mutable torch::jit::Module m_module; // mutable: forward() is non-const in LibTorch
    std::string m_defaultCamLayer;
    bool m_variant = false; // Model::variant: the module is used directly, never copied
    std::vector<std::shared_ptr<const Model>> m_members;
    mutable std::mutex m_tapMutex;
    mutable std::map<std::pair<std::vector<std::string>, int>, std::shared_ptr<const LayerTap>>
        m_taps;
    mutable std::once_flag m_frozenOnce;
    mutable std::unique_ptr<torch::jit::Module> m_frozen;
    mutable std::string m_inferenceCopy;
    mutable std::once_flag m_gradientOnce;
    mutable std::unique_ptr<torch::jit::Module> m_gradientCopy;
    mutable std::string m_gradientCopyStatus;
    mutable std::once_flag m_attentionOnce;
    mutable std::vector<std::string> m_attentionLayers;
};

using ModelPtr = std::shared_ptr<const Model>;

} // namespace heatlens
