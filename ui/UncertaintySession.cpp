#include "ui/UncertaintySession.h"

#include "core/explain/ExplainJob.h"
#include "core/explain/MethodRegistry.h"
#include "core/explain/RequestKey.h"
#include "core/report/ExplanationExport.h"
#include "core/report/UncertaintyExport.h"
#include "ui/JobRunner.h"
#include "ui/Session.h"

#include <filesystem>

namespace heatlens::ui {

namespace {

const QString kSlot = QStringLiteral("uncertainty");
const QString kCurvesSlot = QStringLiteral("uncertainty-curves");
const QString kSanitySlot = QStringLiteral("uncertainty-sanity");

// Samples per distribution in the sanity check: every randomisation step samples again.
constexpr int kSanitySamples = 8;

struct SampledPartial
{
    std::string key;
    SampledInput sampled;
};

struct CurvesPartial
{
    std::string key;
    UncertaintyCurves curves;
};

struct SanityPartial
{
    std::string key;
    UncertaintySanityResult sanity;
};

QString qs(const std::string &s)
{
    return QString::fromStdString(s);
}

} // namespace

size_t bytesHeld(const SampledInput &s)
{
    return bytesHeld(s.result) + size_t(s.input.defined() ? s.input.numel() * 4 : 0);
}

UncertaintySession::UncertaintySession(Session *session, QObject *parent)
    : QObject(parent)
    , m_session(session)
    , m_cache(session->cacheBudget())
    , m_curveCache(session->cacheBudget())
    , m_sanityCache(session->cacheBudget())
{
    m_sourceParams =
        completeParams(SourceRegistry::instance().get(m_sourceId).params(), {}, m_sourceId);
    connect(session, &Session::explanationReady, this, &UncertaintySession::refresh);
    connect(session, &Session::sampleChanged, this, &UncertaintySession::refresh);
    connect(session, &Session::modelChanged, this, &UncertaintySession::refresh);
}

void UncertaintySession::setActive(bool active)
{
    m_active = active;
    if (active)
        refresh();
}

void UncertaintySession::setSource(const std::string &sourceId, const Params &params)
{
    const auto &source = SourceRegistry::instance().get(sourceId);
    m_sourceId = source.id();
    m_sourceParams = completeParams(source.params(), params, source.id());
    refresh();
}

void UncertaintySession::setOptions(const UncertaintyOptions &options)
{
    options.validate();
    m_options = options;
    refresh();
}

void UncertaintySession::setCurveOptions(const UncertaintyCurveOptions &options)
{
    options.validate();
    m_curveOptions = options;
    refreshCurves();
}

void UncertaintySession::runAgain()
{
    m_cache.erase(key());
    m_session->runner()->cancel(kSlot);
    refresh();
}

std::string UncertaintySession::whyNotApplicable() const
{
    if (!m_session->model())
        return {};
    try {
        return SourceRegistry::instance().get(m_sourceId).whyNotApplicable(*m_session->model());
    } catch (const std::exception &e) {
        return e.what();
    }
}

std::string UncertaintySession::key() const
{
    const auto &o = m_session->outcome();
    if (!m_session->model() || !o)
        return {};
    return RequestKey(*m_session->model(), m_session->dataset().get(),
                      m_session->sampleId().toStdString())
        .method(o->explanation.methodId, o->explanation.params)
        .target(o->explanation.target)
        .options("uncertainty",
                 m_sourceId + "{" + m_sourceParams.canonical() + "}" + m_options.canonical());
}

std::string UncertaintySession::curvesKey() const
{
    const std::string k = key();
    return k.empty() ? k : k + "|curves:" + m_curveOptions.canonical();
}

std::string UncertaintySession::sanityKey() const
{
    const std::string k = key();
    return k.empty() ? k : k + "|sanity:" + std::to_string(kSanitySamples);
}

namespace {

std::string exportStem(const std::string &sampleId, const UncertaintyResult &r)
{
    return safeStem(sampleId) + "-" + r.methodId + "-" + r.sourceId;
}

} // namespace

std::vector<std::string> UncertaintySession::existingExportFiles(const std::string &dir) const
{
    std::vector<std::string> existing;
    if (!m_result)
        return existing;
    for (const auto &path : uncertaintyExportPaths(
             *m_result, dir, exportStem(m_session->sampleId().toStdString(), *m_result), {}))
        if (std::filesystem::exists(path))
            existing.push_back(path);
    return existing;
}

std::vector<std::string> UncertaintySession::exportTo(const std::string &dir, bool overwrite) const
{
    if (!m_result || !m_complete || !m_input.defined())
        throw std::runtime_error("nothing to export yet: wait until the samples are complete");
    UncertaintyExportOptions options;
    options.overwrite = overwrite;
    const std::string id = m_session->sampleId().toStdString();
    const std::string stem = exportStem(id, *m_result);
    return exportUncertainty(*m_session->model(), m_input, id, *m_result,
                             m_curvesComplete && m_curves ? &*m_curves : nullptr,
                             m_sanity && !m_sanity->verdict.empty() ? &*m_sanity : nullptr, dir,
                             stem, options);
}

UncertaintyRequest UncertaintySession::request() const
{
    const auto &outcome = *m_session->outcome();
    UncertaintyRequest r;
    r.model = m_session->model();
    r.input = m_input;
    r.target = outcome.explanation.target;
    r.methodId = outcome.explanation.methodId;
    r.params = outcome.explanation.params;
    r.sourceId = m_sourceId;
    r.sourceParams = m_sourceParams;
    r.options = m_options;
    return r;
}

void UncertaintySession::show(const UncertaintyResult &result, bool complete)
{
    m_result = result;
    m_complete = complete;
    Q_EMIT resultChanged();
}

void UncertaintySession::refresh()
{
    const std::string k = key();
    if (k.empty()) {
        Q_EMIT statusChanged(tr("No explanation to sample yet."));
        return;
    }
    if (const std::string why = whyNotApplicable(); !why.empty()) {
        m_result.reset();
        m_curves.reset();
        m_sanity.reset();
        Q_EMIT resultChanged();
        Q_EMIT curvesChanged();
        Q_EMIT sanityChanged();
        Q_EMIT statusChanged(qs(why));
        return;
    }
    if (const SampledInput *cached = m_cache.find(k)) {
        m_input = cached->input;
        show(cached->result, true);
        m_sanity.reset();
        if (const auto *s = m_sanityCache.find(sanityKey()))
            m_sanity = *s;
        Q_EMIT sanityChanged();
        Q_EMIT statusChanged(
            tr("%1 samples: %2").arg(cached->result.samples).arg(qs(cached->result.stopReason)));
        refreshCurves();
        return;
    }
    JobRunner *runner = m_session->runner();
    if (!m_active || runner->isInFlight(kSlot, k))
        return;
    const ModelPtr model = m_session->model();
    const cv::Mat image = m_session->image().clone();
    const auto dataset = m_session->dataset();
    UncertaintyRequest base = [&] {
        m_input = torch::Tensor(); // the worker preprocesses
        return request();
    }();
    m_result.reset();
    m_curves.reset();
    m_sanity.reset();
    m_complete = m_curvesComplete = false;
    Q_EMIT resultChanged();
    Q_EMIT curvesChanged();
    Q_EMIT sanityChanged();
    const QString method = qs(MethodRegistry::instance().get(base.methodId).name());
    const QString source = qs(SourceRegistry::instance().get(m_sourceId).name());
    Q_EMIT statusChanged(tr("Sampling %1 under %2...").arg(method, source));
    runner->request<SampledInput>(kSlot, tr("Uncertainty of %1 under %2").arg(method, source), this)
        .key(k)
        .work([=](const JobContext &ctx) {
            UncertaintyRequest r = base;
            r.input = model->preprocess(image);
            if (MethodRegistry::instance().get(r.methodId).usesReferences() && dataset)
                r.references = drawReferences(*model, *dataset, 64, ctx);
            SampledInput out;
            out.input = r.input;
            out.result = explainUncertainty(r, ctx, [&](const UncertaintyResult &sofar) {
                if (!sofar.complete)
                    ctx.reportPartialResult(double(sofar.samples) / r.options.maxSamples,
                                            SampledPartial{k, {sofar, r.input}},
                                            std::to_string(sofar.samples) + " samples");
            });
            return out;
        })
        .onPartial<SampledPartial>([this](const SampledPartial &p) {
            if (p.key != key())
                return;
            m_input = p.sampled.input;
            show(p.sampled.result, false);
            Q_EMIT statusChanged(tr("%1 samples so far...").arg(p.sampled.result.samples));
        })
        .onDone([this, k](SampledInput sampled) {
            m_cache.put(k, sampled);
            if (k != key())
                return;
            m_input = sampled.input;
            show(sampled.result, true);
            Q_EMIT statusChanged(tr("%1 samples: %2")
                                     .arg(sampled.result.samples)
                                     .arg(qs(sampled.result.stopReason)));
            Q_EMIT uncertaintyReady();
            refreshCurves();
        })
        .onFailed([this](const QString &message) {
            Q_EMIT statusChanged(tr("Sampling failed."));
            Q_EMIT errorOccurred(
                tr("Cannot sample the explanation's uncertainty:\n%1").arg(message));
        })
        .submit();
}

void UncertaintySession::refreshCurves()
{
    const std::string k = curvesKey();
    if (k.empty() || !m_complete || !m_result)
        return;
    if (const UncertaintyCurves *cached = m_curveCache.find(k)) {
        m_curves = *cached;
        m_curvesComplete = true;
        Q_EMIT curvesChanged();
        return;
    }
    JobRunner *runner = m_session->runner();
    if (!m_active || runner->isInFlight(kCurvesSlot, k))
        return;
    if (m_curveOptions.ranking == "p5" && m_result->percentiles.empty()) {
        Q_EMIT statusChanged(tr("Ranking by the 5th percentile needs the percentiles: turn them "
                                "on and sample again."));
        return;
    }
    const UncertaintyRequest r = request();
    const UncertaintyResult result = *m_result;
    const UncertaintyCurveOptions options = m_curveOptions;
    m_curves.reset();
    m_curvesComplete = false;
    Q_EMIT curvesChanged();
    runner
        ->request<UncertaintyCurves>(kCurvesSlot, tr("Banded %1 curves").arg(qs(options.kind)),
                                     this)
        .key(k)
        .work([=](const JobContext &ctx) {
            return uncertaintyCurves(r, result, options, ctx, [&](const UncertaintyCurves &sofar) {
                ctx.reportPartialResult(0.0, CurvesPartial{k, sofar});
            });
        })
        .onPartial<CurvesPartial>([this](const CurvesPartial &p) {
            if (p.key != curvesKey())
                return;
            m_curves = p.curves;
            Q_EMIT curvesChanged();
        })
        .onDone([this, k](UncertaintyCurves curves) {
            m_curveCache.put(k, curves);
            if (k != curvesKey())
                return;
            m_curves = std::move(curves);
            m_curvesComplete = true;
            Q_EMIT curvesChanged();
        })
        .onFailed([this](const QString &message) {
            Q_EMIT errorOccurred(tr("Cannot compute the banded curves:\n%1").arg(message));
        })
        .submit();
}

void UncertaintySession::checkSanity()
{
    const std::string k = sanityKey();
    if (k.empty() || !m_input.defined())
        return;
    if (const auto *cached = m_sanityCache.find(k)) {
        m_sanity = *cached;
        Q_EMIT sanityChanged();
        return;
    }
    JobRunner *runner = m_session->runner();
    if (runner->isInFlight(kSanitySlot, k))
        return;
    UncertaintyRequest r = request();
    r.options.maxSamples = kSanitySamples;
    r.options.targetError = 0.0;
    Q_EMIT statusChanged(
        tr("Randomising the model layer by layer, %1 samples each...").arg(kSanitySamples));
    runner->request<UncertaintySanityResult>(kSanitySlot, tr("Sanity of the uncertainty"), this)
        .key(k)
        .work([=](const JobContext &ctx) {
            return uncertaintySanity(r, SanityOptions{}, ctx,
                                     [&](const UncertaintySanityResult &sofar) {
                                         ctx.reportPartialResult(0.0, SanityPartial{k, sofar});
                                     });
        })
        .onPartial<SanityPartial>([this](const SanityPartial &p) {
            if (p.key != sanityKey())
                return;
            m_sanity = p.sanity;
            Q_EMIT sanityChanged();
        })
        .onDone([this, k](UncertaintySanityResult sanity) {
            m_sanityCache.put(k, sanity);
            if (k != sanityKey())
                return;
            m_sanity = std::move(sanity);
            Q_EMIT sanityChanged();
            Q_EMIT statusChanged(qs(m_sanity->verdict));
        })
        .onFailed([this](const QString &message) {
            Q_EMIT errorOccurred(tr("Cannot run the sanity check:\n%1").arg(message));
        })
        .submit();
}

} // namespace heatlens::ui
