#include "core/model/Trainer.h"

#include "core/io/AtomicFile.h"
#include "core/model/Ensemble.h"
#include "core/model/Preprocess.h"
#include "core/model/Threads.h"
#include "core/model/TorchRuntime.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace heatlens {

std::string archName(Arch arch)
{
    switch (arch) {
    case Arch::Cnn:
        return "cnn";
    case Arch::Vit:
        return "vit";
    case Arch::Groups:
        return "groups";
    }
    return "cnn";
}

Arch parseArch(const std::string &name)
{
    for (Arch a : {Arch::Cnn, Arch::Vit, Arch::Groups})
        if (archName(a) == name)
            return a;
    throw std::invalid_argument("unknown architecture \"" + name + "\" (use cnn, vit or groups)");
}

int TrainConfig::inputChannels() const
{
    switch (arch) {
    case Arch::Vit:
        return vit.inputChannels;
    case Arch::Groups:
        return groups.inputChannels;
    default:
        return cnn.inputChannels;
    }
}

int TrainConfig::inputSize() const
{
    switch (arch) {
    case Arch::Vit:
        return vit.inputSize;
    case Arch::Groups:
        return groups.inputSize;
    default:
        return cnn.inputSize;
    }
}

void TrainConfig::setDropout(double p)
{
    cnn.dropout = p;
    vit.dropout = p;
}

TrainConfig defaultTrainConfig(Arch arch)
{
    TrainConfig c;
    c.arch = arch;
    switch (arch) {
    case Arch::Cnn:
        break; // the struct's defaults are the CNN recipe
    case Arch::Vit:
        c.epochs = 5;
        c.batch = 128;
        c.lr = 2e-3;
        c.warmup = 0.05;
        c.weightDecay = 0.05;
        c.name = "demo-vit";
        c.displayName = "Demo: ViT";
        break;
    case Arch::Groups:
        c.epochs = 4;
        c.lr = 3e-3;
        c.name = "demo-groups";
        c.displayName = "Demo: feature-group model";
        break;
    }
    return c;
}

