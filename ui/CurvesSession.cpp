#include "ui/CurvesSession.h"

#include "core/data/Dataset.h"
#include "core/explain/ExplainJob.h"
#include "core/explain/MethodRegistry.h"
#include "core/explain/RequestKey.h"
#include "core/metrics/MethodCurves.h"
#include "ui/JobRunner.h"
#include "ui/Session.h"
#include "ui/figure/Figures.h"

#include <opencv2/core.hpp>

#include <algorithm>

namespace heatlens::ui {

namespace {

constexpr uint64_t kCurveSeed = 0; // of the curves' random baselines

QString qs(const std::string &s)
{
    return QString::fromStdString(s);
}

QString slot()
{
    return QStringLiteral("curves");
}

QString curveCount(int n)
{
    return n == 1 ? CurvesSession::tr("1 curve") : CurvesSession::tr("%1 curves").arg(n);
}

} // namespace

size_t bytesHeld(const CurvesSession::Stored &stored)
{
    return sizeof(stored) + bytesHeld(stored.curve) +
           (stored.images ? stored.images->bytesHeld() : 0);
}

CurvesSession::CurvesSession(Session *session, QObject *parent)
    : QObject(parent)
    , m_session(session)
    , m_curves(session->cacheBudget())
    , m_maps(session->cacheBudget())
{
    connect(session, &Session::explanationReady, this, &CurvesSession::refresh);
    connect(session, &Session::sampleChanged, this, &CurvesSession::refresh);
    connect(session, &Session::explanationStarted, this, [this] {
        // The explanation is about to change: it goes first on the one compute lane.
        cancelJob();
        Q_EMIT statusChanged(tr("Waiting for the explanation of %1...").arg(m_session->methodId()));
    });
    connect(session, &Session::modelChanged, this, [this] {
        // Methods that do not apply to the new model leave the plot before anything is computed.
        std::set<std::string> ids = m_compare;
        for (const Entry &pin : m_pins)
            ids.insert(pin.methodId);
        for (const std::string &id : ids) {
            const Method *method = MethodRegistry::instance().find(id);
            std::string why;
            try {
                why = method && m_session->model() ? method->whyNotApplicable(*m_session->model())
                                                   : std::string();
            } catch (const std::exception &e) {
                why = e.what();
            }
            if (!why.empty())
                dropPinsOf(id);
        }
        refresh();
    });
}

CurvesSession::~CurvesSession() = default;

void CurvesSession::setActive(bool active)
{
    m_active = active;
    if (active) {
        refresh();
    } else {
        // Only while visible: the lane goes back to whatever the user looks at now.
        cancelJob();
        Q_EMIT linesChanged();
    }
}

void CurvesSession::setSettings(const Settings &settings)
{
    m_settings = settings;
    refresh();
}

CurveOptions CurvesSession::options(const std::string &mode) const
{
    CurveOptions o;
    o.mode = mode;
    o.order = m_settings.order;
    o.baseline = m_settings.baseline;
    o.steps = m_settings.steps;
    o.cells = m_settings.cells;
    o.seed = kCurveSeed;
    return o;
}

void CurvesSession::setCompared(const std::string &methodId, bool on)
{
    if (on == (m_compare.count(methodId) != 0))
        return;
    if (on)
        m_compare.insert(methodId);
    else
        m_compare.erase(methodId);
    refresh();
}

std::string CurvesSession::contextKey() const
{
    const auto &outcome = m_session->outcome();
    if (!outcome || !m_session->model())
        return {};
    return RequestKey(*m_session->model(), m_session->dataset().get(),
                      m_session->sampleId().toStdString())
        .target(outcome->explanation.target);
}

std::string CurvesSession::mapKey(const Entry &entry) const
{
    return contextKey() + "|" + entry.methodKey;
}

std::string CurvesSession::curveKey(const Entry &entry, const std::string &mode) const
{
    return mapKey(entry) + "|curve:" + options(mode).canonical();
}

bool CurvesSession::hasCurrent() const
{
    return m_session->outcome() && m_session->model();
}

std::vector<CurvesSession::Entry> CurvesSession::entries() const
{
    std::vector<Entry> list;
    if (!hasCurrent())
        return list;
    const auto &outcome = m_session->outcome();
    std::set<std::string> seen;
    auto add = [&](Entry e) {
        if (seen.insert(e.methodKey).second)
            list.push_back(std::move(e));
    };
    auto methodEntry = [](const std::string &id, const Params &params) {
        const MethodRegistry &registry = MethodRegistry::instance();
        const Method &method = registry.get(id);
        const Params complete = completeParams(method.params(), params, id);
        return Entry{id + "|" + complete.canonical(), id, complete, methodDisplayName(id, complete),
                     registry.isControl(id),          {}, {}};
    };
    add(methodEntry(outcome->explanation.methodId, outcome->explanation.params));
    const std::string context = contextKey();
    for (const Entry &e : m_pins)
        if (e.context.empty() || e.context == context)
            add(e);
    for (const auto *methods :
         {&MethodRegistry::instance().methods(), &MethodRegistry::instance().controls()})
        for (const auto &method : *methods)
            if (m_compare.count(method->id()))
                add(methodEntry(method->id(), {}));
    return list;
}

std::vector<CurvesSession::Line> CurvesSession::lines() const
{
    std::vector<Line> out;
    const auto list = entries();
    for (size_t e = 0; e < list.size(); ++e)
        for (const std::string &mode : m_settings.modes) {
            const std::string key = curveKey(list[e], mode);
            out.push_back(
                {key, list[e].methodKey, list[e].name, mode, list[e].control, e == 0, find(key)});
        }
    return out;
}

const CurvesSession::Stored *CurvesSession::find(const std::string &curveKey) const
{
    if (const Stored *stored = m_curves.peek(curveKey))
        return stored;
    if (auto it = m_streaming.find(curveKey); it != m_streaming.end())
        return &it->second;
    return nullptr;
}

bool CurvesSession::isComputing() const
{
    return m_session->runner()->isInFlight(slot());
}

void CurvesSession::refresh()
{
    if (const auto &outcome = m_session->outcome(); outcome && m_session->model()) {
        // The current explanation's map serves pins and later option changes too.
        const Method &method = MethodRegistry::instance().get(outcome->explanation.methodId);
        const std::string key =
            contextKey() + "|" + method.id() + "|" +
            completeParams(method.params(), outcome->explanation.params, method.id()).canonical();
        if (!m_maps.contains(key))
            m_maps.put(key, outcome->explanation.map);
    }
    // Eviction leaves what the plot shows alone (that would compute it again and again).
    std::set<std::string> shown;
    for (const Line &line : lines())
        shown.insert(line.curveKey);
    m_curves.keepOnly(std::move(shown));
    Q_EMIT linesChanged();
    if (m_active)
        submit();
}

void CurvesSession::submit()
{
    const auto &outcome = m_session->outcome();
    const ModelPtr model = m_session->model();
    std::vector<CurveTask> tasks;
    if (outcome && model && !m_session->image().empty()) {
        for (const Entry &entry : entries())
            for (const std::string &mode : m_settings.modes) {
                const std::string key = curveKey(entry, mode);
                if (const Stored *stored = m_curves.peek(key); stored && stored->complete)
                    continue;
                CurveTask task;
                task.curveKey = key;
                task.mapKey = mapKey(entry);
                task.methodKey = entry.methodKey;
                task.methodId = entry.methodId;
                task.params = entry.params;
                if (!entry.map.empty())
                    task.map = entry.map;
                else if (const cv::Mat *map = m_maps.find(task.mapKey))
                    task.map = *map;
                task.options = options(mode);
                task.name = entry.name.toStdString();
                task.label = (entry.name + QLatin1Char(' ') + qs(mode)).toStdString();
                tasks.push_back(std::move(task));
            }
    }
    std::string jobKey;
    for (const auto &t : tasks)
        jobKey += t.curveKey + "\n";
    JobRunner *runner = m_session->runner();
    if (!tasks.empty() && runner->isInFlight(slot(), jobKey))
        return; // the job in flight computes exactly this
    cancelJob();
    if (tasks.empty())
        return;
    m_jobTimer.start();
    const int target = outcome->explanation.target;
    Q_EMIT statusChanged(tr("Computing %1...").arg(curveCount(int(tasks.size()))));
    runner
        ->request<std::vector<CurveUpdate>>(slot(), tr("Curves of %1").arg(m_session->sampleId()),
                                            this)
        .key(jobKey)
        .work([model, image = m_session->image(), dataset = m_session->dataset(), target,
               tasks](const JobContext &ctx) {
            return methodCurves(model, image, dataset, target, tasks, ctx);
        })
        .onPartial<CurveUpdate>([this](const CurveUpdate &update) {
            onUpdate(update);
            Q_EMIT pointsArrived();
        })
        .onDone([this](std::vector<CurveUpdate> updates) {
            for (const auto &update : updates)
                onUpdate(update);
            m_streaming.clear();
            Q_EMIT linesChanged();
            Q_EMIT message(tr("Curves of %1: %2 in %3 s")
                               .arg(m_session->sampleId(), curveCount(int(updates.size())))
                               .arg(m_jobTimer.elapsed() / 1000.0, 0, 'f', 2));
        })
        .onFailed([this](const QString &message) {
            Q_EMIT statusChanged(tr("The curves could not be computed: %1").arg(message));
            Q_EMIT errorOccurred(
                tr("Cannot compute the curves of %1:\n%2").arg(m_session->sampleId(), message));
        })
        .submit();
}

void CurvesSession::onUpdate(const CurveUpdate &update)
{
    if (!update.mapKey.empty() && !m_maps.contains(update.mapKey))
        m_maps.put(update.mapKey, update.map);
    if (!update.failedMethod.empty()) {
        // Dropped from the plot, so that it is not tried again on every change.
        const std::string key = update.failedMethod;
        m_pins.erase(std::remove_if(m_pins.begin(), m_pins.end(),
                                    [&](const Entry &e) { return e.methodKey == key; }),
                     m_pins.end());
        const std::string id = key.substr(0, key.find('|'));
        if (m_compare.erase(id))
            Q_EMIT methodDropped(id);
        Q_EMIT errorOccurred(tr("%1 cannot explain %2 for the curves comparison:\n%3")
                                 .arg(qs(update.failedName), m_session->sampleId(),
                                      QString::fromStdString(update.error)));
    }
    if (!update.curveKey.empty()) {
        Stored stored{update.curve, update.images, update.complete};
        if (update.complete) {
            m_streaming.erase(update.curveKey);
            m_curves.put(update.curveKey, std::move(stored));
        } else {
            m_streaming[update.curveKey] = std::move(stored);
        }
    }
}

void CurvesSession::pin()
{
    const auto list = entries();
    if (list.empty())
        return;
    const Entry &current = list.front();
    for (const Entry &e : m_pins)
        if (e.methodKey == current.methodKey)
            return;
    m_pins.push_back(current);
    Q_EMIT message(tr("Pinned %1 on the Curves tab").arg(current.name));
    refresh();
}

void CurvesSession::pinMethod(const std::string &methodId, const Params &params)
{
    const MethodRegistry &registry = MethodRegistry::instance();
    const Method &method = registry.get(methodId);
    const Params complete = completeParams(method.params(), params, methodId);
    Entry entry{methodId + "|" + complete.canonical(),
                methodId,
                complete,
                methodDisplayName(methodId, complete),
                registry.isControl(methodId),
                {},
                {}};
    for (const Entry &e : m_pins)
        if (e.methodKey == entry.methodKey)
            return;
    m_pins.push_back(std::move(entry));
    refresh();
}

std::vector<std::pair<std::string, Params>> CurvesSession::pinnedMethods() const
{
    std::vector<std::pair<std::string, Params>> out;
    for (const Entry &e : m_pins)
        if (!e.methodId.empty())
            out.push_back({e.methodId, e.params});
    return out;
}

void CurvesSession::addMapCurve(const QString &name, const cv::Mat &inputMap)
{
    const std::string context = contextKey();
    if (context.empty() || inputMap.empty())
        return;
    Entry entry;
    entry.methodKey = "map:" + name.toStdString() + "|" + std::to_string(cv::sum(inputMap)[0]);
    entry.name = name;
    entry.map = inputMap.clone();
    entry.context = context;
    m_pins.erase(std::remove_if(m_pins.begin(), m_pins.end(),
                                [&](const Entry &e) { return e.methodKey == entry.methodKey; }),
                 m_pins.end());
    m_pins.push_back(std::move(entry));
    Q_EMIT message(tr("Pinned %1 on the Curves tab").arg(name));
    refresh();
}

void CurvesSession::clearPins()
{
    m_pins.clear();
    refresh();
}

void CurvesSession::dropPinsOf(const std::string &methodId)
{
    if (methodId.empty())
        return; // given maps have no method
    m_pins.erase(std::remove_if(m_pins.begin(), m_pins.end(),
                                [&](const Entry &e) { return e.methodId == methodId; }),
                 m_pins.end());
    m_compare.erase(methodId);
}

void CurvesSession::cancelJob()
{
    if (m_session->runner()->isInFlight(slot()))
        m_session->runner()->cancel(slot());
    m_streaming.clear();
}

} // namespace heatlens::ui
