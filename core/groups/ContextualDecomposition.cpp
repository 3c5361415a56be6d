#include "core/groups/ContextualDecomposition.h"

#include "core/model/LayerTap.h"

#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/remove_mutation.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <unordered_map>

namespace heatlens {

namespace {

using torch::jit::Node;
using torch::jit::Value;

// What a graph value holds during the walk: a plain value (weights, sizes, flags: everything
// not computed from the input), a decomposed tensor, or a list or tuple holding decomposed
// tensors.
struct Slot
{
    enum Kind { Plain, Pair, Items } kind = Plain;
    c10::IValue value;
    torch::Tensor rel, irr;
    std::vector<Slot> items;

    static Slot plain(c10::IValue v)
    {
        Slot s;
        s.value = std::move(v);
        return s;
    }
    static Slot pair(torch::Tensor r, torch::Tensor i)
    {
        Slot s;
        s.kind = Pair;
        s.rel = std::move(r);
        s.irr = std::move(i);
        return s;
    }
    bool decomposed() const { return kind != Plain; }
};

// Operators applied to each part on its own: linear in the decomposed argument, no constant.
const std::set<std::string> &linearOps()
{
    static const std::set<std::string> ops = {"aten::flatten",
                                              "aten::view",
                                              "aten::reshape",
                                              "aten::permute",
                                              "aten::transpose",
                                              "aten::t",
                                              "aten::contiguous",
                                              "aten::select",
                                              "aten::slice",
                                              "aten::squeeze",
                                              "aten::unsqueeze",
                                              "aten::expand",
                                              "aten::expand_as",
                                              "aten::detach",
                                              "aten::clone",
                                              "aten::avg_pool1d",
                                              "aten::avg_pool2d",
                                              "aten::avg_pool3d",
                                              "aten::adaptive_avg_pool1d",
                                              "aten::adaptive_avg_pool2d",
                                              "aten::adaptive_avg_pool3d",
                                              "aten::mean",
                                              "aten::sum",
                                              "aten::neg",
                                              "aten::cat",
                                              "aten::stack",
                                              "aten::flip",
                                              "aten::roll",
                                              "aten::to",
                                              "aten::upsample_nearest2d",
                                              "aten::upsample_bilinear2d",
                                              "aten::view_as",
                                              "aten::reshape_as",
                                              "aten::narrow",
                                              "aten::repeat",
                                              "aten::type_as",
                                              "aten::pixel_shuffle"};
    return ops;
}

// Affine in the decomposed argument: f(x) = L(x) + c, with c = f(0) shared between the parts.
const std::set<std::string> &affineOps()
{
    static const std::set<std::string> ops = {
        "aten::_convolution", "aten::conv1d",     "aten::conv2d", "aten::conv3d",
        "aten::linear",       "aten::batch_norm", "aten::addmm",  "aten::conv_transpose2d"};
    return ops;
}

bool isDropout(const std::string &kind)
{
    return kind == "aten::dropout" || kind == "aten::feature_dropout" ||
           kind == "aten::alpha_dropout" || kind == "aten::feature_alpha_dropout";
}

std::string kindOf(const Node *node)
{
    return node->kind().toQualString();
}

// aten::relu_, aten::add_ ...: in-place variants, decomposed by the rule of aten::relu, ...
bool isInPlace(const std::string &kind)
{
    return kind.size() > 7 && kind.back() == '_' && kind.compare(0, 6, "aten::") == 0 &&
           kind.compare(6, 2, "__") != 0;
}

class Walk
{
public:
    Walk(const torch::jit::Module &module, torch::jit::Graph &graph)
        : m_module(module)
        , m_graph(graph)
    {}

    Slot run(const torch::Tensor &rel, const torch::Tensor &irr)
    {
        const auto inputs = m_graph.inputs();
        if (inputs.size() != 2)
            throw CdUnsupported("contextual decomposition needs a forward of one input, this "
                                "one takes " +
                                std::to_string(inputs.size() - 1));
        m_slots[inputs[0]] = Slot::plain(m_module._ivalue());
        m_slots[inputs[1]] = Slot::pair(rel, irr);
        for (Node *node : m_graph.nodes())
            visit(node);
        return m_slots.at(m_graph.outputs().at(0));
    }

private:
    const Slot &slot(const Value *v) const
    {
        auto it = m_slots.find(v);
        if (it == m_slots.end())
            throw CdUnsupported("contextual decomposition lost track of a value (%" +
                                v->debugName() + ")");
        return it->second;
    }

