#include "ui/SanitySession.h"

#include "core/explain/ExplainJob.h"
#include "core/explain/MethodRegistry.h"
#include "core/explain/RequestKey.h"
#include "ui/JobRunner.h"
#include "ui/Session.h"

namespace heatlens::ui {

namespace {

QString slot()
{
    return QStringLiteral("sanity");
}

struct SanityPartial
{
    std::string key;
    SanityResult result;
};

} // namespace

SanitySession::SanitySession(Session *session, QObject *parent)
    : QObject(parent)
    , m_session(session)
    , m_cache(session->cacheBudget())
{
    connect(session, &Session::explanationReady, this, &SanitySession::refresh);
    connect(session, &Session::sampleChanged, this, &SanitySession::refresh);
}

void SanitySession::setActive(bool active)
{
    m_active = active;
    if (active)
        refresh();
}

void SanitySession::setOptions(const SanityOptions &options)
{
    m_options = options;
    refresh();
}

void SanitySession::runAgain()
{
    m_cache.erase(key());
    m_session->runner()->cancel(slot());
    refresh();
}

std::string SanitySession::key() const
{
    const auto &o = m_session->outcome();
    if (!m_session->model() || !o)
        return {};
    return RequestKey(*m_session->model(), m_session->dataset().get(),
                      m_session->sampleId().toStdString())
        .method(o->explanation.methodId, o->explanation.params)
        .target(o->explanation.target)
        .options("sanity", m_options.canonical());
}

void SanitySession::show(const SanityResult &result, bool complete)
{
    m_result = result;
    m_complete = complete;
    Q_EMIT resultChanged();
}

void SanitySession::refresh()
{
    const std::string k = key();
    if (k.empty()) {
        Q_EMIT statusChanged(tr("No explanation to check yet."));
        return;
    }
    if (const SanityResult *cached = m_cache.find(k)) {
        show(*cached, true);
        Q_EMIT statusChanged(tr("%1 randomisation steps").arg(cached->steps.size()));
        return;
    }
    JobRunner *runner = m_session->runner();
    if (!m_active || runner->isInFlight(slot(), k))
        return;
    const auto &outcome = *m_session->outcome();
    const ModelPtr model = m_session->model();
    const cv::Mat image = m_session->image().clone();
    const std::string methodId = outcome.explanation.methodId;
    const Params params = outcome.explanation.params;
    const int target = outcome.explanation.target;
    const auto dataset = m_session->dataset();
    const SanityOptions options = m_options;
    m_result.reset();
    m_complete = false;
    Q_EMIT resultChanged();
    Q_EMIT statusChanged(
        tr("Randomising %1 layer by layer...").arg(QString::fromStdString(model->displayName())));
    const QString method = QString::fromStdString(MethodRegistry::instance().get(methodId).name());
    runner->request<SanityResult>(slot(), tr("Sanity check of %1").arg(method), this)
        .key(k)
        .work([=](const JobContext &ctx) {
            torch::Tensor references;
            if (MethodRegistry::instance().get(methodId).usesReferences() && dataset)
                references = drawReferences(*model, *dataset, 64, ctx);
            const auto input = model->preprocess(image);
            return sanityCheck(model, input, target, methodId, params, options, ctx, references,
                               [&](const SanityResult &sofar) {
                                   ctx.reportPartialResult(0.0, SanityPartial{k, sofar},
                                                           "step " +
                                                               std::to_string(sofar.steps.size()));
                               });
        })
        .onPartial<SanityPartial>([this](const SanityPartial &p) {
            if (p.key == key())
                show(p.result, false);
        })
        .onDone([this, k](SanityResult result) {
            m_cache.put(k, result);
            if (k != key())
                return;
            show(result, true);
            Q_EMIT statusChanged(tr("%1 randomisation steps").arg(result.steps.size()));
            Q_EMIT sanityReady();
        })
        .onFailed([this](const QString &message) {
            Q_EMIT statusChanged(tr("Sanity check failed."));
            Q_EMIT errorOccurred(tr("Cannot run the sanity check:\n%1").arg(message));
        })
        .submit();
}

} // namespace heatlens::ui
