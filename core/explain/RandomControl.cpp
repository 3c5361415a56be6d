#include "core/explain/RandomControl.h"

#include "core/explain/MethodSupport.h"

#include <random>

namespace heatlens {

cv::Mat randomMap(int rows, int cols, uint64_t seed)
{
    cv::Mat map(rows, cols, CV_32FC1);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c)
            map.at<float>(r, c) = u(rng);
    return map;
}

namespace {

// The random ranking as a registered control: not an explanation (it ignores the model), the
// curve any method should beat. No forward or backward pass.
class RandomRanking : public Method
{
public:
    std::string id() const override { return "random"; }
    std::string name() const override { return "Random ranking"; }
    std::string family() const override { return "control"; }
    std::string description() const override
    {
        return "A map of seeded uniform noise: the curves any method should beat.";
    }
    std::vector<ParamSpec> params() const override { return {seedParam("the noise map")}; }

    Explanation explain(const ExplainRequest &request, const JobContext &ctx) const override
    {
        ExplanationBuilder builder(request, id());
        Explanation &out = builder.out();
        out.map = randomMap(int(request.input.size(2)), int(request.input.size(3)),
                            uint64_t(request.params.getInt("seed")));
        out.signedMap = false;
        return builder.finish(ctx);
    }
};

} // namespace

std::unique_ptr<Method> makeRandomRanking()
{
    return std::make_unique<RandomRanking>();
}

} // namespace heatlens
