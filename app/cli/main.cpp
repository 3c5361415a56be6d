#include "Args.h"
#include "Commands.h"

#include "core/jobs/CancelToken.h"

#include "core/model/Threads.h"
#include "core/model/TorchRuntime.h"

#include <c10/util/Exception.h>

#include <iostream>

namespace {

const char *kUsage = R"(usage: heatlens-cli <command> [options]

Commands:
  explain        explain one image with one method; writes overlay PNG, raw map .npy, JSON
  evaluate       faithfulness over a dataset: deletion/insertion, ROAD, accuracy drop, sanity
                 checks, localisation; per-image CSV, summary JSON with 95% intervals, plots
  compare        agreement of explanations across models and methods over a dataset: pair
                 CSV, summary JSON with 95% intervals, matrix and histogram figures
  uncertainty    explanation uncertainty: any method under MC dropout, DropConnect, ensembles,
                 Flipout, test-time augmentation or input noise; mean/std/CV maps, banded
                 curves, sanity of the std map; over a dataset: per-image CSV and summary
  interactions   group attributions and pairwise interactions of superpixels, grid cells or
                 tokens: exact (p <= 20) or estimated with a budget of model calls
  figure         a publication figure of any view (explain, grid, curves, sanity, uncertainty,
                 groups) as PNG, SVG and PDF, sized in millimetres for a journal column
  merge          combine the shard folders of a dataset run (explain --shard I/N, Slurm array
                 or Kubernetes indexed job) into the files of one run
  train          train the demo CNN on Fashion-MNIST (or an image folder) with LibTorch
  inspect        print a model's card and module tree
  zoo            train the demo models once (cached; skips what exists)
  --list-methods list attribution methods and their parameters
  --help         this text; "heatlens-cli <command> --help" for a command's options

explain, evaluate, compare, uncertainty and inspect also take --threads N: intra-op threads (default: one
per CPU this process may use, from its affinity and cgroup quota). train and zoo have their
own --threads (see their --help).
)";

// The first non-empty line: LibTorch messages carry backtraces and source excerpts after it.
std::string firstLine(const std::string &text)
{
    size_t begin = text.find_first_not_of("\n ");
    if (begin == std::string::npos)
        return text;
    return text.substr(begin, text.find('\n', begin) - begin);
}

// Removes "--threads N" (or --threads=N) from the arguments of the engine commands; 0 when
// absent. train and zoo keep theirs: it sets how their trainer runs.
int takeThreads(const std::string &command, std::vector<std::string> &args)
{
    if (command == "train" || command == "zoo")
        return 0;
    int threads = 0;
    for (size_t i = 0; i < args.size(); ++i) {
        std::string value;
        if (args[i] == "--threads") {
            if (i + 1 >= args.size())
                throw heatlens::cli::UsageError("--threads needs a value");
            value = args[i + 1];
            args.erase(args.begin() + long(i), args.begin() + long(i) + 2);
        } else if (args[i].rfind("--threads=", 0) == 0) {
            value = args[i].substr(10);
            args.erase(args.begin() + long(i));
        } else {
            continue;
        }
        size_t used = 0;
        try {
            threads = std::stoi(value, &used);
        } catch (const std::exception &) {
            used = 0;
        }
        if (used != value.size() || threads < 1 || threads > 1024)
            throw heatlens::cli::UsageError(
                "--threads must be a whole number in [1, 1024], got \"" + value + "\"");
        --i;
    }
    return threads;
}

int dispatch(const std::string &command, std::vector<std::string> rest)
{
    heatlens::configureThreads(takeThreads(command, rest));
    using namespace heatlens::cli;
    if (command == "explain")
        return runExplain(rest);
    if (command == "evaluate")
        return runEvaluate(rest);
    if (command == "compare")
        return runCompare(rest);
    if (command == "uncertainty")
        return runUncertainty(rest);
    if (command == "interactions")
        return runInteractions(rest);
    if (command == "figure")
        return runFigure(rest);
    if (command == "merge")
        return runMerge(rest);
    if (command == "train")
        return runTrain(rest);
    if (command == "zoo")
        return runZoo(rest);
    if (command == "inspect")
        return runInspect(rest);
    if (command == "--list-methods" || command == "list-methods")
        return runListMethods();
    if (command == "--help" || command == "-h" || command == "help") {
        std::cout << kUsage;
        return 0;
    }
    throw UsageError("unknown command \"" + command + "\" (try heatlens-cli --help)");
}

} // namespace

// Called by the heatlens-cli launcher (app/launch), which sets the OpenMP environment first.
extern "C" __attribute__((visibility("default"))) int heatlens_main(int argc, char **argv)
{
    heatlens::configureProcessForTensors();
    if (argc < 2) {
        std::cerr << kUsage;
        return 2;
    }
    try {
        return dispatch(argv[1], std::vector<std::string>(argv + 2, argv + argc));
    } catch (const heatlens::cli::UsageError &e) {
        std::cerr << "heatlens-cli: " << e.what() << "\n";
        return 2;
    } catch (const heatlens::Cancelled &) {
        std::cerr << "heatlens-cli: cancelled; nothing was written\n";
        return 130;
    } catch (const c10::Error &e) {
        std::cerr << "heatlens-cli: " << firstLine(e.what_without_backtrace()) << "\n";
        return 1;
    } catch (const std::exception &e) {
        std::cerr << "heatlens-cli: " << firstLine(e.what()) << "\n";
        return 1;
    }
}
