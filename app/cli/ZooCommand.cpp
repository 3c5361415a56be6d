#include "Args.h"
#include "Commands.h"
#include "TerminalProgress.h"

#include "core/model/Zoo.h"

#include <iostream>

namespace heatlens::cli {

int runZoo(const std::vector<std::string> &argv)
{
    Args args(argv, {}, {"help"});
    if (args.has("help")) {
        std::cout << "usage: heatlens-cli zoo\n\nTrains the demo models that are missing (or were "
                     "trained with another recipe) into\n"
                  << zooDirectory() << " ($HEATLENS_ZOO overrides), on " << demoDatasetPath()
                  << ".\nRe-running it skips what exists.\n";
        return 0;
    }
    TerminalProgress progress("zoo");
    auto entries = ensureZoo(progress.context(interruptToken()));
    progress.finish();
    for (const auto &e : entries) {
        if (e.trained)
            std::cout << e.name << ": trained in " << e.seconds << " s, test accuracy "
                      << e.accuracy * 100.0 << "%\n";
        else
            std::cout << e.name << ": up to date\n";
        std::cout << "  " << demoModelPath(e.name) << "\n";
    }
    return 0;
}

} // namespace heatlens::cli
