#include "ui/GroupsSession.h"

#include "core/explain/RequestKey.h"
#include "core/model/InputImage.h"
#include "ui/JobRunner.h"
#include "ui/Session.h"

namespace heatlens::ui {

namespace {

const QString kSlot = QStringLiteral("groups");

// The leave-one-out and leave-two-out logits behind every single and estimated pair (cached
// already by most estimators: ArchDetect needs exactly these, exact mode has every coalition).
void addLeaveOut(CoalitionGame &game, GroupsResult &r, const JobContext &ctx)
{
    const int p = game.players();
    const PlayerSet all = PlayerSet::all(p);
    std::vector<std::pair<std::pair<int, int>, PlayerSet>> sets = {{{-1, -1}, all}};
    for (int i = 0; i < p; ++i)
        sets.push_back({{i, i}, PlayerSet(all).remove(i)});
    for (const auto &[i, j] : r.interactions.estimatedPairs)
        sets.push_back({{i, j}, PlayerSet(all).remove(i).remove(j)});
    std::vector<PlayerSet> coalitions;
    for (const auto &entry : sets)
        coalitions.push_back(entry.second);
    game.evaluate(coalitions, ctx);
    for (const auto &[key, set] : sets)
        r.leaveOut[key] = game.value(set, r.target);
}

// The model's own answers (additive feature-group models on their groups) and gate weights.
void addModelAnswers(const Model &model, CoalitionGame &game, const GroupingOptions &grouping,
                     GroupsResult &r)
{
    const auto &module = model.module();
    if (grouping.method != "model")
        return;
    torch::NoGradGuard noGrad;
    if (module.find_method("exact_interactions") && game.baseline().defined()) {
        const auto b = game.baseline();
        const auto singles = module.get_method("exact_shapley")({r.input, b}).toTensor();
        const auto pairs = module.get_method("exact_interactions")({r.input, b}).toTensor();
        const int p = game.players();
        r.exactPairs.assign(size_t(p * p), 0.0);
        for (int i = 0; i < p; ++i)
            r.exactSingles.push_back(singles[0][i][r.target].item<double>());
        const auto &listed = model.card().groupPairs;
        for (size_t k = 0; k < listed.size(); ++k) {
            const auto [i, j] = listed[k];
            r.exactPairs[size_t(i * p + j)] = r.exactPairs[size_t(j * p + i)] =
                pairs[0][int64_t(k)][r.target].item<double>();
        }
    }
    if (model.hasGroupAttributions()) {
        const auto w = model.groupAttributions(r.input)[0];
        for (int i = 0; i < game.players(); ++i)
            r.gateWeights.push_back(w[i].item<double>());
    }
}

// The estimate's scores against the model's exact answers, when it has them.
void scoreAgainstExact(GroupsResult &r)
{
    if (r.exactSingles.empty() || !r.computed)
        return;
    r.recovery = r.interactions.estimatedPairs.empty()
                     ? scoreSingles(r.interactions, r.exactSingles)
                     : scoreRecovery(r.interactions, r.exactPairs);
}

} // namespace

size_t bytesHeld(const GroupsResult &r)
{
    return sizeof(GroupsResult) + r.grouping.labels.total() * sizeof(int) + r.leaveOut.size() * 48 +
           size_t(r.input.defined() ? r.input.numel() * 4 : 0) +
           (r.interactions.pairs.size() + r.exactPairs.size()) * sizeof(double) * 2 +
           r.hierarchy.size() * 64 + r.topKImportance.size() * 96;
}

GroupsSession::GroupsSession(Session *session, QObject *parent)
    : QObject(parent)
    , m_session(session)
    , m_cache(session->cacheBudget())
{
    m_grouping.method = "slico";
    m_grouping.groups = 16;
    m_estimate.estimator = "exact";
    m_estimate.index = "k-sii";
    connect(session, &Session::explanationReady, this, &GroupsSession::refresh);
    // A cancelled sampling run keeps its latest streamed estimate, labelled as interrupted.
    connect(session->runner(), &JobRunner::cancelled, this, [this] {
        if (!m_result || !m_result->partial || m_session->runner()->isInFlight(kSlot))
            return;
        std::string &reason = m_result->interactions.stopReason;
        const std::string sofar = "so far: ";
        if (reason.rfind(sofar, 0) != 0)
            return;
        const std::string step = reason.substr(sofar.size()); // "budget 125 of 1000"
        reason = "interrupted at " + step;
        Q_EMIT resultChanged();
        Q_EMIT statusChanged(tr("Interrupted: the estimate at %1 (%2 calls) is shown")
                                 .arg(QString::fromStdString(step))
                                 .arg(m_result->interactions.calls));
    });
    connect(session, &Session::sampleChanged, this, &GroupsSession::refresh);
    connect(session, &Session::modelChanged, this, [this] {
        // A feature-group model is best seen through its own groups.
        const bool grouped = m_session->model() && m_session->model()->card().groupGridRows > 0;
        if (grouped)
            m_grouping.method = "model";
        else if (m_grouping.method == "model")
            m_grouping.method = "slico"; // an ordinary model has no groups of its own
        refresh();
    });
}

void GroupsSession::setActive(bool active)
{
    m_active = active;
    if (active)
        refresh();
}

void GroupsSession::setGrouping(const GroupingOptions &grouping)
{
    m_grouping = grouping;
    refresh();
}

void GroupsSession::setEstimate(const EstimateOptions &estimate)
{
    estimate.validate();
    m_estimate = estimate;
    refresh();
}

void GroupsSession::setMasker(const std::string &fill)
{
    m_fill = fill;
    refresh();
}

std::string GroupsSession::key() const
{
    const auto &o = m_session->outcome();
    if (!m_session->model() || !o)
        return {};
    return RequestKey(*m_session->model(), m_session->dataset().get(),
                      m_session->sampleId().toStdString())
        .target(o->explanation.target)
        .options("groups", m_grouping.canonical() + ";" + m_fill + ";" + m_estimate.canonical());
}

void GroupsSession::run()
{
    submit(true);
}

void GroupsSession::refresh()
{
    const std::string k = key();
    if (k.empty()) {
        Q_EMIT statusChanged(tr("No image to group yet."));
        return;
    }
    if (m_result && m_resultKey == k)
        return; // already showing this request (a plan waiting for Run, or its estimate)
    if (const GroupsResult *cached = m_cache.find(k)) {
        m_result = *cached;
        m_resultKey = k;
        Q_EMIT resultChanged();
        Q_EMIT statusChanged(tr("%1 groups, %2 calls in %3 s")
                                 .arg(cached->grouping.count)
                                 .arg(cached->interactions.calls)
                                 .arg(cached->interactions.seconds, 0, 'f', 2));
        return;
    }
    if (m_active)
        submit(false);
}

void GroupsSession::submit(bool confirmed)
{
    const std::string k = key();
    JobRunner *runner = m_session->runner();
    if (k.empty() || runner->isInFlight(kSlot, k + (confirmed ? "|run" : "")))
        return;
    const ModelPtr model = m_session->model();
    const cv::Mat image = m_session->image().clone();
    const int target = m_session->outcome()->explanation.target;
    const GroupingOptions grouping = m_grouping;
    const EstimateOptions estimate = m_estimate;
    MaskerOptions masker;
    masker.fill = m_fill;
    m_result.reset();
    m_resultKey.clear();
    Q_EMIT resultChanged();
    Q_EMIT statusChanged(tr("Grouping the image..."));
    runner->request<GroupsResult>(kSlot, tr("Groups of %1").arg(m_session->sampleId()), this)
        .key(k + (confirmed ? "|run" : ""))
        .work([=](const JobContext &ctx) {
            GroupsResult r;
            r.input = model->preprocess(image);
            r.target = target;
            r.grouping =
                makeGrouping(inputToRgb8(r.input, model->card()), grouping, &model->card());
            CoalitionGame game(model, r.input, r.grouping, masker, 256);
            // Two batches of coalitions measure this machine's throughput for the plan's ETA
            // (the first pays for TorchScript's profiling runs).
            for (int round = 0; round < 2; ++round) {
                std::vector<PlayerSet> probe;
                for (int k = 32 * round; k < 32 * (round + 1); ++k) {
                    PlayerSet s(game.players());
                    for (int i = 0; i < game.players(); ++i)
                        if ((k * 2654435761u >> (i % 24)) & 1)
                            s.add(i);
                    probe.push_back(s);
                }
                game.evaluate(probe, ctx);
            }
            r.secondsPerCall = game.secondsPerCall();
            r.plannedCalls =
                plannedCalls(game.players(), int(r.grouping.adjacent.size()), estimate);
            addModelAnswers(*model, game, grouping, r);
            if (confirmed || r.plannedCalls * r.secondsPerCall <= autoSeconds()) {
                // Sampling estimators stream the estimate of each doubling step of their
                // budget, shown while the rest runs and kept if the run is cancelled.
                EstimateOptions streamed = estimate;
                streamed.streamSteps = true;
                const JobContext estimating = ctx.sub(0, 0.9);
                const JobContext forward(
                    [&](const ProgressUpdate &u) {
                        const auto *e = std::any_cast<GroupInteractions>(&u.partialResult);
                        if (!e) {
                            estimating.report(u.fraction, u.message);
                            return;
                        }
                        GroupsResult partial = r;
                        partial.interactions = *e;
                        partial.computed = partial.partial = true;
                        scoreAgainstExact(partial);
                        estimating.reportPartialResult(u.fraction, std::move(partial), u.message);
                    },
                    ctx.cancelToken());
                r.interactions = estimateInteractions(game, target, streamed, forward);
                r.hierarchy = agglomerate(game, target, ctx.sub(0.9, 0.95));
                r.topKImportance =
                    topKSetImportance(game, target, r.interactions, kMaxTopK, ctx.sub(0.95, 1.0));
                r.computed = true;
                scoreAgainstExact(r);
                addLeaveOut(game, r, ctx);
            }
            r.masker = masker.fill;
            return r;
        })
        .onPartial<GroupsResult>([this, k](const GroupsResult &partial) {
            if (k != key())
                return;
            m_result = partial;
            m_resultKey = k;
            Q_EMIT resultChanged();
            Q_EMIT statusChanged(tr("%1 groups: the estimate %2 (%3 calls); Cancel keeps it")
                                     .arg(partial.grouping.count)
                                     .arg(QString::fromStdString(partial.interactions.stopReason))
                                     .arg(partial.interactions.calls));
        })
        .onDone([this, k](GroupsResult result) {
            if (result.computed)
                m_cache.put(k, result);
            if (k != key())
                return;
            m_result = std::move(result);
            m_resultKey = k;
            Q_EMIT resultChanged();
            if (m_result->computed) {
                Q_EMIT statusChanged(tr("%1 groups, %2 calls in %3 s")
                                         .arg(m_result->grouping.count)
                                         .arg(m_result->interactions.calls)
                                         .arg(m_result->interactions.seconds, 0, 'f', 2));
                Q_EMIT groupsReady();
            } else {
                Q_EMIT statusChanged(
                    tr("%1 groups: this estimate needs %2 model calls, about %3 s. Run it, or "
                       "pick an estimator with a budget.")
                        .arg(m_result->grouping.count)
                        .arg(m_result->plannedCalls)
                        .arg(m_result->plannedCalls * m_result->secondsPerCall, 0, 'f', 1));
            }
        })
        .onFailed([this](const QString &message) {
            Q_EMIT statusChanged(tr("Grouping failed."));
            Q_EMIT errorOccurred(tr("Cannot compute the groups:\n%1").arg(message));
        })
        .submit();
}

} // namespace heatlens::ui
