#include "core/explain/MethodSupport.h"
#include "core/uncertainty/StochasticSource.h"

#include <sstream>

namespace heatlens {

namespace {

// One test-time augmentation: brightness gain, then a horizontal flip, then a shift of the
// content by (dx, dy) pixels (edges replicated into the uncovered border).
struct Transform
{
    bool flip = false;
    int dx = 0, dy = 0;
    double gain = 1.0;

    std::string text() const
    {
        std::ostringstream out;
        if (flip)
            out << "flip ";
        if (dx || dy)
            out << "shift(" << dx << "," << dy << ") ";
        if (gain != 1.0)
            out << "x" << gain << " ";
        std::string s = out.str();
        return s.empty() ? "identity" : s.substr(0, s.size() - 1);
    }
};

// Every combination of the enabled augmentations; the identity first, the others in an order
// drawn from `seed` (so that the first T of them are a fair sample).
std::vector<Transform> transforms(bool flip, int shift, double brightness, uint64_t seed)
{
    std::vector<std::pair<int, int>> shifts{{0, 0}};
    if (shift > 0)
        shifts.insert(shifts.end(), {{-shift, 0}, {shift, 0}, {0, -shift}, {0, shift}});
    std::vector<double> gains{1.0};
    if (brightness > 0.0)
        gains.insert(gains.end(), {1.0 - brightness, 1.0 + brightness});
    std::vector<Transform> all;
    for (bool f : flip ? std::vector<bool>{false, true} : std::vector<bool>{false})
        for (auto [dx, dy] : shifts)
            for (double g : gains)
                all.push_back({f, dx, dy, g});
    for (size_t i = all.size() - 1; i > 1; --i) // Fisher-Yates over all but the identity
        std::swap(all[i], all[1 + sampleSeed(seed, int64_t(i), 0) % i]);
    return all;
}

class TtaRun : public SourceRun
{
public:
    TtaRun(ModelPtr model, const torch::Tensor &input, std::vector<Transform> list)
        : m_model(std::move(model))
        , m_input(input)
        , m_transforms(std::move(list))
    {
        const auto &card = m_model->card();
        if (!card.mean.empty()) {
            m_mean = torch::tensor(card.mean).view({1, -1, 1, 1});
            m_std = torch::tensor(card.std).view({1, -1, 1, 1});
        }
    }

    int sampleLimit() const override { return int(m_transforms.size()); }
    SampleInput sample(int t) override { return {m_model, apply(at(t))}; }
    bool batchable() const override { return true; }
    SampleInput rows(int first, int n) override
    {
        std::vector<torch::Tensor> rows;
        for (int r = 0; r < n; ++r)
            rows.push_back(apply(at(first + r)));
        return {m_model, torch::cat(rows)};
    }
    cv::Mat restore(int t, const cv::Mat &map, cv::Mat *valid) const override
    {
        const Transform &tr = at(t);
        cv::Mat out = cv::Mat::zeros(map.size(), CV_32FC1);
        cv::Mat ok = cv::Mat::zeros(map.size(), CV_8UC1);
        for (int y = 0; y < map.rows; ++y)
            for (int x = 0; x < map.cols; ++x) {
                const int sy = y + tr.dy, sx = (tr.flip ? map.cols - 1 - x : x) + tr.dx;
                if (sy < 0 || sy >= map.rows || sx < 0 || sx >= map.cols)
                    continue;
                out.at<float>(y, x) = map.at<float>(sy, sx);
                ok.at<uchar>(y, x) = 1;
            }
        if (valid)
            *valid = ok;
        return out;
    }
    std::string description() const override
    {
        std::ostringstream out;
        out << "test-time augmentation: " << m_transforms.size() << " transforms (";
        for (size_t i = 0; i < m_transforms.size() && i < 4; ++i)
            out << (i ? ", " : "") << m_transforms[i].text();
        out << (m_transforms.size() > 4 ? ", ...)" : ")");
        return out.str();
    }

private:
    const Transform &at(int t) const { return m_transforms.at(size_t(t) % m_transforms.size()); }

    torch::Tensor apply(const Transform &tr) const
    {
        torch::Tensor x = m_input;
        if (tr.gain != 1.0) {
            auto raw = m_mean.defined() ? x * m_std + m_mean : x;
            raw = (raw * tr.gain).clamp(0.0, 1.0);
            x = m_mean.defined() ? (raw - m_mean) / m_std : raw;
        }
        if (tr.flip)
            x = x.flip({3});
        if (tr.dx || tr.dy) {
            const int64_t h = x.size(2), w = x.size(3);
            auto rows = (torch::arange(h) - tr.dy).clamp(0, h - 1);
            auto cols = (torch::arange(w) - tr.dx).clamp(0, w - 1);
            x = x.index_select(2, rows).index_select(3, cols);
        }
        return x.contiguous();
    }

    ModelPtr m_model;
    torch::Tensor m_input, m_mean, m_std;
    std::vector<Transform> m_transforms;
};

// Test-time augmentation (pytorch-grad-cam's aug_smooth, ttach): every map is brought back
// through the inverse transform; pixels a shift moved out of the frame have no value there.
class TtaSource : public StochasticSource
{
public:
    std::string id() const override { return "tta"; }
    std::string name() const override { return "Test-time augmentation"; }
    std::string description() const override
    {
        return "Flips, small shifts and brightness changes of the input; every map is brought "
               "back through the inverse transform (shifted-out pixels are counted per pixel).";
    }
    std::vector<ParamSpec> params() const override
    {
        return {
            ParamSpec::flag("flip", "Horizontal flip", true),
            ParamSpec::integer("shift", "Shift", 2)
                .range(0, 64)
                .describe("Shift in pixels of the model input, in each of 4 directions; 0 = none."),
            ParamSpec::real("brightness", "Brightness change", 0.1)
                .range(0.0, 0.5)
                .describe("Gains 1 - b and 1 + b on the pixel values; 0 = none."),
            seedParam("the order of the transforms"),
        };
    }
    bool perturbsInput() const override { return true; }
    std::unique_ptr<SourceRun> prepare(const SourceRequest &request) const override
    {
        const Params &p = request.params;
        auto list = transforms(p.getBool("flip"), p.getInt("shift"), p.getDouble("brightness"),
                               uint64_t(p.getInt("seed")));
        if (list.size() < 2)
            throw std::invalid_argument("tta: every augmentation is off (flip, shift and "
                                        "brightness); turn one on");
        return std::make_unique<TtaRun>(request.model, request.input, std::move(list));
    }
};

} // namespace

std::unique_ptr<StochasticSource> makeTtaSource()
{
    return std::make_unique<TtaSource>();
}

} // namespace heatlens
