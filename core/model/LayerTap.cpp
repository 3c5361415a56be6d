#include "core/model/LayerTap.h"

#include "core/model/TorchRuntime.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/remove_mutation.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace heatlens {

namespace {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

// "features.block1.conv" for a node inlined from that submodule's methods; "" at top level.
std::string modulePath(const Node *node)
{
    auto callstack = node->callstack();
    if (!callstack)
        return {};
    std::string path;
    for (const auto &entry : (*callstack)->vec()) {
        const auto &info = std::get<2>(entry);
        if (!info || info->instance_name() == "SELF")
            continue;
        path += path.empty() ? info->instance_name() : "." + info->instance_name();
    }
    return path;
}

bool within(const std::string &path, const std::string &scope)
{
    return path == scope ||
           (path.size() > scope.size() && path.compare(0, scope.size(), scope) == 0 &&
            path[scope.size()] == '.');
}

bool isTensor(const Value *v)
{
    return v->type()->cast<c10::TensorType>() != nullptr;
}

// The callee of a prim::CallMethod / prim::CallFunction node, or null.
torch::jit::GraphFunction *calleeOf(Node *node)
{
    torch::jit::Function *fn = nullptr;
    if (node->kind() == c10::prim::CallMethod) {
        if (auto type = node->input(0)->type()->cast<c10::ClassType>())
            fn = &type->getMethod(node->s(c10::attr::name));
    } else if (node->kind() == c10::prim::CallFunction) {
        if (auto type = node->input(0)->type()->cast<c10::FunctionType>())
            fn = type->function();
    }
    return fn ? torch::jit::tryToGraphFunction(*fn) : nullptr;
}

// "blocks.0" for a method called on self.blocks[0] (a ModuleList iterated in the caller): the
// GetAttr chain from the caller's self. The call stack would record only the last name ("0").
std::string calledInstance(const Node *call)
{
    std::string path;
    for (const Value *v = call->input(0); v->node()->kind() == c10::prim::GetAttr;
         v = v->node()->input(0)) {
        const std::string name = v->node()->s(c10::attr::name);
        path = path.empty() ? name : name + "." + path;
    }
    return path;
}

// Inlines every call, innermost first, from the callees' own (unoptimised) graphs. Unlike
// torch::jit::Inline, which splices in cached optimised graphs and loses the caller's module
// path when those were made without inlining, every node ends with its full module path.
void inlineAll(torch::jit::Block *block)
{
    for (auto it = block->nodes().begin(); it != block->nodes().end();) {
        Node *node = *it++;
        for (auto *sub : node->blocks())
            inlineAll(sub);
        torch::jit::GraphFunction *callee = calleeOf(node);
        if (!callee)
            continue;
        auto body = callee->graph()->copy();
        inlineAll(body->block());
        if (node->kind() == c10::prim::CallFunction)
            node->removeInput(0); // the function constant
        // The call stack names the callee's module after the GetAttr producing it: a temporary
        // GetAttr named with the whole chain makes that "blocks.0" rather than "0".
        const std::string instance =
            node->kind() == c10::prim::CallMethod ? calledInstance(node) : std::string();
        Node *alias = nullptr;
        if (instance.find('.') != std::string::npos) {
            Value *self = node->input(0);
            alias = node->owningGraph()->create(c10::prim::GetAttr, {self});
            alias->s_(c10::attr::name, instance);
            alias->output()->setType(self->type());
            alias->insertBefore(node);
            node->replaceInput(0, alias->output());
        }
        torch::jit::inlineCallTo(node, callee, body.get());
        if (alias) {
            alias->output()->replaceAllUsesWith(alias->input(0));
            alias->destroy();
        }
    }
}

std::shared_ptr<Graph> inlinedForward(const torch::jit::Module &module)
{
    auto method = module.find_method("forward");
    if (!method)
        throw std::invalid_argument("the model has no forward method");
    auto graph = method->graph()->copy();
    inlineAll(graph->block());
    try {
        // Functional ops, so that a tapped value is not overwritten by a later in-place op.
        torch::jit::RemoveTensorMutation(graph);
    } catch (const std::exception &) {
        // Keep the graph as it is: correct values, only less isolated from in-place ops.
    }
    return graph;
}

// For each top-level node's module path, every prefix ("a", "a.b", "a.b.c") owns it.
// Returns, per module path, the last tensor value produced inside the scope and used outside.
std::map<std::string, Value *> scopeOutputs(Graph &graph)
{
    std::unordered_map<const Node *, std::string> paths;
    for (Node *node : graph.nodes())
        paths[node] = modulePath(node);
    std::map<std::string, Value *> outputs;
    for (Node *node : graph.nodes()) {
        const std::string &path = paths[node];
        for (size_t cut = 0; cut != std::string::npos && !path.empty();) {
            cut = path.find('.', cut + 1);
            const std::string scope = path.substr(0, cut);
            for (Value *out : node->outputs()) {
                if (!isTensor(out))
                    continue;
                bool escapes = false;
                for (const auto &use : out->uses()) {
                    const Node *user = use.user;
                    while (user->owningBlock() != graph.block())
                        user = user->owningBlock()->owningNode();
                    if (user == graph.return_node() || !within(paths[user], scope))
                        escapes = true;
                }
                if (escapes)
                    outputs[scope] = out;
            }
        }
    }
    return outputs;
}

int depthOf(const std::string &path)
{
    return int(std::count(path.begin(), path.end(), '.'));
}

} // namespace

