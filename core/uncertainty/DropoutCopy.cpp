#include "core/uncertainty/DropoutCopy.h"

#include "core/model/LayerTap.h"
#include "core/uncertainty/StochasticSource.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/library.h>

#include <optional>
#include <stdexcept>

namespace heatlens {

namespace {

// xoshiro256** (Blackman & Vigna 2018), seeded by SplitMix64: a mask needs one 32-bit draw per
// element, and LibTorch's bernoulli_ with a generator per row and site cost a quarter of a
// batched Saliency pass (demo CNN, 32 rows).
class Xoshiro256
{
public:
    explicit Xoshiro256(uint64_t seed)
    {
        for (auto &word : m_s) {
            seed += 0x9e3779b97f4a7c15ULL;
            uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
            word = z ^ (z >> 31);
        }
    }
    uint64_t next()
    {
        const uint64_t result = rotl(m_s[1] * 5, 7) * 9;
        const uint64_t t = m_s[1] << 17;
        m_s[2] ^= m_s[0];
        m_s[3] ^= m_s[1];
        m_s[1] ^= m_s[2];
        m_s[0] ^= m_s[3];
        m_s[2] ^= t;
        m_s[3] = rotl(m_s[3], 45);
        return result;
    }

private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t m_s[4];
};

// The mask of one sample at one dropout site: Bernoulli(1 - p) over one row's shape (whole
// channels for feature dropout), scaled by 1 / (1 - p) as dropout does in training.
torch::Tensor siteMask(c10::IntArrayRef rowShape, double p, uint64_t seed, int64_t sample,
                       int64_t site)
{
    Xoshiro256 random(sampleSeed(seed, sample, site));
    auto mask = torch::empty(rowShape);
    float *out = mask.data_ptr<float>();
    const int64_t n = mask.numel();
    // Keep an element when a 32-bit draw falls below (1 - p) 2^32.
    const auto keepBelow = uint64_t((1.0 - p) * 4294967296.0);
    const float scale = float(1.0 / (1.0 - p));
    for (int64_t i = 0; i < n; i += 2) {
        const uint64_t bits = random.next();
        out[i] = (bits & 0xffffffffULL) < keepBelow ? scale : 0.0f;
        if (i + 1 < n)
            out[i + 1] = (bits >> 32) < keepBelow ? scale : 0.0f;
    }
    return mask;
}

// heatlens::sample_dropout: dropout whose masks come from the copy's sample state (see
// DropoutCopy) instead of the global generator; differentiable in x like dropout.
torch::Tensor sampleDropout(const torch::Tensor &x, double p, bool feature,
                            const torch::Tensor &state, int64_t site)
{
    if (p <= 0.0)
        return x.clone();
    if (p >= 1.0)
        return torch::zeros_like(x);
    const auto s = state.accessor<int64_t, 1>();
    const auto seed = uint64_t(s[0]);
    const int64_t first = s[1];
    const bool rows = s[2] != 0;
    std::vector<int64_t> rowShape(x.sizes().begin() + 1, x.sizes().end());
    if (feature)
        for (size_t i = 1; i < rowShape.size(); ++i)
            rowShape[i] = 1;
    const int64_t n = rows ? x.size(0) : 1;
    std::vector<torch::Tensor> masks;
    masks.reserve(size_t(n));
    for (int64_t r = 0; r < n; ++r)
        masks.push_back(siteMask(rowShape, p, seed, first + r, site));
    return x * torch::stack(masks).to(x.scalar_type());
}

} // namespace

TORCH_LIBRARY_FRAGMENT(heatlens, m)
{
    m.def("sample_dropout(Tensor x, float p, bool feature, Tensor state, int site) -> Tensor",
          sampleDropout);
}

namespace {

using torch::jit::Block;
using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

const char *const kStateName = "heatlens_sample_state";

bool isDropout(const Node *node)
{
    const auto kind = node->kind();
    return kind == c10::aten::dropout || kind == c10::aten::dropout_ ||
           kind == c10::aten::feature_dropout || kind == c10::aten::feature_dropout_;
}

bool isFeatureDropout(const Node *node)
{
    return node->kind() == c10::aten::feature_dropout ||
           node->kind() == c10::aten::feature_dropout_;
}

bool isInPlace(const Node *node)
{
    return node->kind() == c10::aten::dropout_ || node->kind() == c10::aten::feature_dropout_;
}

void collectDropouts(Block *block, std::vector<Node *> &found)
{
    for (Node *node : block->nodes()) {
        for (Block *sub : node->blocks())
            collectDropouts(sub, found);
        if (isDropout(node))
            found.push_back(node);
    }
}

std::vector<Node *> dropoutsOf(Graph &graph)
{
    std::vector<Node *> found;
    collectDropouts(graph.block(), found);
    return found;
}

// What a value of the inlined forward holds when it is a constant or a chain of attribute reads
// from the module (self.classifier.dropout1.p); nullopt otherwise.
std::optional<c10::IValue> resolve(const Value *value, const torch::jit::Module &root)
{
    if (auto constant = torch::jit::toIValue(value))
        return constant;
    if (value == value->owningGraph()->inputs().at(0))
        return root._ivalue();
    const Node *node = value->node();
    if (node->kind() != c10::prim::GetAttr)
        return std::nullopt;
    const auto owner = resolve(node->input(0), root);
    if (!owner || !owner->isObject())
        return std::nullopt;
    const auto object = owner->toObject();
    const std::string name = node->s(c10::attr::name);
    if (!object->type()->hasAttribute(name))
        return std::nullopt;
    return object->getAttr(name);
}

// The rate a dropout node passes (a constant in traced models, a module attribute in scripted
// ones); -1 when it is computed at run time.
double rateOf(const Node *node, const torch::jit::Module &root)
{
    if (auto value = resolve(node->input(1), root); value && value->isDouble())
        return value->toDouble();
    return -1.0;
}

} // namespace

int DropoutCopy::countDropouts(const Model &model)
{
    auto graph = model.module().get_method("forward").graph()->copy();
    inlineModuleCalls(*graph);
    return int(dropoutsOf(*graph).size());
}

DropoutCopy::DropoutCopy(const Model &model, double rate, uint64_t seed)
    : m_module(model.module().clone())
    , m_state(torch::tensor({int64_t(seed), int64_t(0), int64_t(0)}, torch::kLong))
{
    if (rate < 0.0 || rate >= 1.0)
        throw std::invalid_argument("mc-dropout: rate must be in [0, 1), got " +
                                    std::to_string(rate));
    m_module.register_attribute(kStateName, c10::TensorType::get(), m_state);
    // clone() gave the copy its own types and methods: its forward's graph is private.
    auto &forward = torch::jit::toGraphFunction(m_module.get_method("forward").function());
    std::shared_ptr<Graph> graph = forward.graph();
    inlineModuleCalls(*graph);
    const auto dropouts = dropoutsOf(*graph);
    if (dropouts.empty())
        throw std::invalid_argument(
            model.displayName() +
            " has no dropout layer, so MC dropout cannot sample it; use dropconnect (weights "
            "dropped post hoc), noise, tta, or an ensemble");
    Node *state = graph->createGetAttr(graph->inputs().at(0), kStateName);
    graph->prependNode(state);
    int64_t site = 0;
    for (Node *node : dropouts) {
        torch::jit::WithInsertPoint guard(node);
        Value *p = rate > 0.0 ? graph->insertConstant(rate) : node->input(1);
        Node *replacement =
            graph->create(c10::Symbol::fromQualString("heatlens::sample_dropout"),
                          {node->input(0), p, graph->insertConstant(isFeatureDropout(node)),
                           state->output(), graph->insertConstant(site)});
        replacement->output()->setType(node->output()->type());
        replacement->insertBefore(node);
        replacement->copyMetadata(node);
        Value *x = node->input(0);
        Value *y = replacement->output();
        node->output()->replaceAllUsesWith(y);
        if (isInPlace(node)) // dropout_ also changed x for everything after it
            x->replaceAllUsesAfterNodeWith(node, y);
        m_sites.push_back(nodeModulePath(node));
        m_rates.push_back(rate > 0.0 ? rate : rateOf(node, m_module));
        node->destroy();
        ++site;
    }
    m_model = Model::variant(model, m_module, "MC dropout");
}

// Plain writes into the state tensor the copy's graph reads (no autograd, valid in any mode).
void DropoutCopy::setSeed(uint64_t seed)
{
    m_state.data_ptr<int64_t>()[0] = int64_t(seed);
}

void DropoutCopy::setSample(int64_t t)
{
    m_state.data_ptr<int64_t>()[1] = t;
    m_state.data_ptr<int64_t>()[2] = 0;
}

void DropoutCopy::setRows(int64_t first)
{
    m_state.data_ptr<int64_t>()[1] = first;
    m_state.data_ptr<int64_t>()[2] = 1;
}

} // namespace heatlens
