#include "Args.h"
#include "Commands.h"
#include "TerminalProgress.h"

#include "core/model/Trainer.h"

#include <filesystem>
#include <iostream>
#include <sstream>

namespace heatlens::cli {

namespace {

const char *kUsage =
    R"(usage: heatlens-cli train --dataset D --out DIR [--arch cnn|vit|groups] [--epochs N]
                         [--batch N] [--lr X] [--seed N] [--dropout P]
                         [--saliency-guided K] [--kl-weight L] [--ensemble N]
                         [--flipout [--prior-sigma S] [--elbo-weight W]]
                         [--weight-decay X] [--warmup F] [--patch P --dim D --depth N
                         --heads H] [--name NAME] [--limit N]
                         [--test-limit N] [--threads N] [--force]

Trains a model with LibTorch on D (Fashion-MNIST IDX files or an image folder) and saves
DIR/NAME.pt (TorchScript, loadable by torch.jit.load) with its model card DIR/NAME.json.

  --arch cnn       small CNN (conv blocks + dropout classifier; default)
  --arch vit       vision transformer: 7x7 patches (4x4 tokens), CLS token, pre-norm blocks whose
                   attention probabilities are blocks.N.attn.softmax
  --arch groups    interpretable-by-design feature-group model (Afchar & Hennequin 2020):
                   one expert per 7x7 patch and per adjacent pair, exact attributions from
                   its group_attributions(x) method; --pair-penalty P (default 0.1)
                   prices the pairs' total weight so interactions are used where they pay;
                   --additive sums the experts instead (f = groups + pair residuals), whose
                   exact Shapley values and interactions follow in closed form
  --saliency-guided K   saliency-guided training (Ismail et al. 2021): mask the fraction K
                   (e.g. 0.5) of features with the smallest gradient and add
                   --kl-weight L (default 1) times KL(f(x) || f(x_masked)) to the loss
  --flipout        Bayesian CNN (Wen et al. 2018): every convolution and linear layer holds
                   mean-field Gaussian weights trained by the ELBO, cross-entropy + W (default
                   1) x KL(q || N(0, S^2)) / N, S = --prior-sigma (default 0.1); the saved
                   model is the mean network, and Heatlens' flipout uncertainty source draws
                   its weights (demo-cnn-flipout in the zoo)
  --ensemble N     train N members with seeds SEED..SEED+N-1, saved as the folder DIR/NAME
                   with an ensemble.json manifest; Heatlens opens the folder as one model
  --threads N      intra-op threads (default: all cores)

Defaults depend on --arch (the demo zoo's recipes). Held out for the reported accuracy: the
IDX test split, else 10% of the images. Ctrl-C stops without writing anything (files are
written under temporary names and renamed at the end). An existing model is kept unless --force.
)";

std::vector<int> parseWidths(const std::string &text)
{
    std::vector<int> widths;
    std::stringstream in(text);
    for (std::string item; std::getline(in, item, ',');)
        widths.push_back(std::stoi(item));
    return widths;
}

TrainConfig trainConfig(const Args &args)
{
    Arch arch;
    try {
        arch = parseArch(args.value("arch", "cnn"));
    } catch (const std::invalid_argument &e) {
        throw UsageError(e.what());
    }
    TrainConfig c = defaultTrainConfig(arch);
    c.epochs = args.intValue("epochs", c.epochs);
    c.batch = args.intValue("batch", c.batch);
    c.lr = args.doubleValue("lr", c.lr);
    c.seed = uint64_t(args.intValue("seed", int(c.seed)));
    if (args.has("dropout")) {
        const double p = args.doubleValue("dropout", 0.0);
        if (p < 0 || p >= 1)
            throw UsageError("--dropout must be in [0, 1)");
        c.setDropout(p);
    }
    c.saliencyGuided = args.doubleValue("saliency-guided", c.saliencyGuided);
    c.klWeight = args.doubleValue("kl-weight", c.klWeight);
    if (args.has("additive") && arch != Arch::Groups)
        throw UsageError("--additive applies to --arch groups only");
    c.groups.additive = args.has("additive");
    for (const char *option : {"flipout", "prior-sigma", "elbo-weight"})
        if (args.has(option) && arch != Arch::Cnn)
            throw UsageError(std::string("--") + option + " applies to --arch cnn only");
    c.cnn.flipout = args.has("flipout");
    c.cnn.priorSigma = args.doubleValue("prior-sigma", c.cnn.priorSigma);
    c.elboWeight = args.doubleValue("elbo-weight", c.elboWeight);
    if (c.cnn.priorSigma <= 0 || c.elboWeight < 0)
        throw UsageError("--prior-sigma must be > 0 and --elbo-weight >= 0");
    c.weightDecay = args.doubleValue("weight-decay", c.weightDecay);
    c.warmup = args.doubleValue("warmup", c.warmup);
    if (args.has("pair-penalty") && arch != Arch::Groups)
        throw UsageError("--pair-penalty applies to --arch groups only");
    c.pairPenalty = args.doubleValue("pair-penalty", c.pairPenalty);
    c.limit = size_t(args.intValue("limit", 0));
    c.testLimit = size_t(args.intValue("test-limit", 0));
    c.threads = args.intValue("threads", 0);
    if (!args.has("name")) {
        c.name = "model-" + archName(arch);
        if (c.saliencyGuided > 0)
            c.name += "-sg";
        if (c.cnn.flipout)
            c.name += "-flipout";
    }
    c.name = args.value("name", c.name);
    c.displayName = c.name;
    if (args.has("widths")) {
        if (arch != Arch::Cnn)
            throw UsageError("--widths applies to --arch cnn only");
        c.cnn.widths = parseWidths(args.value("widths"));
        c.cnn.pool.assign(c.cnn.widths.size(), true);
        if (c.cnn.widths.size() > 2)
            c.cnn.pool.back() = false;
    }
    for (const char *option : {"patch", "dim", "depth", "heads"})
        if (args.has(option) && arch != Arch::Vit)
            throw UsageError(std::string("--") + option + " applies to --arch vit only");
    c.vit.patch = args.intValue("patch", c.vit.patch);
    c.vit.dim = args.intValue("dim", c.vit.dim);
    c.vit.depth = args.intValue("depth", c.vit.depth);
    c.vit.heads = args.intValue("heads", c.vit.heads);
    if (c.vit.patch < 1 || c.vit.inputSize % c.vit.patch != 0 || c.vit.heads < 1 ||
        c.vit.dim % c.vit.heads != 0 || c.vit.depth < 1)
        throw UsageError("--patch must divide 28, --dim be a multiple of --heads, --depth >= 1");
    if (c.epochs < 1 || c.batch < 1 || !(c.lr > 0))
        throw UsageError("--epochs and --batch must be >= 1 and --lr > 0");
    if (c.saliencyGuided < 0 || c.saliencyGuided >= 1)
        throw UsageError("--saliency-guided takes the masked fraction K in [0, 1), e.g. 0.5");
    if (c.klWeight < 0 || c.weightDecay < 0 || c.warmup < 0 || c.warmup >= 1)
        throw UsageError("--kl-weight and --weight-decay must be >= 0, --warmup in [0, 1)");
    return c;
}

} // namespace

int runTrain(const std::vector<std::string> &argv)
{
    Args args(argv, {"dataset",      "out",
                     "arch",         "epochs",
                     "batch",        "lr",
                     "seed",         "dropout",
                     "name",         "limit",
                     "test-limit",   "threads",
                     "widths",       "saliency-guided",
                     "kl-weight",    "ensemble",
                     "weight-decay", "warmup",
                     "patch",        "dim",
                     "depth",        "heads",
                     "pair-penalty", "prior-sigma",
                     "elbo-weight"},
              {"force", "help", "flipout", "additive"});
    if (args.has("help")) {
        std::cout << kUsage;
        return 0;
    }
    const TrainConfig config = trainConfig(args);
    const int members = args.intValue("ensemble", 1);
    if (members < 1)
        throw UsageError("--ensemble takes the number of members (>= 1)");
    const std::string out = args.required("out");
    const auto target = std::filesystem::path(out) / (config.name + (members > 1 ? "" : ".pt"));
    if (std::filesystem::exists(target) && !args.has("force"))
        throw std::runtime_error(target.string() + " already exists; use --force to replace it");
    auto dataset = openDataset(args.required("dataset"));
    for (const auto &w : dataset->warnings())
        std::cerr << "warning: " << w << "\n";
    TerminalProgress progress("train " + config.name);
    auto ctx = progress.context(interruptToken());
    auto data = loadTrainingData(*dataset, config, ctx.sub(0.0, 0.02));
    if (members > 1) {
        auto report = trainEnsemble(data, config, members, out, ctx.sub(0.02, 1.0));
        progress.finish();
        for (size_t i = 0; i < report.members.size(); ++i)
            std::cout << "member " << i + 1 << ": test accuracy "
                      << report.members[i].testAccuracy * 100.0 << "%, "
                      << report.members[i].trainSeconds << " s\n";
        std::cout << "ensemble test accuracy " << report.testAccuracy * 100.0 << "% on "
                  << data.testX.size(0) << " held-out images; trained in " << report.trainSeconds
                  << " s\nwrote " << report.manifestPath << "\n";
        return 0;
    }
    TrainReport report;
    auto module = trainModel(data, config, ctx.sub(0.02, 1.0), report);
    progress.finish();
    saveModel(module, trainedModelCard(data, config), out, config.name, report);
    std::cout << "test accuracy " << report.testAccuracy * 100.0 << "% on " << report.testImages
              << " held-out images; trained on " << report.trainImages << " images in "
              << report.trainSeconds << " s\nwrote " << report.modelPath << "\n      "
              << report.cardPath << "\n";
    return 0;
}

} // namespace heatlens::cli