    void set(const Value *v, Slot s) { m_slots[v] = std::move(s); }

    void visit(Node *node)
    {
        const std::string kind = kindOf(node);
        if (node->kind() == c10::prim::Constant) {
            set(node->output(), Slot::plain(*torch::jit::toIValue(node->output())));
            return;
        }
        if (node->kind() == c10::prim::GetAttr) {
            const auto object = slot(node->input(0)).value.toObject();
            set(node->output(), Slot::plain(object->getAttr(node->s(c10::attr::name))));
            return;
        }
        if (node->kind() == c10::prim::If && !slot(node->input(0)).decomposed()) {
            // A branch on a plain value (a flag, a shape): walk the branch taken.
            auto *block = node->blocks().at(slot(node->input(0)).value.toBool() ? 0 : 1);
            for (Node *inner : block->nodes())
                visit(inner);
            for (size_t i = 0; i < node->outputs().size(); ++i)
                set(node->outputs()[i], slot(block->outputs()[i]));
            return;
        }
        if (!node->blocks().empty())
            throw CdUnsupported("contextual decomposition does not handle control flow (" + kind +
                                ") in the model's forward");
        bool decomposed = false;
        for (const Value *v : node->inputs())
            decomposed = decomposed || slot(v).decomposed();
        if (containers(node, kind))
            return;
        if (!decomposed) {
            runPlain(node);
            return;
        }
        if (!isInPlace(kind)) {
            decompose(node, kind);
            return;
        }
        // The result replaces the input it overwrites (the parts themselves are never written:
        // apply() gives the operator copies).
        decompose(node, kind.substr(0, kind.size() - 1));
        set(node->input(0), slot(node->output()));
    }

    // Lists and tuples: built, unpacked and indexed whether or not they hold decomposed values.
    bool containers(Node *node, const std::string &kind)
    {
        if (kind == "prim::ListConstruct" || kind == "prim::TupleConstruct") {
            std::vector<Slot> items;
            bool decomposed = false;
            for (const Value *v : node->inputs()) {
                items.push_back(slot(v));
                decomposed = decomposed || items.back().decomposed();
            }
            if (decomposed) {
                Slot s;
                s.kind = Slot::Items;
                s.items = std::move(items);
                set(node->output(), std::move(s));
            } else if (kind == "prim::TupleConstruct") {
                std::vector<c10::IValue> values;
                for (auto &i : items)
                    values.push_back(i.value);
                set(node->output(), Slot::plain(c10::ivalue::Tuple::create(std::move(values))));
            } else {
                const auto type = node->output()->type()->expect<c10::ListType>();
                c10::impl::GenericList list(type->getElementType());
                for (auto &i : items)
                    list.push_back(i.value);
                set(node->output(), Slot::plain(c10::IValue(list)));
            }
            return true;
        }
        if (kind == "prim::ListUnpack" || kind == "prim::TupleUnpack") {
            const Slot &from = slot(node->input(0));
            std::vector<Slot> items;
            if (from.kind == Slot::Items)
                items = from.items;
            else if (from.value.isTuple())
                for (const auto &v : from.value.toTupleRef().elements())
                    items.push_back(Slot::plain(v));
            else
                for (const auto &v : from.value.toListRef())
                    items.push_back(Slot::plain(v));
            if (items.size() != node->outputs().size())
                throw CdUnsupported("contextual decomposition: " + kind + " of " +
                                    std::to_string(items.size()) + " items into " +
                                    std::to_string(node->outputs().size()));
            for (size_t i = 0; i < items.size(); ++i)
                set(node->outputs()[i], items[i]);
            return true;
        }
        if (kind == "prim::TupleIndex" && slot(node->input(0)).value.isTuple()) {
            const auto &items = slot(node->input(0)).value.toTupleRef().elements();
            int64_t i = slot(node->input(1)).value.toInt();
            if (i < 0)
                i += int64_t(items.size());
            set(node->output(), Slot::plain(items.at(size_t(i))));
            return true;
        }
        if ((kind == "prim::TupleIndex" || kind == "aten::__getitem__") &&
            slot(node->input(0)).kind == Slot::Items) {
            const auto &items = slot(node->input(0)).items;
            int64_t i = slot(node->input(1)).value.toInt();
            if (i < 0)
                i += int64_t(items.size());
            set(node->output(), items.at(size_t(i)));
            return true;
        }
        return false;
    }

