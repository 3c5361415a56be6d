#include "core/uncertainty/StochasticSource.h"

#include <stdexcept>

namespace heatlens {

std::unique_ptr<StochasticSource> makeMcDropout();
std::unique_ptr<StochasticSource> makeDropConnect();
std::unique_ptr<StochasticSource> makeEnsembleSource();
std::unique_ptr<StochasticSource> makeFlipoutSource();
std::unique_ptr<StochasticSource> makeTtaSource();
std::unique_ptr<StochasticSource> makeInputNoise();

SourceRegistry::SourceRegistry()
{
    m_sources.push_back(makeMcDropout());
    m_sources.push_back(makeDropConnect());
    m_sources.push_back(makeEnsembleSource());
    m_sources.push_back(makeFlipoutSource());
    m_sources.push_back(makeTtaSource());
    m_sources.push_back(makeInputNoise());
}

const SourceRegistry &SourceRegistry::instance()
{
    static const SourceRegistry registry;
    return registry;
}

const StochasticSource *SourceRegistry::find(const std::string &id) const
{
    for (const auto &s : m_sources)
        if (s->id() == id)
            return s.get();
    return nullptr;
}

const StochasticSource &SourceRegistry::get(const std::string &id) const
{
    if (const auto *s = find(id))
        return *s;
    std::string known;
    for (const auto &s : m_sources)
        known += (known.empty() ? "" : ", ") + s->id();
    throw std::invalid_argument("unknown uncertainty source \"" + id + "\" (known: " + known + ")");
}

SampleInput SourceRun::rows(int, int)
{
    throw std::logic_error("this uncertainty source cannot run its samples as rows of a batch");
}

cv::Mat SourceRun::restore(int, const cv::Mat &map, cv::Mat *valid) const
{
    if (valid)
        *valid = cv::Mat();
    return map;
}

uint64_t sampleSeed(uint64_t seed, int64_t sample, int64_t stream)
{
    // SplitMix64 over the three, so that neighbouring samples and streams are unrelated.
    auto mix = [](uint64_t z) {
        z += 0x9e3779b97f4a7c15ULL;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    };
    return mix(mix(mix(seed) ^ uint64_t(sample)) ^ uint64_t(stream));
}

} // namespace heatlens
