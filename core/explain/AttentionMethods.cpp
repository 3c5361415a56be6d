// The transformer family: explanations read from the attention probabilities of every block
// (raw attention, attention rollout) and from their gradients (Chefer et al. 2021b). The base
// owns the pipeline: find the attention taps (model card, else the softmax nodes inside
// attention modules), run one tapped forward (and one backward when gradients are used), bring
// every map to [heads, T, T], and turn the method's token relevance into an input-size map
// (CLS token dropped, patch grid from the card or inferred, bilinear upsampling).
#include "core/explain/MethodSupport.h"
#include "core/model/LayerTap.h"

#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <optional>
#include <stdexcept>

namespace heatlens {

namespace {

ParamSpec fusionParam()
{
    return ParamSpec::choice("fusion", "Head fusion", "mean", {"mean", "max", "min"})
        .describe("How the heads of a block are combined.");
}

// [heads, T, T] -> [T, T]
torch::Tensor fuseHeads(const torch::Tensor &a, const std::string &fusion)
{
    if (fusion == "max")
        return std::get<0>(a.max(0));
    if (fusion == "min")
        return std::get<0>(a.min(0));
    return a.mean(0);
}

class AttentionMethod : public Method
{
public:
    std::string family() const override { return "transformer"; }
    std::string whyNotApplicable(const Model &model) const override
    {
        if (model.attentionLayers().empty())
            return "the model has no attention layers (no softmax inside a module named "
                   "attn/attention; name them in the card's transformer.attention)";
        return {};
    }

    Explanation explain(const ExplainRequest &request, const JobContext &ctx) const final
    {
        ExplanationBuilder builder(request, id());
        Explanation &out = builder.out();
        const std::string notApplicable = whyNotApplicable(*request.model);
        if (!notApplicable.empty())
            throw std::invalid_argument(id() + ": " + notApplicable);
        const auto layers = request.model->attentionLayers();
        auto tap = request.model->layerTap(layers);
        ctx.throwIfCancelled();
        std::vector<torch::Tensor> attentions, gradients;
        {
            auto input = request.input.detach().clone().requires_grad_(usesGradients());
            std::optional<torch::InferenceMode> inference;
            if (!usesGradients())
                inference.emplace();
            auto run = tap->run(input);
            out.forwardPasses = 1;
            if (usesGradients()) {
                for (size_t i = 0; i < run.taps.size(); ++i)
                    if (!run.taps[i].requires_grad())
                        throw std::invalid_argument(id() + ": the attention of \"" + layers[i] +
                                                    "\" does not depend on the input");
                auto grads = torch::autograd::grad({run.logits[0][request.target]}, run.taps, {},
                                                   false, false, /*allow_unused=*/true);
                out.backwardPasses = 1;
                for (size_t i = 0; i < grads.size(); ++i)
                    gradients.push_back(headsFirst(
                        grads[i].defined() ? grads[i] : torch::zeros_like(run.taps[i]), layers[i]));
            }
            for (size_t i = 0; i < run.taps.size(); ++i)
                attentions.push_back(headsFirst(run.taps[i].detach(), layers[i]).clone());
        }
        out.layer = layers.back();
        const int64_t tokens = attentions[0].size(-1);
        const auto relevance = tokenRelevance(request.params, attentions, gradients, out)
                                   .to(torch::kFloat32); // [T, T]
        out.map = tensorToMap(toInputMap(relevance, tokens, request.model->card()));
        out.stats["blocks"] = double(layers.size());
        return builder.finish(ctx);
    }

protected:
    virtual bool usesGradients() const { return false; }
    // attentions, gradients: per block [heads, T, T] (gradients empty unless used). Returns the
    // relevance matrix [T, T]: row i is what token i's output draws from every token.
    virtual torch::Tensor tokenRelevance(const Params &params,
                                         const std::vector<torch::Tensor> &attentions,
                                         const std::vector<torch::Tensor> &gradients,
                                         Explanation &out) const = 0;

private:
    // A tapped attention map as [heads, T, T] (batch 1): [1, H, T, T] or [H, T, T] (the
    // [batch * heads, T, T] of nn.MultiheadAttention).
    static torch::Tensor headsFirst(const torch::Tensor &a, const std::string &layer)
    {
        if (a.dim() == 4 && a.size(0) == 1 && a.size(2) == a.size(3))
            return a[0];
        if (a.dim() == 3 && a.size(1) == a.size(2))
            return a;
        throw std::invalid_argument("attention layer \"" + layer + "\" outputs " +
                                    c10::str(a.sizes()) +
                                    ", not attention probabilities [heads, T, T]");
    }