LayerTap::LayerTap(const torch::jit::Module &module, const std::vector<std::string> &layerPaths)
    : m_module(module)
    , m_paths(layerPaths)
{
    auto graph = inlinedForward(module);
    auto outputs = scopeOutputs(*graph);
    std::vector<Value *> values{graph->outputs().at(0)};
    for (const auto &path : layerPaths) {
        auto it = outputs.find(path);
        if (it == outputs.end()) {
            bool exists = false;
            for (const auto &sub : module.named_modules())
                exists = exists || sub.name == path;
            throw std::invalid_argument(
                exists ? "layer \"" + path +
                             "\": its output could not be located in forward's "
                             "graph (computed inside control flow or unused)"
                       : "layer \"" + path + "\" is not a submodule of the model");
        }
        values.push_back(it->second);
    }
    torch::jit::WithInsertPoint guard(graph->return_node());
    Value *tuple = graph->insertNode(graph->createTuple(values))->output();
    graph->eraseOutput(0);
    graph->registerOutput(tuple);
    m_function =
        std::make_shared<torch::jit::GraphFunction>("heatlens_tapped_forward", graph, nullptr);
}

LayerTap::~LayerTap() = default;

LayerTap::Output LayerTap::run(const torch::Tensor &input) const
{
    PlainExecutionGuard plain;
    torch::jit::Stack stack{m_module._ivalue(), input};
    m_function->run(stack);
    auto elements = stack.at(0).toTupleRef().elements();
    Output out;
    out.logits = elements.at(0).toTensor();
    for (size_t i = 1; i < elements.size(); ++i)
        out.taps.push_back(elements[i].toTensor());
    return out;
}

std::vector<std::string> LayerTap::tappableLayers(const torch::jit::Module &module)
{
    auto graph = inlinedForward(module);
    auto outputs = scopeOutputs(*graph);
    std::unordered_map<const Value *, size_t> order;
    size_t index = 0;
    for (Node *node : graph->nodes())
        for (Value *out : node->outputs())
            order[out] = index++;
    std::vector<std::string> paths;
    for (const auto &entry : outputs)
        paths.push_back(entry.first);
    std::stable_sort(paths.begin(), paths.end(), [&](const auto &a, const auto &b) {
        const size_t oa = order[outputs[a]], ob = order[outputs[b]];
        return oa != ob ? oa < ob : depthOf(a) < depthOf(b);
    });
    return paths;
}

} // namespace heatlens
