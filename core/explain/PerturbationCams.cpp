// The gradient-free CAMs, which weight a layer's channels by what the model does when the
// channel is used as a mask (Score-CAM) or removed (Ablation-CAM): one forward pass per channel,
// batched, in inference mode.
#include "core/explain/CamMethod.h"
#include "core/explain/MethodSupport.h"
#include "core/model/LayerTap.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

namespace heatlens {

namespace {

std::string channelsDone(int64_t done, int64_t total)
{
    return std::to_string(done) + "/" + std::to_string(total) + " channels";
}

ParamSpec massParam()
{
    return ParamSpec::real("mass", "Activation mass scored", 1.0)
        .range(0.01, 1.0)
        .describe("1 scores every channel (exact). Below 1 an approximation: only the most active "
                  "channels (by summed |activation|), together holding this fraction of the "
                  "layer's activation, get a pass; the others get no weight, and the explanation "
                  "says so.");
}

// The channels that get a pass: all of them, or (mass < 1) the fewest, most active first, whose
// summed |activation| reaches `mass` of the layer's. Skipping is an approximation: it is
// labelled in the explanation's warnings and stats, never silent.
std::vector<int64_t> channelsToScore(const torch::Tensor &activations, double mass,
                                     const std::string &layer, Explanation &out)
{
    const int64_t k = activations.size(1);
    std::vector<int64_t> chosen;
    if (mass >= 1.0) {
        chosen.resize(size_t(k));
        std::iota(chosen.begin(), chosen.end(), int64_t(0));
    } else {
        torch::InferenceMode inference;
        const auto sums = activations[0].abs().flatten(1).sum(1).to(torch::kDouble).contiguous();
        const double *m = sums.data_ptr<double>();
        std::vector<int64_t> order(static_cast<size_t>(k));
        std::iota(order.begin(), order.end(), int64_t(0));
        std::stable_sort(order.begin(), order.end(),
                         [m](int64_t a, int64_t b) { return m[a] > m[b]; });
        const double total = std::accumulate(m, m + k, 0.0);
        double covered = 0.0;
        for (int64_t c : order) {
            if (total > 0.0 && covered >= mass * total)
                break;
            chosen.push_back(c);
            covered += m[c];
        }
        if (int64_t(chosen.size()) < k) {
            char line[200];
            std::snprintf(line, sizeof line,
                          "approximate: %d of %d channels of %s scored (the most active, %.1f%% "
                          "of its activation); the others get no weight (mass = 1 scores all)",
                          int(chosen.size()), int(k), layer.c_str(), 100.0 * covered / total);
            out.warnings.push_back(line);
        }
        std::sort(chosen.begin(), chosen.end());
    }
    out.stats["channels_scored"] += double(chosen.size());
    out.stats["channels"] += double(k);
    return chosen;
}

// Wang et al. 2020, as pytorch-grad-cam computes it: every channel, upsampled to the input and
// scaled to [0, 1], masks the input; the target logits of the K masked inputs, through a
// softmax over channels, weight the channels: ReLU(sum_k w_k A_k).
class ScoreCam : public CamMethod
{
public:
    std::string id() const override { return "score-cam"; }
    std::string name() const override { return "Score-CAM"; }
    std::string description() const override
    {
        return "Channels weighted by the target score of the input masked by each channel "
               "(gradient-free).";
    }
    std::vector<ParamSpec> params() const override
    {
        return {camLayerParam(), batchParam("Masked images"), massParam()};
    }

protected:
    bool usesGradients() const override { return false; }

