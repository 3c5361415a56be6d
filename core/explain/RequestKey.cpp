#include "core/explain/RequestKey.h"

#include "core/data/Dataset.h"
#include "core/explain/MethodRegistry.h"
#include "core/model/Model.h"

namespace heatlens {

RequestKey::RequestKey(const Model &model, const Dataset *dataset, const std::string &sampleId)
    : m_text(model.cacheKey() + "|" + (dataset ? dataset->source() : std::string()) + "|" +
             sampleId)
{}

RequestKey &RequestKey::method(const std::string &methodId, const Params &params)
{
    std::string canonical = params.canonical();
    if (const Method *method = MethodRegistry::instance().find(methodId))
        canonical = completeParams(method->params(), params, methodId).canonical();
    m_text += "|" + methodId + "|" + canonical;
    return *this;
}

RequestKey &RequestKey::target(int target)
{
    m_text += "|target=" + std::to_string(target);
    return *this;
}

RequestKey &RequestKey::options(const std::string &kind, const std::string &canonical)
{
    m_text += "|" + kind + ":" + canonical;
    return *this;
}

} // namespace heatlens