namespace {

bool isHeldOut(const std::string &id)
{
    return id.rfind("t10k/", 0) == 0 || id.rfind("test/", 0) == 0;
}

std::vector<size_t> usable(const Dataset &dataset, bool heldOut, size_t limit)
{
    std::vector<size_t> indices;
    for (size_t i = 0; i < dataset.size() && (limit == 0 || indices.size() < limit); ++i)
        if (dataset.label(i) >= 0 && isHeldOut(dataset.sampleId(i)) == heldOut)
            indices.push_back(i);
    return indices;
}

std::pair<torch::Tensor, torch::Tensor> gather(const Dataset &dataset,
                                               const std::vector<size_t> &indices,
                                               const ModelCard &geometry, const JobContext &ctx)
{
    std::vector<torch::Tensor> images;
    std::vector<int64_t> labels;
    for (size_t k = 0; k < indices.size(); ++k) {
        if (k % 1024 == 0) {
            ctx.throwIfCancelled();
            ctx.report(double(k) / double(indices.size()), "reading images");
        }
        try {
            auto unit = preprocessImage(dataset.load(indices[k]).image, geometry, nullptr);
            images.push_back((unit * 255.0f).round().to(torch::kUInt8));
            labels.push_back(dataset.label(indices[k]));
        } catch (const SampleError &) {
            // Unreadable samples are skipped; the dataset already names them.
        }
    }
    if (images.empty())
        throw std::runtime_error(dataset.source() + ": no labelled images to train on");
    return {torch::cat(images), torch::tensor(labels)};
}

torch::Tensor normalise(const torch::Tensor &images, const TrainingData &data)
{
    const auto c = int64_t(data.mean.size());
    auto mean = torch::tensor(data.mean).view({1, c, 1, 1});
    auto std = torch::tensor(data.std).view({1, c, 1, 1});
    return (images.to(torch::kFloat32) / 255.0f - mean) / std;
}

// Logits and any architecture-specific extra loss for a batch.
struct Output
{
    torch::Tensor logits;
    torch::Tensor extraLoss; // undefined when none
};

// The additive feature-group model: the prediction sums the group experts' logits and the pair
// experts' residuals; every expert is also trained on its own (a pair as the mean of its groups'
// logits, detached, plus its residual), so that pairs learn what their groups miss.
Output runAdditive(torch::jit::Module &module, const TrainConfig &config, const torch::Tensor &x,
                   const torch::Tensor &y)
{
    auto terms = module.get_method("terms")({x}).toTuple();
    const auto groups = terms->elements()[0].toTensor();    // [N, G, K]
    const auto residuals = terms->elements()[1].toTensor(); // [N, P, K]
    std::vector<int64_t> first, second;
    for (const auto &[a, b] : config.groups.pairs()) {
        first.push_back(a);
        second.push_back(b);
    }
    const auto base = ((groups.index_select(1, torch::tensor(first)) +
                        groups.index_select(1, torch::tensor(second))) *
                       0.5)
                          .detach();
    const auto experts = torch::cat({groups, base + residuals}, 1);
    const auto e = experts.size(1);
    auto own =
        at::cross_entropy_loss(experts.reshape({-1, experts.size(2)}), y.repeat_interleave(e));
    return {groups.sum(1) + residuals.sum(1), own * config.expertLoss};
}

Output run(torch::jit::Module &module, const TrainConfig &config, const torch::Tensor &x,
           const torch::Tensor &y)
{
    if (config.arch != Arch::Groups)
        return {module.forward({x}).toTensor(), {}};
    if (config.groups.additive)
        return runAdditive(module, config, x, y);
    // Mixture of experts: the prediction is the weighted mixture; every expert is also trained
    // to predict on its own, so a pair's expert (which adds a residual to its groups' mean
    // logits) learns what its single groups miss.
    auto experts = module.get_method("experts")({x}).toTuple();
    auto expertLogits = experts->elements()[0].toTensor(); // [N, E, K]
    auto weights = torch::softmax(experts->elements()[1].toTensor(), 1);
    auto logits = (weights.unsqueeze(2) * expertLogits).sum(1);
    const auto e = expertLogits.size(1);
    auto own = at::cross_entropy_loss(expertLogits.reshape({-1, expertLogits.size(2)}),
                                      y.repeat_interleave(e));
    // Interactions only where they pay: without a price on the pairs' total weight, pair
    // experts (which see strictly more) take all the weight and the groups' attributions say
    // nothing.
    auto pairShare = weights.slice(1, config.groups.numGroups()).sum(1).mean();
    return {logits, own * config.expertLoss + pairShare * config.pairPenalty};
}

double accuracy(torch::jit::Module &module, const TrainingData &data)
{
    torch::InferenceMode inference;
    int64_t correct = 0;
    const auto &x = data.testX;
    for (int64_t begin = 0; begin < x.size(0); begin += 512) {
        auto end = std::min(x.size(0), begin + 512);
        auto logits = module.forward({normalise(x.slice(0, begin, end), data)}).toTensor();
        correct += logits.argmax(1).eq(data.testY.slice(0, begin, end)).sum().item<int64_t>();
    }
    return double(correct) / double(x.size(0));
}

std::string stepMessage(int epoch, int epochs, double loss, double acc)
{
    std::ostringstream out;
    out.precision(3);
    out << "epoch " << epoch << "/" << epochs << "  loss " << loss << "  acc " << acc;
    return out.str();
}

// Adam (Kingma & Ba 2015) with bias correction and decoupled weight decay (Loshchilov & Hutter
// 2019) on the parameters marked for it. Written out here rather than taken from torch/optim,
// whose headers pull in the whole C++ frontend and cost minutes of build time.
class AdamW
{
public:
    AdamW(std::vector<torch::Tensor> params, std::vector<bool> decay)
        : m_params(std::move(params))
        , m_decay(std::move(decay))
    {
        for (const auto &p : m_params) {
            m_m.push_back(torch::zeros_like(p));
            m_v.push_back(torch::zeros_like(p));
        }
    }