    // The CLS row of the relevance without the CLS column (or, without a CLS token, the mean
    // row), on the patch grid, upsampled to the input.
    static torch::Tensor toInputMap(const torch::Tensor &relevance, int64_t tokens,
                                    const ModelCard &card)
    {
        const int cls = card.clsToken;
        torch::Tensor row = cls >= 0 && cls < tokens ? relevance[cls] : relevance.mean(0);
        if (cls >= 0 && cls < tokens)
            row = torch::cat({row.narrow(0, 0, cls), row.narrow(0, cls + 1, tokens - cls - 1)});
        const int64_t n = row.size(0);
        int64_t gh = card.patchGridHeight, gw = card.patchGridWidth;
        if (gh <= 0) {
            gh = gw = int64_t(std::lround(std::sqrt(double(n))));
            if (gh * gw != n)
                throw std::invalid_argument(std::to_string(n) +
                                            " patch tokens are not a square grid; set "
                                            "transformer.patch_grid in the model card");
        }
        if (gh * gw != n)
            throw std::invalid_argument("the card's patch grid " + std::to_string(gh) + "x" +
                                        std::to_string(gw) + " does not match the " +
                                        std::to_string(n) + " patch tokens");
        return torch::upsample_bilinear2d(row.reshape({1, 1, gh, gw}),
                                          {card.inputHeight, card.inputWidth}, false)[0][0];
    }
};

// The attention of one block (default the last), heads fused: what the CLS token attends to.
class RawAttention : public AttentionMethod
{
public:
    std::string id() const override { return "raw-attention"; }
    std::string name() const override { return "Raw Attention"; }
    std::string description() const override
    {
        return "The CLS token's attention over the patches in one block (class-agnostic).";
    }
    std::vector<ParamSpec> params() const override
    {
        return {
            ParamSpec::integer("block", "Block", 0)
                .range(0, 1000)
                .describe("Block whose attention is shown, counted from 1; 0 = the last block."),
            fusionParam()};
    }

protected:
    torch::Tensor tokenRelevance(const Params &params, const std::vector<torch::Tensor> &a,
                                 const std::vector<torch::Tensor> &,
                                 Explanation &out) const override
    {
        int block = params.getInt("block");
        if (block > int(a.size()))
            throw std::invalid_argument("raw-attention: parameter \"block\" is " +
                                        std::to_string(block) + " but the model has " +
                                        std::to_string(a.size()) + " attention blocks");
        if (block == 0)
            block = int(a.size());
        out.stats["block"] = block;
        return fuseHeads(a[size_t(block - 1)], params.getString("fusion"));
    }
};

// Abnar & Zuidema 2020, with the head fusion and discarding of vit-explain (Gildenblat):
// per block the fused attention, its lowest `discard` fraction set to 0 (never the CLS
// column), plus the identity for the residual path, rows renormalised; the blocks' matrices
// multiplied from the first to the last.
class AttentionRollout : public AttentionMethod
{
public:
    std::string id() const override { return "attention-rollout"; }
    std::string name() const override { return "Attention Rollout"; }
    std::string description() const override
    {
        return "Attention propagated through all blocks with the residual identity "
               "(class-agnostic).";
    }
    std::vector<ParamSpec> params() const override
    {
        return {fusionParam(),
                ParamSpec::real("discard", "Discard ratio", 0.0)
                    .range(0.0, 0.99)
                    .describe("Fraction of each block's lowest fused attentions set to zero (0.9 "
                              "is common with max fusion).")};
    }

protected:
    torch::Tensor tokenRelevance(const Params &params, const std::vector<torch::Tensor> &a,
                                 const std::vector<torch::Tensor> &, Explanation &) const override
    {
        const int64_t t = a[0].size(-1);
        const auto eye = torch::eye(t, torch::kFloat64);
        auto result = eye.clone();
        const double discard = params.getDouble("discard");
        for (const auto &block : a) {
            auto fused = fuseHeads(block.to(torch::kFloat64), params.getString("fusion"));
            const int64_t drop = int64_t(double(t * t) * discard);
            if (drop > 0) {
                auto flat = fused.reshape({-1}).clone();
                auto lowest = std::get<1>(flat.topk(drop, 0, /*largest=*/false));
                lowest = lowest.masked_select(lowest.remainder(t) != 0); // keep the CLS column
                flat.index_fill_(0, lowest, 0.0);
                fused = flat.view({t, t});
            }
            auto step = (fused + eye) / 2;
            step = step / step.sum(-1, true);
            result = torch::matmul(step, result);
        }
        return result;
    }
};

// Chefer, Gur & Wolf 2021b ("Generic Attention-model Explainability"): per block the head mean
// of the positive part of gradient x attention, A_b = E_h[(dy/dA * A)+], accumulated as
// R <- R + A_b R from R = I. Class-specific: one forward and one backward pass.
class AttentionRelevance : public AttentionMethod
{
public:
    std::string id() const override { return "attention-relevance"; }
    std::string name() const override { return "Gradient-weighted Attention (Chefer 2021b)"; }
    std::string description() const override
    {
        return "Attention weighted by its gradient for the target, propagated through the "
               "blocks (class-specific).";
    }
    std::vector<ParamSpec> params() const override { return {}; }

protected:
    bool usesGradients() const override { return true; }

    torch::Tensor tokenRelevance(const Params &, const std::vector<torch::Tensor> &a,
                                 const std::vector<torch::Tensor> &g, Explanation &) const override
    {
        const int64_t t = a[0].size(-1);
        auto r = torch::eye(t, torch::kFloat64);
        for (size_t b = 0; b < a.size(); ++b) {
            const auto weighted =
                (g[b].to(torch::kFloat64) * a[b].to(torch::kFloat64)).clamp_min(0).mean(0);
            r = r + torch::matmul(weighted, r);
        }
        return r;
    }
};

} // namespace

std::unique_ptr<Method> makeRawAttention()
{
    return std::make_unique<RawAttention>();
}
std::unique_ptr<Method> makeAttentionRollout()
{
    return std::make_unique<AttentionRollout>();
}
std::unique_ptr<Method> makeAttentionRelevance()
{
    return std::make_unique<AttentionRelevance>();
}

} // namespace heatlens