    // Runs the node's operator on a stack of inputs; returns its outputs.
    std::vector<c10::IValue> call(Node *node, std::vector<c10::IValue> stack) const
    {
        std::optional<torch::jit::Operation> op;
        try {
            op.emplace(node->getOperation());
        } catch (const std::exception &) {
            throw CdUnsupported("contextual decomposition cannot run " + kindOf(node) +
                                " of the model's forward on its own");
        }
        (*op)(stack);
        return stack;
    }

    void runPlain(Node *node)
    {
        std::vector<c10::IValue> stack;
        for (const Value *v : node->inputs())
            stack.push_back(slot(v).value);
        auto out = call(node, std::move(stack));
        for (size_t i = 0; i < node->outputs().size(); ++i)
            set(node->outputs()[i], Slot::plain(out.at(i)));
    }

    // The node's operator with every decomposed input replaced by one of its parts (0: relevant,
    // 1: irrelevant, 2: their sum, 3: zeros of one row), plain inputs as they are.
    torch::Tensor part(const Slot &s, int which) const
    {
        if (which == 0)
            return s.rel;
        if (which == 1)
            return s.irr;
        if (which == 2)
            return s.rel + s.irr;
        return torch::zeros_like(s.rel.narrow(0, 0, 1));
    }

    c10::IValue partValue(const Slot &s, int which) const
    {
        if (s.kind == Slot::Plain)
            return s.value;
        if (s.kind == Slot::Pair)
            return part(s, which);
        // A list of tensors some of which are decomposed (cat, stack): a plain tensor belongs
        // to the irrelevant part.
        c10::List<at::Tensor> list;
        for (const auto &item : s.items) {
            if (item.kind == Slot::Pair)
                list.push_back(part(item, which));
            else if (item.value.isTensor())
                list.push_back(which == 0 || which == 3 ? torch::zeros_like(item.value.toTensor())
                                                        : item.value.toTensor());
            else
                throw CdUnsupported("contextual decomposition: a list mixing decomposed tensors "
                                    "and other values");
        }
        return c10::IValue(list);
    }

    torch::Tensor apply(Node *node, int which) const
    {
        std::vector<c10::IValue> stack;
        for (const Value *v : node->inputs())
            stack.push_back(partValue(slot(v), which));
        if (isInPlace(kindOf(node)) && stack.at(0).isTensor())
            stack[0] = stack[0].toTensor().clone();
        auto out = call(node, std::move(stack));
        if (out.size() != 1 || !out[0].isTensor())
            throw CdUnsupported("contextual decomposition: " + kindOf(node) +
                                " does not give one tensor");
        return out[0].toTensor();
    }

    // rel and irr of an affine map, its constant shared in proportion to the parts' sizes.
    static Slot shareConstant(torch::Tensor rel, torch::Tensor irr, const torch::Tensor &constant)
    {
        if (!constant.any().item<bool>()) // no bias (ResNet's convolutions): nothing to share
            return Slot::pair(std::move(rel), std::move(irr));
        const auto r = rel.abs() + 1e-20, i = irr.abs() + 1e-20;
        const auto share = r / (r + i);
        return Slot::pair(rel + share * constant, irr + (1.0 - share) * constant);
    }

    int decomposedInputs(Node *node) const
    {
        int n = 0;
        for (const Value *v : node->inputs())
            n += slot(v).decomposed() ? 1 : 0;
        return n;
    }

