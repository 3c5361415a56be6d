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
    R"(usage: heatlens-cli train --dataset D --out DIR [--arch cnn] [--epochs N] [--batch N]
                         [--lr X] [--seed N] [--dropout P] [--name NAME] [--limit N]
                         [--test-limit N] [--threads N] [--force]

Trains the demo CNN with LibTorch on D (Fashion-MNIST IDX files or an image folder) and saves
DIR/NAME.pt (TorchScript, loadable by torch.jit.load) with its model card DIR/NAME.json.
Held out for the reported accuracy: the IDX test split, else 10% of the images.
Ctrl-C stops without writing anything. An existing model is kept unless --force.
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
    TrainConfig c;
    c.epochs = args.intValue("epochs", c.epochs);
    c.batch = args.intValue("batch", c.batch);
    c.lr = args.doubleValue("lr", c.lr);
    c.seed = uint64_t(args.intValue("seed", int(c.seed)));
    c.cnn.dropout = args.doubleValue("dropout", c.cnn.dropout);
    c.limit = size_t(args.intValue("limit", 0));
    c.testLimit = size_t(args.intValue("test-limit", 0));
    c.threads = args.intValue("threads", 0);
    c.name = args.value("name", c.name);
    if (args.has("widths")) {
        c.cnn.widths = parseWidths(args.value("widths"));
        c.cnn.pool.assign(c.cnn.widths.size(), true);
        if (c.cnn.widths.size() > 2)
            c.cnn.pool.back() = false;
    }
    if (c.epochs < 1 || c.batch < 1 || c.lr <= 0 || c.cnn.dropout < 0 || c.cnn.dropout >= 1)
        throw UsageError("epochs and batch must be >= 1, lr > 0, dropout in [0, 1)");
    if (args.value("arch", "cnn") != "cnn")
        throw UsageError("--arch " + args.value("arch") + " is not available yet (only cnn)");
    return c;
}

} // namespace

int runTrain(const std::vector<std::string> &argv)
{
    Args args(argv,
              {"dataset", "out", "arch", "epochs", "batch", "lr", "seed", "dropout", "name",
               "limit", "test-limit", "threads", "widths"},
              {"force", "help"});
    if (args.has("help")) {
        std::cout << kUsage;
        return 0;
    }
    const TrainConfig config = trainConfig(args);
    const std::string out = args.required("out");
    const auto target = std::filesystem::path(out) / (config.name + ".pt");
    if (std::filesystem::exists(target) && !args.has("force"))
        throw std::runtime_error(target.string() + " already exists; use --force to replace it");
    auto dataset = openDataset(args.required("dataset"));
    for (const auto &w : dataset->warnings())
        std::cerr << "warning: " << w << "\n";
    TrainReport report;
    TerminalProgress progress("train " + config.name);
    auto module = trainCnn(*dataset, config, progress.context(interruptToken()), report);
    progress.finish();
    saveModel(module, demoCnnCard(*dataset, config), out, config.name, report);
    std::cout << "test accuracy " << report.testAccuracy * 100.0 << "% on " << report.testImages
              << " held-out images; trained on " << report.trainImages << " images in "
              << report.trainSeconds << " s\nwrote " << report.modelPath << "\n      "
              << report.cardPath << "\n";
    return 0;
}

} // namespace heatlens::cli
