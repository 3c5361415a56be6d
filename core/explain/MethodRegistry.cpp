#include "core/explain/MethodRegistry.h"

#include <stdexcept>

namespace heatlens {

// Factories, one per method file.
std::unique_ptr<Method> makeSaliency();
std::unique_ptr<Method> makeIntegratedGradients();
std::unique_ptr<Method> makeGradCam();
std::unique_ptr<Method> makeInputXGradient();
std::unique_ptr<Method> makeSmoothGrad();
std::unique_ptr<Method> makeOcclusion();
std::unique_ptr<Method> makeFeatureAblation();
std::unique_ptr<Method> makeRise();
std::unique_ptr<Method> makeLime();
std::unique_ptr<Method> makeKernelShap();
std::unique_ptr<Method> makeGradCamPlusPlus();
std::unique_ptr<Method> makeHiResCam();
std::unique_ptr<Method> makeXGradCam();
std::unique_ptr<Method> makeLayerCam();
std::unique_ptr<Method> makeEigenCam();
std::unique_ptr<Method> makeGuidedBackprop();
std::unique_ptr<Method> makeGradientShap();
std::unique_ptr<Method> makeDeconvNet();
std::unique_ptr<Method> makeGuidedGradCam();
std::unique_ptr<Method> makeScoreCam();
std::unique_ptr<Method> makeAblationCam();
std::unique_ptr<Method> makeRawAttention();
std::unique_ptr<Method> makeAttentionRollout();
std::unique_ptr<Method> makeAttentionRelevance();
std::unique_ptr<Method> makeRandomRanking();

MethodRegistry::MethodRegistry()
{
    m_methods.push_back(makeSaliency());
    m_methods.push_back(makeInputXGradient());
    m_methods.push_back(makeIntegratedGradients());
    m_methods.push_back(makeSmoothGrad());
    m_methods.push_back(makeGradientShap());
    m_methods.push_back(makeGuidedBackprop());
    m_methods.push_back(makeDeconvNet());
    m_methods.push_back(makeGuidedGradCam());
    m_methods.push_back(makeGradCam());
    m_methods.push_back(makeGradCamPlusPlus());
    m_methods.push_back(makeHiResCam());
    m_methods.push_back(makeXGradCam());
    m_methods.push_back(makeLayerCam());
    m_methods.push_back(makeEigenCam());
    m_methods.push_back(makeScoreCam());
    m_methods.push_back(makeAblationCam());
    m_methods.push_back(makeOcclusion());
    m_methods.push_back(makeFeatureAblation());
    m_methods.push_back(makeRise());
    m_methods.push_back(makeLime());
    m_methods.push_back(makeKernelShap());
    m_methods.push_back(makeRawAttention());
    m_methods.push_back(makeAttentionRollout());
    m_methods.push_back(makeAttentionRelevance());

    m_controls.push_back(makeRandomRanking());
}

const MethodRegistry &MethodRegistry::instance()
{
    static const MethodRegistry registry;
    return registry;
}

const Method *MethodRegistry::find(const std::string &id) const
{
    for (const auto *list : {&m_methods, &m_controls})
        for (const auto &m : *list)
            if (m->id() == id)
                return m.get();
    return nullptr;
}

bool MethodRegistry::isControl(const std::string &id) const
{
    for (const auto &m : m_controls)
        if (m->id() == id)
            return true;
    return false;
}

const Method &MethodRegistry::get(const std::string &id) const
{
    if (const Method *m = find(id))
        return *m;
    std::string known;
    for (const auto *list : {&m_methods, &m_controls})
        for (const auto &m : *list)
            known += (known.empty() ? "" : ", ") + m->id();
    throw std::invalid_argument("unknown method \"" + id + "\" (known: " + known + ")");
}

} // namespace heatlens
