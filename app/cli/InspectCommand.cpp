#include "Args.h"
#include "Commands.h"

#include "core/explain/MethodRegistry.h"
#include "core/model/Model.h"
#include "core/model/Threads.h"
#include "core/model/TorchRuntime.h"

#include <iostream>

namespace heatlens::cli {

namespace {

std::string typeName(ParamType type)
{
    switch (type) {
    case ParamType::Bool:
        return "bool";
    case ParamType::Int:
        return "int";
    case ParamType::Double:
        return "number";
    case ParamType::Choice:
        return "choice";
    case ParamType::Layer:
        return "layer";
    }
    return "?";
}

void printParam(const ParamSpec &p)
{
    std::cout << "    " << p.name << " (" << typeName(p.type) << ", default "
              << paramValueText(p.defaultValue);
    if (p.type == ParamType::Int || p.type == ParamType::Double)
        std::cout << ", " << p.min << ".." << p.max;
    if (p.type == ParamType::Choice) {
        std::cout << ", one of";
        for (const auto &c : p.choices)
            std::cout << " " << c;
    }
    std::cout << "): " << p.help << "\n";
}

} // namespace

int runListMethods()
{
    auto print = [](const Method &m) {
        std::cout << m.id() << "  [" << m.family() << "]  " << m.name() << ": " << m.description()
                  << "\n";
        for (const auto &p : m.params())
            printParam(p);
    };
    for (const auto &m : MethodRegistry::instance().methods())
        print(*m);
    std::cout << "\nControls (not explanations; for evaluate and the curves):\n";
    for (const auto &m : MethodRegistry::instance().controls())
        print(*m);
    return 0;
}

int runInspect(const std::vector<std::string> &argv)
{
    Args args(argv, {"model"}, {"help"});
    if (args.has("help")) {
        std::cout << "usage: heatlens-cli inspect --model M\n\nM: a TorchScript file or an "
                     "ensemble folder. Prints the model card as Heatlens "
                     "completed it, and the module tree (layers for CAM methods).\n";
        return 0;
    }
    auto model = Model::load(args.required("model"));
    std::cout << modelCardToJson(model->card());
    if (model->isEnsemble()) {
        std::cout << "deep ensemble of " << model->members().size()
                  << " members (output: log of their mean probability):\n";
        for (const auto &member : model->members())
            std::cout << "  " << member->path() << "\n";
    }
    if (model->hasGroupAttributions())
        std::cout << "feature-group model: " << model->card().groupGridRows << " x "
                  << model->card().groupGridCols << " groups, " << model->card().groupPairs.size()
                  << " pairs; exact attributions from " << model->card().groupMethod << "(x)\n";
    for (const auto &w : model->warnings())
        std::cout << "warning: " << w << "\n";
    std::cout << "default CAM layer: " << model->defaultCamLayer() << "\n";
    const auto attention = model->attentionLayers();
    std::cout << "attention taps (transformer methods): "
              << (attention.empty() ? std::string("none") : std::to_string(attention.size()))
              << "\n";
    for (const auto &tap : attention)
        std::cout << "  " << tap << "\n";
    std::cout << "forward-only methods run on: " << model->inferenceCopyStatus() << "\n";
    std::cout << "gradient batches run on: " << model->gradientCopyStatus() << "\n";
    std::cout << "threads: " << currentThreadSettings().describe() << "; " << cpuBudget().describe()
              << "\n"
              << describeMallocPages() << "\nlayers:\n";
    for (const auto &layer : model->layers())
        std::cout << std::string(size_t(2 + 2 * layer.depth), ' ') << layer.path << "  ("
                  << layer.type << ")\n";
    return 0;
}

} // namespace heatlens::cli