    void decompose(Node *node, const std::string &kind)
    {
        Value *out = node->outputs().at(0);
        const int pairs = decomposedInputs(node);
        // Shape queries of a decomposed tensor are plain values.
        if (kind == "aten::size" || kind == "aten::dim" || kind == "aten::numel" ||
            kind == "prim::device" || kind == "prim::dtype" || kind == "aten::len") {
            std::vector<c10::IValue> stack;
            for (const Value *v : node->inputs())
                stack.push_back(partValue(slot(v), 0));
            auto values = call(node, std::move(stack));
            for (size_t i = 0; i < node->outputs().size(); ++i)
                set(node->outputs()[i], Slot::plain(values.at(i)));
            return;
        }
        if (node->outputs().size() != 1)
            throw CdUnsupported("contextual decomposition does not handle " + kind +
                                " (several outputs) on a value computed from the input");
        if (isDropout(kind)) {
            if (slot(node->input(2)).value.toBool())
                throw CdUnsupported("contextual decomposition needs eval-mode dropout, " + kind +
                                    " runs in training mode");
            set(out, slot(node->input(0)));
            return;
        }
        if (kind == "aten::relu") {
            const Slot &in = slot(node->input(0));
            auto rel = torch::relu(in.rel);
            set(out, Slot::pair(rel, torch::relu(in.rel + in.irr) - rel));
            return;
        }
        if (kind == "aten::max_pool2d") {
            maxPool(node);
            return;
        }
        if (kind == "aten::batch_norm" && slot(node->input(5)).value.toBool())
            throw CdUnsupported("contextual decomposition needs batch norm in eval mode");
        if (affineOps().count(kind) && pairs == 1 && slot(node->input(0)).kind == Slot::Pair) {
            const auto constant = apply(node, 3);
            set(out, shareConstant(apply(node, 0) - constant, apply(node, 1) - constant, constant));
            return;
        }
        if (kind == "aten::addmm" && pairs == 1 && slot(node->input(1)).kind == Slot::Pair) {
            const auto constant = apply(node, 3);
            set(out, shareConstant(apply(node, 0) - constant, apply(node, 1) - constant, constant));
            return;
        }
        if (kind == "aten::add" || kind == "aten::sub") {
            if (pairs == 2) { // a residual connection: the sum of the parts
                set(out, Slot::pair(apply(node, 0), apply(node, 1)));
                return;
            }
            // A decomposed value plus a constant: affine.
            const auto constant = apply(node, 3);
            set(out, shareConstant(apply(node, 0) - constant, apply(node, 1) - constant, constant));
            return;
        }
        const bool product = kind == "aten::mul" || kind == "aten::matmul" || kind == "aten::mm";
        const bool quotient = kind == "aten::div" && slot(node->input(0)).kind == Slot::Pair;
        if ((product || quotient) && pairs == 1) {
            // Scaling by, multiplying with or dividing by a constant: linear.
            set(out, Slot::pair(apply(node, 0), apply(node, 1)));
            return;
        }
        if (linearOps().count(kind)) {
            set(out, Slot::pair(apply(node, 0), apply(node, 1)));
            return;
        }
        throw CdUnsupported("contextual decomposition has no rule for " + kind +
                            (pairs > 1 ? " of two values computed from the input" : "") +
                            " (it handles convolutions, linear layers, ReLU, batch norm, "
                            "pooling, residual additions, flatten and eval-mode dropout)");
    }

    // Both parts where the whole value has its maximum (ACD).
    void maxPool(Node *node)
    {
        const Slot &in = slot(node->input(0));
        auto args = [&](int i) { return slot(node->input(size_t(i))).value; };
        const auto whole = in.rel + in.irr;
        const auto [pooled, indices] = torch::max_pool2d_with_indices(
            whole, args(1).toIntVector(), args(2).toIntVector(), args(3).toIntVector(),
            args(4).toIntVector(), args(5).toBool());
        auto gather = [&](const torch::Tensor &t) {
            return t.flatten(2).gather(2, indices.flatten(2)).view_as(pooled);
        };
        set(node->output(), Slot::pair(gather(in.rel), gather(in.irr)));
    }