    void step(double lr, double weightDecay)
    {
        torch::NoGradGuard noGrad;
        ++m_t;
        const double c1 = 1.0 - std::pow(kBeta1, m_t), c2 = 1.0 - std::pow(kBeta2, m_t);
        for (size_t i = 0; i < m_params.size(); ++i) {
            const auto &g = m_params[i].grad();
            if (!g.defined())
                continue;
            if (weightDecay > 0 && m_decay[i])
                m_params[i].mul_(1.0 - lr * weightDecay);
            m_m[i].mul_(kBeta1).add_(g, 1.0 - kBeta1);
            m_v[i].mul_(kBeta2).addcmul_(g, g, 1.0 - kBeta2);
            auto denom = (m_v[i] / c2).sqrt_().add_(kEps);
            m_params[i].addcdiv_(m_m[i], denom, -lr / c1);
        }
    }

    void zeroGrad()
    {
        for (auto &p : m_params)
            if (p.grad().defined())
                p.mutable_grad().zero_();
    }

private:
    static constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kEps = 1e-8;
    std::vector<torch::Tensor> m_params, m_m, m_v;
    std::vector<bool> m_decay;
    int m_t = 0;
};

double learningRate(const TrainConfig &config, int64_t step, int64_t total)
{
    const auto warm = int64_t(config.warmup * double(total));
    if (step < warm)
        return config.lr * double(step + 1) / double(warm);
    const double t = double(step - warm) / double(std::max<int64_t>(1, total - warm));
    return config.lr * 0.5 * (1.0 + std::cos(M_PI * t));
}

void checkConfig(const TrainConfig &c)
{
    if (c.epochs < 1 || c.batch < 1 || !(c.lr > 0))
        throw std::invalid_argument("epochs and batch must be >= 1 and the learning rate > 0");
    if (c.saliencyGuided < 0 || c.saliencyGuided >= 1)
        throw std::invalid_argument("the saliency-guided fraction must be in [0, 1)");
    if (c.cnn.flipout && c.cnn.priorSigma <= 0)
        throw std::invalid_argument("train: the Flipout prior's sigma must be > 0, got " +
                                    std::to_string(c.cnn.priorSigma));
    if (c.klWeight < 0 || c.elboWeight < 0 || c.weightDecay < 0 || c.warmup < 0 || c.warmup >= 1)
        throw std::invalid_argument("KL weight and weight decay must be >= 0, warm-up in [0, 1)");
}

} // namespace

TrainingData loadTrainingData(const Dataset &dataset, const TrainConfig &config,
                              const JobContext &ctx)
{
    TrainingData data;
    auto train = usable(dataset, false, config.limit);
    auto test = usable(dataset, true, config.testLimit);
    if (test.empty()) { // no test split: hold out the last 10% of a seeded shuffle
        auto perm =
            torch::randperm(int64_t(train.size()), at::detail::createCPUGenerator(config.seed));
        std::vector<size_t> shuffled;
        for (int64_t i = 0; i < perm.size(0); ++i)
            shuffled.push_back(train[size_t(perm[i].item<int64_t>())]);
        const size_t cut = shuffled.size() - std::max<size_t>(1, shuffled.size() / 10);
        train.assign(shuffled.begin(), shuffled.begin() + long(cut));
        test.assign(shuffled.begin() + long(cut), shuffled.end());
    }
    ModelCard geometry;
    geometry.inputChannels = config.inputChannels();
    geometry.inputHeight = geometry.inputWidth = config.inputSize();
    const double share = double(train.size()) / double(train.size() + test.size());
    std::tie(data.trainX, data.trainY) = gather(dataset, train, geometry, ctx.sub(0, share));
    std::tie(data.testX, data.testY) = gather(dataset, test, geometry, ctx.sub(share, 1));
    auto unit = data.trainX.to(torch::kFloat32) / 255.0f; // [N, C, H, W]
    for (int64_t c = 0; c < unit.size(1); ++c) {
        auto channel = unit.select(1, c);
        data.mean.push_back(channel.mean().item<float>());
        data.std.push_back(std::max(1e-3f, channel.std().item<float>()));
    }
    data.classNames = dataset.classNames();
    data.source = dataset.source();
    return data;
}

torch::jit::Module buildModel(const TrainConfig &config)
{
    switch (config.arch) {
    case Arch::Vit:
        return buildDemoVit(config.vit);
    case Arch::Groups:
        return buildDemoGroups(config.groups);
    default:
        return buildDemoCnn(config.cnn);
    }
}

