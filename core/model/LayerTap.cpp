#include "core/model/LayerTap.h"

#include "core/model/TorchRuntime.h"

#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/remove_mutation.h>
#include <torch/library.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace heatlens {

namespace {

// ReLU whose backward follows a ReluRule: forward values as torch::relu.
template<ReluRule Rule> struct RuleRelu : torch::autograd::Function<RuleRelu<Rule>>
{
    static torch::Tensor forward(torch::autograd::AutogradContext *ctx, const torch::Tensor &x)
    {
        ctx->save_for_backward({x});
        return torch::relu(x);
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                   torch::autograd::variable_list grads)
    {
        const auto x = ctx->get_saved_variables()[0];
        auto g = grads[0].clamp_min(0);
        if (Rule == ReluRule::Guided)
            g = g * (x > 0).to(g.scalar_type());
        return {g};
    }
};

torch::Tensor guidedRelu(const torch::Tensor &x)
{
    return RuleRelu<ReluRule::Guided>::apply(x);
}

torch::Tensor deconvRelu(const torch::Tensor &x)
{
    return RuleRelu<ReluRule::Deconv>::apply(x);
}

} // namespace

// Operators the rewritten graphs call; a catch-all kernel, so autograd records the custom
// function's backward.
TORCH_LIBRARY(heatlens, m)
{
    m.def("guided_relu(Tensor x) -> Tensor", guidedRelu);
    m.def("deconv_relu(Tensor x) -> Tensor", deconvRelu);
}

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

} // namespace

void inlineModuleCalls(torch::jit::Graph &graph)
{
    inlineAll(graph.block());
}

std::string nodeModulePath(const torch::jit::Node *node)
{
    return modulePath(node);
}

namespace {

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

const std::string kSoftmaxSuffix = "#softmax";

bool endsWith(const std::string &s, const std::string &suffix)
{
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The output of the last softmax computed inside `scope` (top level of the inlined graph).
Value *lastSoftmaxIn(Graph &graph, const std::string &scope)
{
    Value *found = nullptr;
    for (Node *node : graph.nodes())
        if (node->kind() == c10::aten::softmax && within(modulePath(node), scope))
            found = node->output();
    return found;
}

// Replaces every ReLU of `graph` by the rule's operator; returns how many.
int rewriteRelus(Graph &graph, ReluRule rule)
{
    if (rule == ReluRule::Plain)
        return 0;
    const auto op = c10::Symbol::fromQualString(rule == ReluRule::Guided ? "heatlens::guided_relu"
                                                                         : "heatlens::deconv_relu");
    std::vector<Node *> relus;
    for (Node *node : graph.nodes())
        if (node->kind() == c10::aten::relu || node->kind() == c10::aten::relu_)
            relus.push_back(node);
    for (Node *node : relus) {
        Value *x = node->input(0);
        Node *replacement = graph.create(op, {x});
        replacement->output()->setType(node->output()->type());
        replacement->insertBefore(node);
        replacement->copyMetadata(node);
        Value *y = replacement->output();
        node->output()->replaceAllUsesWith(y);
        // In-place relu_ also changed x for everything after it.
        if (node->kind() == c10::aten::relu_)
            x->replaceAllUsesAfterNodeWith(node, y);
        node->destroy();
    }
    return int(relus.size());
}

bool isAttentionName(const std::string &path)
{
    std::string lower(path);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return lower.find("attn") != std::string::npos || lower.find("attention") != std::string::npos;
}

} // namespace

namespace {

// The value a tap path names in `graph` (see LayerTap); throws naming the path.
Value *tappedValue(const torch::jit::Module &module, Graph &graph,
                   const std::map<std::string, Value *> &outputs, const std::string &path)
{
    if (endsWith(path, kSoftmaxSuffix)) {
        const std::string scope = path.substr(0, path.size() - kSoftmaxSuffix.size());
        Value *softmax = lastSoftmaxIn(graph, scope);
        if (!softmax)
            throw std::invalid_argument("layer \"" + path + "\": no softmax is computed in \"" +
                                        scope + "\"");
        return softmax;
    }
    auto it = outputs.find(path);
    if (it == outputs.end()) {
        bool exists = false;
        for (const auto &sub : module.named_modules())
            exists = exists || sub.name == path;
        throw std::invalid_argument(exists
                                        ? "layer \"" + path +
                                              "\": its output could not be located in forward's "
                                              "graph (computed inside control flow or unused)"
                                        : "layer \"" + path + "\" is not a submodule of the model");
    }
    return it->second;
}

} // namespace

LayerTap::LayerTap(const torch::jit::Module &module, const std::vector<std::string> &layerPaths,
                   ReluRule rule)
    : m_module(module)
    , m_paths(layerPaths)
{
    auto graph = inlinedForward(module);
    m_rewrittenRelus = rewriteRelus(*graph, rule);
    auto outputs = scopeOutputs(*graph);
    std::vector<Value *> values{graph->outputs().at(0)};
    for (const auto &path : layerPaths)
        values.push_back(tappedValue(module, *graph, outputs, path));
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

ScaledLayerForward::ScaledLayerForward(const torch::jit::Module &module,
                                       const std::string &layerPath)
    : m_module(module)
{
    auto graph = inlinedForward(module);
    auto outputs = scopeOutputs(*graph);
    Value *value = tappedValue(module, *graph, outputs, layerPath);
    Value *scale = graph->addInput("scale");
    scale->setType(c10::TensorType::get());
    Node *mul = graph->create(c10::aten::mul, {value, scale});
    mul->output()->setType(c10::TensorType::get());
    mul->insertAfter(value->node());
    value->replaceAllUsesWith(mul->output());
    mul->replaceInput(0, value);
    m_function =
        std::make_shared<torch::jit::GraphFunction>("heatlens_scaled_forward", graph, nullptr);
}

ScaledLayerForward::~ScaledLayerForward() = default;

torch::Tensor ScaledLayerForward::run(const torch::Tensor &input, const torch::Tensor &scale) const
{
    PlainExecutionGuard plain;
    torch::jit::Stack stack{m_module._ivalue(), input, scale};
    m_function->run(stack);
    return stack.at(0).toTensor();
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

std::vector<std::string> LayerTap::attentionLayers(const torch::jit::Module &module)
{
    auto graph = inlinedForward(module);
    auto outputs = scopeOutputs(*graph);
    std::unordered_map<const Value *, std::string> moduleOutput; // deepest module path wins
    for (const auto &entry : outputs) {
        auto &name = moduleOutput[entry.second];
        if (name.empty() || depthOf(entry.first) > depthOf(name))
            name = entry.first;
    }
    std::vector<std::string> taps;
    for (Node *node : graph->nodes()) {
        if (node->kind() != c10::aten::softmax)
            continue;
        const std::string path = modulePath(node);
        if (!isAttentionName(path))
            continue;
        auto it = moduleOutput.find(node->output());
        if (it != moduleOutput.end() && isAttentionName(it->second)) {
            taps.push_back(it->second);
            continue;
        }
        // The attention module itself: the deepest enclosing scope whose name says attention.
        std::string scope = path;
        while (!scope.empty()) {
            const auto dot = scope.rfind('.');
            const std::string last = dot == std::string::npos ? scope : scope.substr(dot + 1);
            if (isAttentionName(last))
                break;
            scope = dot == std::string::npos ? std::string() : scope.substr(0, dot);
        }
        // Several softmaxes in one module: the tap is the last one.
        const std::string tap = scope + kSoftmaxSuffix;
        if (std::find(taps.begin(), taps.end(), tap) == taps.end())
            taps.push_back(tap);
    }
    return taps;
}

} // namespace heatlens