    torch::Tensor layerMap(const ExplainRequest &request, const CamLayer &layer,
                           const JobContext &ctx, Explanation &out) const override
    {
        // [1, K, h, w], or only the channels that get a pass (mass < 1: an approximation)
        const auto scored =
            channelsToScore(layer.activations, request.params.getDouble("mass"), layer.path, out);
        const int64_t k = int64_t(scored.size());
        const auto a = layer.activations.index_select(1, torch::tensor(scored, torch::kLong));
        const int batch = request.params.getInt("batch");
        const auto &x = request.input;
        std::vector<float> scores(size_t(k), 0.0f);
        // A channel that is zero everywhere (common after a ReLU) masks the whole input to
        // zero, so all such channels share one pass on a zero image: the same scores, fewer
        // passes (exact, not a skipping approximation).
        std::vector<int64_t> active;
        {
            torch::InferenceMode inference;
            const auto nonzero = a[0].flatten(1).ne(0).any(1).contiguous();
            const bool *flags = nonzero.data_ptr<bool>();
            for (int64_t c = 0; c < k; ++c)
                if (flags[c])
                    active.push_back(c);
            if (int64_t(active.size()) < k) {
                const float zeroScore = request.model->predict(torch::zeros_like(x))
                                            .select(1, request.target)
                                            .item<float>();
                out.forwardPasses += 1;
                for (int64_t c = 0; c < k; ++c)
                    if (!flags[c])
                        scores[size_t(c)] = zeroScore;
            }
        }
        const auto count = int64_t(active.size());
        const auto channels = torch::tensor(active, torch::kLong);
        for (int64_t begin = 0; begin < count; begin += batch) {
            ctx.throwIfCancelled();
            const int64_t end = std::min(count, begin + batch);
            torch::InferenceMode inference;
            auto masks = torch::upsample_bilinear2d(
                a[0].index_select(0, channels.slice(0, begin, end)).unsqueeze(1),
                {x.size(2), x.size(3)}, false); // [b,1,H,W]
            const auto flat = masks.flatten(1);
            const auto lo = std::get<0>(flat.min(1)).view({-1, 1, 1, 1});
            const auto hi = std::get<0>(flat.max(1)).view({-1, 1, 1, 1});
            masks = (masks - lo) / (hi - lo).clamp_min(1e-7);
            const auto logits =
                request.model->predict(x * masks).select(1, request.target).contiguous();
            out.forwardPasses += int(end - begin);
            const float *values = logits.data_ptr<float>();
            for (int64_t i = begin; i < end; ++i)
                scores[size_t(active[size_t(i)])] = values[i - begin];
            ctx.report(double(end) / double(count), channelsDone(end, count));
        }
        const auto weights = torch::softmax(torch::tensor(scores), 0).view({1, k, 1, 1});
        return torch::relu((weights * a).sum(1))[0];
    }
};

// Desai & Ramaswamy 2020: channel k's weight is the relative drop of the target logit when the
// channel is zeroed at the layer, (y - y_k) / y; the map is ReLU(sum_k w_k A_k). The layer's
// output is scaled inside a private copy of the graph (zero for one channel per batch row), so
// any layer of any model works, transformer tokens included.
class AblationCam : public CamMethod
{
public:
    std::string id() const override { return "ablation-cam"; }
    std::string name() const override { return "Ablation-CAM"; }
    std::string description() const override
    {
        return "Channels weighted by the drop of the target logit when each is zeroed "
               "(gradient-free).";
    }
    std::vector<ParamSpec> params() const override
    {
        return {camLayerParam(), batchParam("Ablated copies"), massParam()};
    }

protected:
    bool usesGradients() const override { return false; }

    torch::Tensor layerMap(const ExplainRequest &request, const CamLayer &layer,
                           const JobContext &ctx, Explanation &out) const override
    {
        const ScaledLayerForward forward(request.model->module(), layer.path);
        const auto &a = layer.activations;
        const int64_t k = a.size(1);
        // Channels zeroed one per pass: all, or the most active (mass < 1: an approximation;
        // the others keep a drop, and so a weight, of 0).
        const auto scored = channelsToScore(a, request.params.getDouble("mass"), layer.path, out);
        const auto count = int64_t(scored.size());
        // Channels are dimension 1 of a spatial output, the last of transformer tokens.
        const bool tokens = layer.output.dim() == 3;
        const int batch = request.params.getInt("batch");
        const auto &x = request.input;
        torch::InferenceMode inference;
        const float reference =
            forward.run(x, torch::ones({1})).select(1, request.target).item<float>();
        out.forwardPasses += 1;
        std::vector<float> drops(size_t(k), 0.0f);
        for (int64_t begin = 0; begin < count; begin += batch) {
            ctx.throwIfCancelled();
            const int64_t end = std::min(count, begin + batch), n = end - begin;
            auto scale = torch::ones({n, k});
            for (int64_t i = 0; i < n; ++i)
                scale[i][scored[size_t(begin + i)]] = 0.0f;
            scale = tokens ? scale.view({n, 1, k}) : scale.view({n, k, 1, 1});
            const auto logits = forward.run(x.expand({n, -1, -1, -1}).contiguous(), scale)
                                    .select(1, request.target)
                                    .contiguous();
            out.forwardPasses += int(n);
            for (int64_t i = 0; i < n; ++i)
                drops[size_t(scored[size_t(begin + i)])] = reference - logits.data_ptr<float>()[i];
            ctx.report(double(end) / double(count), channelsDone(end, count));
        }
        // pytorch-grad-cam's relative drop (a negative target logit flips the weights' signs,
        // as there); a logit of 0 leaves the drops themselves.
        const bool relative = std::abs(reference) > 1e-6f;
        if (!relative)
            out.warnings.push_back("the target logit is 0: channels are weighted by their "
                                   "absolute logit drops");
        const auto weights =
            (torch::tensor(drops) / (relative ? reference : 1.0f)).view({1, k, 1, 1});
        return torch::relu((weights * a).sum(1))[0];
    }
};

} // namespace

std::unique_ptr<Method> makeScoreCam()
{
    return std::make_unique<ScoreCam>();
}
std::unique_ptr<Method> makeAblationCam()
{
    return std::make_unique<AblationCam>();
}

} // namespace heatlens
