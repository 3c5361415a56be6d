#include "core/model/Trainer.h"

#include "core/io/AtomicFile.h"
#include "core/model/Preprocess.h"
#include "core/model/TorchRuntime.h"

#include <ATen/Parallel.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <thread>

namespace heatlens {

namespace {

constexpr float kMean = 0.2860f; // Fashion-MNIST pixel statistics
constexpr float kStd = 0.3530f;

struct Split
{
    torch::Tensor trainX, trainY, testX, testY; // uint8 images [N, C, H, W], int64 labels
};

bool isHeldOut(const std::string &id)
{
    return id.rfind("t10k/", 0) == 0 || id.rfind("test/", 0) == 0;
}

torch::Tensor imageTensor(const Dataset &dataset, size_t index, const CnnConfig &cnn)
{
    cv::Mat image = dataset.load(index).image;
    ModelCard card;
    card.inputChannels = cnn.inputChannels;
    card.inputHeight = card.inputWidth = cnn.inputSize;
    auto unit = preprocessImage(image, card, nullptr); // [1, C, H, W] in [0, 1]
    return (unit * 255.0f).round().to(torch::kUInt8);
}

std::vector<size_t> usable(const Dataset &dataset, bool heldOut, size_t limit)
{
    std::vector<size_t> indices;
    for (size_t i = 0; i < dataset.size() && (limit == 0 || indices.size() < limit); ++i)
        if (dataset.label(i) >= 0 && isHeldOut(dataset.sampleId(i)) == heldOut)
            indices.push_back(i);
    return indices;
}

std::pair<torch::Tensor, torch::Tensor>
gather(const Dataset &dataset, const std::vector<size_t> &indices, const CnnConfig &cnn)
{
    std::vector<torch::Tensor> images;
    std::vector<int64_t> labels;
    for (size_t i : indices) {
        try {
            images.push_back(imageTensor(dataset, i, cnn));
            labels.push_back(dataset.label(i));
        } catch (const SampleError &) {
            // Unreadable samples are skipped; the dataset already names them.
        }
    }
    if (images.empty())
        throw std::runtime_error(dataset.source() + ": no labelled images to train on");
    return {torch::cat(images), torch::tensor(labels)};
}

Split makeSplit(const Dataset &dataset, const TrainConfig &config)
{
    Split split;
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
    std::tie(split.trainX, split.trainY) = gather(dataset, train, config.cnn);
    std::tie(split.testX, split.testY) = gather(dataset, test, config.cnn);
    return split;
}

torch::Tensor normalise(const torch::Tensor &images)
{
    return (images.to(torch::kFloat32) / 255.0f - kMean) / kStd;
}

double accuracy(torch::jit::Module &module, const torch::Tensor &x, const torch::Tensor &y)
{
    torch::InferenceMode inference;
    int64_t correct = 0;
    for (int64_t begin = 0; begin < x.size(0); begin += 512) {
        auto end = std::min(x.size(0), begin + 512);
        auto logits = module.forward({normalise(x.slice(0, begin, end))}).toTensor();
        correct += logits.argmax(1).eq(y.slice(0, begin, end)).sum().item<int64_t>();
    }
    return double(correct) / double(x.size(0));
}

std::string epochMessage(int epoch, int epochs, double loss, double acc)
{
    std::ostringstream out;
    out.precision(3);
    out << "epoch " << epoch << "/" << epochs << "  loss " << loss << "  train acc " << acc;
    return out.str();
}

// Adam (Kingma & Ba 2015) with bias correction. Written out here rather than taken from
// torch/optim, whose headers pull in the whole C++ frontend and cost minutes of build time.
class Adam
{
public:
    explicit Adam(std::vector<torch::Tensor> params)
        : m_params(std::move(params))
    {
        for (const auto &p : m_params) {
            m_m.push_back(torch::zeros_like(p));
            m_v.push_back(torch::zeros_like(p));
        }
    }

    void step(double lr)
    {
        torch::NoGradGuard noGrad;
        ++m_t;
        const double c1 = 1.0 - std::pow(kBeta1, m_t), c2 = 1.0 - std::pow(kBeta2, m_t);
        for (size_t i = 0; i < m_params.size(); ++i) {
            const auto &g = m_params[i].grad();
            if (!g.defined())
                continue;
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
    int m_t = 0;
};

} // namespace

torch::jit::Module trainCnn(const Dataset &dataset, const TrainConfig &config,
                            const JobContext &ctx, TrainReport &report)
{
    const auto start = std::chrono::steady_clock::now();
    at::set_num_threads(config.threads > 0
                            ? config.threads
                            : int(std::max(1u, std::thread::hardware_concurrency())));
    PlainExecutionGuard plain;
    torch::manual_seed(config.seed);
    Split split = makeSplit(dataset, config);
    auto module = buildDemoCnn(config.cnn);
    module.train(true);
    std::vector<torch::Tensor> params;
    for (auto p : module.parameters())
        params.push_back(p.set_requires_grad(true));
    Adam optimizer(params);
    const int64_t n = split.trainX.size(0);
    const int64_t batches = (n + config.batch - 1) / config.batch;
    const int64_t totalSteps = batches * config.epochs;
    int64_t step = 0;
    for (int epoch = 1; epoch <= config.epochs; ++epoch) {
        auto order = torch::randperm(n);
        double lossSum = 0.0;
        int64_t correct = 0;
        for (int64_t b = 0; b < batches; ++b, ++step) {
            ctx.throwIfCancelled();
            // Cosine decay of the learning rate over all steps.
            const double lr = config.lr * 0.5 * (1.0 + std::cos(M_PI * double(step) / totalSteps));
            auto idx = order.slice(0, b * config.batch, std::min(n, (b + 1) * config.batch));
            auto x = normalise(split.trainX.index_select(0, idx));
            auto y = split.trainY.index_select(0, idx);
            auto logits = module.forward({x}).toTensor();
            auto loss = at::cross_entropy_loss(logits, y);
            optimizer.zeroGrad();
            loss.backward();
            optimizer.step(lr);
            lossSum += loss.item<double>() * double(idx.size(0));
            correct += logits.argmax(1).eq(y).sum().item<int64_t>();
            const int64_t seen = std::min(n, (b + 1) * config.batch);
            ctx.report(double(step + 1) / double(totalSteps),
                       epochMessage(epoch, config.epochs, lossSum / double(seen),
                                    double(correct) / double(seen)));
        }
    }
    module.eval();
    for (auto p : module.parameters())
        p.set_requires_grad(false);
    report.testAccuracy = accuracy(module, split.testX, split.testY);
    report.trainImages = size_t(n);
    report.testImages = size_t(split.testX.size(0));
    report.trainSeconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return module;
}

ModelCard demoCnnCard(const Dataset &dataset, const TrainConfig &config)
{
    ModelCard card;
    card.name = config.displayName;
    card.family = "cnn";
    card.description = "Small CNN trained by heatlens-cli train on " + dataset.source();
    card.inputChannels = config.cnn.inputChannels;
    card.inputHeight = card.inputWidth = config.cnn.inputSize;
    card.mean.assign(size_t(config.cnn.inputChannels), kMean);
    card.std.assign(size_t(config.cnn.inputChannels), kStd);
    card.labels = dataset.classNames();
    if (int(card.labels.size()) != config.cnn.classes) {
        card.labels.clear();
        for (int i = 0; i < config.cnn.classes; ++i)
            card.labels.push_back("class " + std::to_string(i));
    }
    card.camLayer = "features.block" + std::to_string(config.cnn.widths.size());
    return card;
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