torch::Tensor saliencyGuidedMask(const torch::Tensor &x, const torch::Tensor &grad, double k,
                                 at::Generator generator, torch::Tensor *mask)
{
    TORCH_CHECK(x.sizes() == grad.sizes(), "saliency mask: input and gradient shapes differ");
    const int64_t n = x.size(0);
    auto flat = x.detach().reshape({n, -1});
    const int64_t features = flat.size(1);
    const auto count = int64_t(std::llround(k * double(features)));
    auto chosen = torch::zeros({n, features}, torch::kBool);
    if (count > 0) {
        auto order = grad.detach().abs().reshape({n, -1}).topk(count, 1, /*largest=*/false);
        chosen.scatter_(1, std::get<1>(order), true);
    }
    auto low = std::get<0>(flat.min(1, true)), high = std::get<0>(flat.max(1, true));
    auto noise = at::rand({n, features}, generator, flat.options()) * (high - low) + low;
    if (mask)
        *mask = chosen.reshape(x.sizes());
    return torch::where(chosen, noise, flat).reshape(x.sizes());
}

torch::jit::Module trainModel(const TrainingData &data, const TrainConfig &config,
                              const JobContext &ctx, TrainReport &report)
{
    checkConfig(config);
    const auto start = std::chrono::steady_clock::now();
    at::set_num_threads(config.threads > 0 ? config.threads : cpuBudget().usable);
    PlainExecutionGuard plain;
    BlasThreadsGuard blas(1); // small matrices: LibTorch's threads do better alone
    torch::manual_seed(config.seed);
    auto maskGenerator = at::detail::createCPUGenerator(config.seed + 7919);
    auto module = buildModel(config);
    module.train(true);
    std::vector<torch::Tensor> params;
    std::vector<bool> decay;
    for (const auto &p : module.named_parameters()) {
        params.push_back(p.value.set_requires_grad(true));
        const bool embedding = p.name == "cls_token" || p.name == "pos_embed";
        // A Flipout layer's rho sets its weights' spread: decay would push it to softplus(0).
        const bool spread = p.name.size() >= 4 && p.name.compare(p.name.size() - 4, 4, "_rho") == 0;
        decay.push_back(p.value.dim() >= 2 && !embedding && !spread);
    }
    AdamW optimizer(params, decay);
    const int64_t n = data.trainX.size(0);
    const bool bayesian = config.arch == Arch::Cnn && config.cnn.flipout;
    const int64_t batches = (n + config.batch - 1) / config.batch;
    const int64_t totalSteps = batches * config.epochs;
    int64_t step = 0;
    for (int epoch = 1; epoch <= config.epochs; ++epoch) {
        auto order = torch::randperm(n);
        double lossSum = 0.0;
        int64_t correct = 0;
        for (int64_t b = 0; b < batches; ++b, ++step) {
            ctx.throwIfCancelled();
            auto idx = order.slice(0, b * config.batch, std::min(n, (b + 1) * config.batch));
            auto x = normalise(data.trainX.index_select(0, idx), data);
            auto y = data.trainY.index_select(0, idx);
            const bool guided = config.saliencyGuided > 0;
            std::vector<torch::Tensor> runningStats;
            if (guided)
                x.requires_grad_(true);
            Output out = run(module, config, x, y);
            auto loss = at::cross_entropy_loss(out.logits, y);
            if (out.extraLoss.defined())
                loss = loss + out.extraLoss;
            if (bayesian) // the ELBO: cross-entropy + KL(q || prior) per training image
                loss = loss + module.get_method("kl")({}).toTensor().sum() *
                                  (config.elboWeight / double(n));
            if (guided) {
                // Saliency-guided training: the gradient of the true class w.r.t. the input
                // decides which features are masked; the masked input's prediction must stay
                // close (KL) to the original's.
                auto target = out.logits.gather(1, y.unsqueeze(1)).sum();
                auto grad = torch::autograd::grad({target}, {x}, {}, /*retain_graph=*/true)[0];
                auto masked = saliencyGuidedMask(x, grad, config.saliencyGuided, maskGenerator);
                // Masked inputs are noise by design: they must not move batch-norm running
                // statistics, which evaluation uses (measured: 85.8% instead of ~91%). The
                // buffers are put back after the backward pass, which still needs them as saved.
                for (const auto &b : module.buffers())
                    runningStats.push_back(b.clone());
                auto maskedLogits = run(module, config, masked, y).logits;
                auto logP = torch::log_softmax(out.logits, 1);
                auto logQ = torch::log_softmax(maskedLogits, 1);
                auto kl = (logP.exp() * (logP - logQ)).sum(1).mean();
                loss = loss + kl * config.klWeight;
            }
            optimizer.zeroGrad();
            loss.backward();
            if (!runningStats.empty()) {
                torch::NoGradGuard noGrad;
                size_t i = 0;
                for (auto b : module.buffers())
                    b.copy_(runningStats[i++]);
            }
            optimizer.step(learningRate(config, step, totalSteps), config.weightDecay);
            lossSum += loss.item<double>() * double(idx.size(0));
            correct += out.logits.argmax(1).eq(y).sum().item<int64_t>();
            const int64_t seen = std::min(n, (b + 1) * config.batch);
            report.trainAccuracy = double(correct) / double(seen);
            ctx.report(
                double(step + 1) / double(totalSteps),
                stepMessage(epoch, config.epochs, lossSum / double(seen), report.trainAccuracy));
        }
    }
    module.eval();
    for (auto p : module.parameters())
        p.set_requires_grad(false);
    report.testAccuracy = accuracy(module, data);
    report.trainImages = size_t(n);
    report.testImages = size_t(data.testX.size(0));
    report.trainSeconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return module;
}