    const torch::jit::Module &m_module;
    torch::jit::Graph &m_graph;
    std::unordered_map<const Value *, Slot> m_slots;
};

} // namespace

ContextualDecomposition::ContextualDecomposition(const torch::jit::Module &module)
    : m_module(module)
{
    auto method = module.find_method("forward");
    if (!method)
        throw CdUnsupported("the model has no forward method");
    m_graph = method->graph()->copy();
    inlineModuleCalls(*m_graph);
    try {
        torch::jit::RemoveTensorMutation(m_graph); // relu_ and add_ as relu and add
    } catch (const std::exception &) {
        // In-place operators stay: the walk then reports them as unsupported.
    }
}

ContextualDecomposition::~ContextualDecomposition() = default;

ContextualDecomposition::Parts ContextualDecomposition::decompose(const torch::Tensor &input,
                                                                  const torch::Tensor &baseline,
                                                                  const torch::Tensor &masks) const
{
    c10::InferenceMode inference;
    const auto x = input.to(torch::kFloat32);
    const auto b = baseline.defined() ? baseline.to(torch::kFloat32) : torch::zeros_like(x);
    const auto m = masks.to(torch::kFloat32);
    const auto rel = (x - b) * m;
    const auto irr = x - rel;
    Walk walk(m_module, *m_graph);
    const Slot out = walk.run(rel.contiguous(), irr.contiguous());
    if (out.kind != Slot::Pair)
        throw CdUnsupported(out.kind == Slot::Items
                                ? "contextual decomposition needs a model whose forward returns "
                                  "one tensor of logits"
                                : "the model's output does not depend on its input");
    return {out.rel, out.irr};
}

GroupInteractions cdInteractions(CoalitionGame &game, int target, bool adjacentOnly, int batch,
                                 const JobContext &ctx)
{
    const torch::Tensor &input = game.input();
    const auto start = std::chrono::steady_clock::now();
    const torch::Tensor baseline = game.baseline();
    if (!baseline.defined())
        throw std::invalid_argument("contextual decomposition needs a fixed baseline; the "
                                    "inpainting masker depends on the coalition");
    const int p = game.players();
    GroupInteractions r;
    r.estimator = "cd";
    r.index = "cd";
    r.players = p;
    if (adjacentOnly) {
        r.estimatedPairs = game.adjacent();
    } else {
        for (int i = 0; i < p; ++i)
            for (int j = i + 1; j < p; ++j)
                r.estimatedPairs.emplace_back(i, j);
    }
    // Rows: every single group, then every pair.
    std::vector<std::vector<int>> rows;
    for (int i = 0; i < p; ++i)
        rows.push_back({i});
    for (const auto &[i, j] : r.estimatedPairs)
        rows.push_back({i, j});
    const auto &labels = game.grouping().labels;
    const auto labelTensor = torch::from_blob(const_cast<int *>(labels.ptr<int>()),
                                              {int64_t(labels.total())}, torch::kInt32)
                                 .to(torch::kInt64);
    const ContextualDecomposition cd(game.model()->module());
    // Every decomposed activation is held twice and the rules make temporaries of its size:
    // about 256 bytes per input element and row on ResNet-like networks. Rows per batch keep
    // that near 512 MB (ResNet-18 at 224 x 224: 13 rows, 1 GB peak measured at 8 rows and
    // 2.9 GB at 32; 28 x 28 inputs: the batch asked for).
    const int64_t perRow = std::max<int64_t>(1, input.numel() * 256);
    batch = int(std::clamp<int64_t>((int64_t(512) << 20) / perRow, 1, std::max(1, batch)));
    std::vector<double> values(rows.size());
    for (size_t begin = 0; begin < rows.size(); begin += size_t(std::max(1, batch))) {
        ctx.throwIfCancelled();
        const size_t end = std::min(rows.size(), begin + size_t(std::max(1, batch)));
        auto presence = torch::zeros({int64_t(end - begin), p});
        for (size_t k = begin; k < end; ++k)
            for (int g : rows[k])
                presence[int64_t(k - begin)][g] = 1.0f;
        const auto masks = presence.index_select(1, labelTensor)
                               .view({int64_t(end - begin), 1, input.size(2), input.size(3)});
        const auto parts = cd.decompose(input, baseline, masks);
        const auto column = parts.relevant.select(1, target).to(torch::kFloat64).contiguous();
        for (size_t k = begin; k < end; ++k)
            values[k] = column[int64_t(k - begin)].item<double>();
        ctx.report(double(end) / double(rows.size()),
                   std::to_string(end) + " of " + std::to_string(rows.size()) + " decompositions");
    }
    r.singles.assign(values.begin(), values.begin() + p);
    r.pairs.assign(size_t(p) * size_t(p), 0.0);
    for (size_t k = 0; k < r.estimatedPairs.size(); ++k) {
        const auto [i, j] = r.estimatedPairs[k];
        const double v = values[size_t(p) + k] - r.singles[size_t(i)] - r.singles[size_t(j)];
        r.pairs[size_t(i * p + j)] = r.pairs[size_t(j * p + i)] = v;
    }
    const PlayerSet none(p), all = PlayerSet::all(p);
    game.evaluate({none, all}, ctx);
    r.emptyValue = game.value(none, target);
    r.fullValue = game.value(all, target);
    r.calls = int(rows.size()) + 2;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

} // namespace heatlens
