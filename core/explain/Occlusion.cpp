#include "core/explain/Perturbation.h"

namespace heatlens {

namespace {

// Zeiler & Fergus 2014, with Captum's averaging: a window slides over the image with a stride;
// each position replaces the window (all channels) by the baseline, and every pixel of the
// window receives the drop of the target logit, f(x) - f(x occluded). A pixel's attribution is
// the mean over the windows that covered it. The map is streamed as windows complete.
class Occlusion : public PerturbationMethod
{
public:
    std::string id() const override { return "occlusion"; }
    std::string name() const override { return "Occlusion"; }
    std::string description() const override
    {
        return "Drop of the target logit when a sliding window is replaced by a baseline.";
    }

protected:
    std::vector<ParamSpec> ownParams() const override
    {
        return {ParamSpec::integer("window", "Window", 0)
                    .range(0, 4096)
                    .describe("Window side in pixels; 0 = an eighth of the shorter input side (at "
                              "least 2)."),
                ParamSpec::integer("stride", "Stride", 0)
                    .range(0, 4096)
                    .describe("Step between windows in pixels; 0 = half the window.")};
    }
    std::string batchHolds() const override { return "Occluded images"; }

    void attribute(const PerturbationInput &in, const JobContext &ctx,
                   Explanation &out) const override
    {
        const int h = in.height, w = in.width;
        int window = in.request.params.getInt("window");
        if (window == 0)
            window = std::max(2, std::min(h, w) / 8);
        window = std::min({window, h, w});
        int stride = in.request.params.getInt("stride");
        if (stride == 0)
            stride = std::max(1, window / 2);

        // Window origins: every stride, plus the last position so the border is covered.
        auto origins = [stride, window](int size) {
            std::vector<int> o;
            for (int i = 0; i + window <= size; i += stride)
                o.push_back(i);
            if (o.back() + window < size)
                o.push_back(size - window);
            return o;
        };
        const auto rows = origins(h), cols = origins(w);
        std::vector<Region> windows;
        for (int r : rows)
            for (int c : cols)
                windows.push_back({r, r + window, c, c + window});

        auto sum = torch::zeros({h, w}), count = torch::zeros({h, w});
        regionDrops(in, windows, "windows", ctx, out,
                    [&](size_t begin, size_t end, const std::vector<float> &drops) {
                        for (size_t k = begin; k < end; ++k) {
                            const auto &g = windows[k];
                            sum.slice(0, g.r0, g.r1).slice(1, g.c0, g.c1) += drops[k];
                            count.slice(0, g.r0, g.r1).slice(1, g.c0, g.c1) += 1.0f;
                        }
                        return sum / count.clamp_min(1.0f);
                    });
        out.map = tensorToMap(sum / count.clamp_min(1.0f));
        out.signedMap = true;
        out.stats["window"] = window;
        out.stats["stride"] = stride;
    }
};

} // namespace

std::unique_ptr<Method> makeOcclusion()
{
    return std::make_unique<Occlusion>();
}

} // namespace heatlens