ModelCard trainedModelCard(const TrainingData &data, const TrainConfig &config)
{
    ModelCard card;
    card.name = config.displayName;
    card.family = archName(config.arch);
    std::ostringstream what;
    what << (config.arch == Arch::Vit ? "Vision transformer"
             : config.arch == Arch::Groups
                 ? (config.groups.additive ? "Additive feature-group model (exact Shapley values "
                                             "and interactions: exact_shapley, "
                                             "exact_interactions)"
                                           : "Interpretable-by-design feature-group model")
                 : "Small CNN")
         << " trained by heatlens-cli on " << data.source << " (seed " << config.seed << ", "
         << config.epochs << " epochs";
    if (config.saliencyGuided > 0)
        what << ", saliency-guided: k = " << config.saliencyGuided * 100
             << "%, lambda = " << config.klWeight;
    if (config.arch == Arch::Cnn && config.cnn.flipout)
        what << ", Bayesian: Flipout layers, prior N(0, " << config.cnn.priorSigma
             << "^2), ELBO KL weight " << config.elboWeight;
    what << ")";
    card.description = what.str();
    card.inputChannels = config.inputChannels();
    card.inputHeight = card.inputWidth = config.inputSize();
    card.mean = data.mean;
    card.std = data.std;
    const int classes = int(data.trainY.max().item<int64_t>()) + 1;
    card.labels = data.classNames;
    if (int(card.labels.size()) < classes) {
        card.labels.clear();
        for (int i = 0; i < classes; ++i)
            card.labels.push_back("class " + std::to_string(i));
    }
    switch (config.arch) {
    case Arch::Cnn:
        card.camLayer = "features.block" + std::to_string(config.cnn.widths.size());
        break;
    case Arch::Vit:
        card.camLayer = "blocks." + std::to_string(config.vit.depth - 1) + ".norm1";
        for (int i = 0; i < config.vit.depth; ++i)
            card.attention.push_back("blocks." + std::to_string(i) + ".attn.softmax");
        card.patchGridHeight = card.patchGridWidth = config.vit.grid();
        card.clsToken = 0;
        break;
    case Arch::Groups:
        card.groupGridRows = card.groupGridCols = config.groups.grid;
        card.groupPairs = config.groups.pairs();
        // The additive model has no gate shares: its exact answers are exact_shapley and
        // exact_interactions against a baseline.
        card.groupMethod = config.groups.additive ? "" : "group_attributions";
        break;
    }
    return card;
}

std::string recipeText(const TrainConfig &c, int ensembleMembers)
{
    std::ostringstream out;
    out.precision(6);
    out << "v3 " << archName(c.arch);
    switch (c.arch) {
    case Arch::Cnn:
        out << " widths";
        for (int w : c.cnn.widths)
            out << "-" << w;
        out << " hidden " << c.cnn.hidden << " dropout " << c.cnn.dropout;
        if (c.cnn.flipout)
            out << " flipout prior " << c.cnn.priorSigma << " elbo " << c.elboWeight;
        break;
    case Arch::Vit:
        out << " patch " << c.vit.patch << " dim " << c.vit.dim << " depth " << c.vit.depth
            << " heads " << c.vit.heads << " mlp " << c.vit.mlpRatio << " dropout "
            << c.vit.dropout;
        break;
    case Arch::Groups:
        out << " grid " << c.groups.grid << " hidden " << c.groups.hidden << " expert-loss "
            << c.expertLoss << " pair-penalty " << c.pairPenalty;
        if (c.groups.additive)
            out << " additive";
        break;
    }
    out << " epochs " << c.epochs << " batch " << c.batch << " lr " << c.lr << " warmup "
        << c.warmup << " wd " << c.weightDecay << " seed " << c.seed << " limit " << c.limit;
    if (c.saliencyGuided > 0)
        out << " saliency-guided " << c.saliencyGuided << " kl " << c.klWeight;
    if (ensembleMembers > 1)
        out << " ensemble " << ensembleMembers;
    return out.str();
}

EnsembleReport trainEnsemble(const TrainingData &data, const TrainConfig &config, int count,
                             const std::string &dir, const JobContext &ctx)
{
    if (count < 1)
        throw std::invalid_argument("an ensemble needs at least one member");
    namespace fs = std::filesystem;
    const auto start = std::chrono::steady_clock::now();
    const fs::path target = fs::path(dir) / config.name;
    const fs::path staging = fs::path(dir) / ("." + config.name + ".partial");
    fs::create_directories(dir);
    fs::remove_all(staging);
    EnsembleReport report;
    EnsembleManifest manifest;
    manifest.name = config.displayName;
    manifest.description = std::to_string(count) + " members trained with seeds " +
                           std::to_string(config.seed) + ".." +
                           std::to_string(config.seed + uint64_t(count) - 1);
    std::vector<torch::jit::Module> modules;
    try {
        for (int i = 0; i < count; ++i) {
            TrainConfig member = config;
            member.seed = config.seed + uint64_t(i);
            member.name = "member-" + std::to_string(i + 1);
            member.displayName = config.displayName + " member " + std::to_string(i + 1);
            TrainReport r;
            auto sub = ctx.sub(double(i) / count, double(i + 1) / count,
                               "member " + std::to_string(i + 1) + "/" + std::to_string(count));
            auto module = trainModel(data, member, sub, r);
            saveModel(module, trainedModelCard(data, member), staging.string(), member.name, r);
            r.modelPath = (target / (member.name + ".pt")).string();
            r.cardPath = (target / (member.name + ".json")).string();
            manifest.members.push_back(member.name + ".pt");
            modules.push_back(module);
            report.members.push_back(r);
        }
        writeEnsembleManifest(staging.string(), manifest);
        fs::remove_all(target);
        fs::rename(staging, target);
    } catch (...) {
        std::error_code ec;
        fs::remove_all(staging, ec);
        throw;
    }
    auto ensemble = composeEnsemble(modules);
    report.testAccuracy = accuracy(ensemble, data);
    report.manifestPath = (target / kEnsembleManifestName).string();
    report.trainSeconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

void saveModel(const torch::jit::Module &module, const ModelCard &card, const std::string &dir,
               const std::string &name, TrainReport &report)
{
    std::filesystem::create_directories(dir);
    const auto modelPath = (std::filesystem::path(dir) / (name + ".pt")).string();
    const auto cardPath = (std::filesystem::path(dir) / (name + ".json")).string();
    const auto tmp = temporarySiblingPath(modelPath);
    try {
        module.save(tmp);
    } catch (const std::exception &e) {
        std::remove(tmp.c_str());
        throw std::runtime_error("cannot write " + modelPath + ": " + e.what());
    }
    writeTextAtomically(cardPath, modelCardToJson(card));
    commitTemporary(tmp, modelPath); // the model last: its presence means "complete"
    report.modelPath = modelPath;
    report.cardPath = cardPath;
}

} // namespace heatlens
