#include "ui/JobRunner.h"

#include "core/model/Threads.h"

#include <QPointer>

#include <c10/util/Exception.h>

#include <algorithm>
#include <chrono>

namespace heatlens::ui {

struct JobRunner::Entry
{
    uint64_t id = 0;
    Job job;
    CancelToken token;
    // Read and cleared on the GUI thread only: the worker never touches the context object,
    // which the GUI thread may delete while the job runs.
    QPointer<QObject> context;
    std::chrono::steady_clock::time_point lastReport;
};

namespace {

QString firstLine(const std::string &text)
{
    const auto begin = text.find_first_not_of("\n ");
    if (begin == std::string::npos)
        return QString::fromStdString(text);
    return QString::fromStdString(text.substr(begin, text.find('\n', begin) - begin));
}

} // namespace

JobRunner::JobRunner(QObject *parent)
    : QObject(parent)
    , m_worker([this] { workerLoop(); })
{}

JobRunner::~JobRunner()
{
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
        m_pending.clear();
        if (m_running)
            m_running->token.cancel();
    }
    m_wake.notify_all();
    m_worker.join();
}

bool JobRunner::submit(Job job)
{
    if (!job.key.empty() && isInFlight(job.slot, job.key))
        return false; // the job in flight computes exactly this
    auto entry = std::make_shared<Entry>();
    entry->id = m_nextId++;
    entry->context = job.context;
    entry->job = std::move(job);
    m_inFlight[entry->job.slot] = {entry->id, entry->job.key};
    {
        std::lock_guard lock(m_mutex);
        const QString &slot = entry->job.slot;
        dropPending(slot);
        if (m_running && m_running->job.slot == slot)
            m_running->token.cancel();
        m_pending.push_back(entry);
    }
    setBusy(true);
    m_wake.notify_one();
    return true;
}

bool JobRunner::isInFlight(const QString &slot, const std::string &key) const
{
    auto it = m_inFlight.find(slot);
    return it != m_inFlight.end() && it->second.key == key;
}

bool JobRunner::isInFlight(const QString &slot) const
{
    return m_inFlight.count(slot) != 0;
}

void JobRunner::finished(const Entry &entry)
{
    auto it = m_inFlight.find(entry.job.slot);
    if (it != m_inFlight.end() && it->second.id == entry.id)
        m_inFlight.erase(it);
}

void JobRunner::dropPending(const QString &slot)
{
    m_pending.erase(std::remove_if(m_pending.begin(), m_pending.end(),
                                   [&](const auto &e) { return e->job.slot == slot; }),
                    m_pending.end());
}

void JobRunner::cancel(const QString &slot)
{
    m_inFlight.erase(slot);
    std::lock_guard lock(m_mutex);
    dropPending(slot);
    if (m_running && m_running->job.slot == slot)
        m_running->token.cancel();
}

void JobRunner::cancelAll()
{
    m_inFlight.clear();
    std::lock_guard lock(m_mutex);
    m_pending.clear();
    if (m_running)
        m_running->token.cancel();
}

bool JobRunner::isBusy() const
{
    std::lock_guard lock(m_mutex);
    return m_running || !m_pending.empty();
}

void JobRunner::post(std::function<void()> delivery)
{
    {
        std::lock_guard lock(m_deliveryMutex);
        m_deliveries.push_back(std::move(delivery));
        if (m_deliveryScheduled)
            return;
        m_deliveryScheduled = true;
    }
    // By name: the call carries no data of ours, only the wake-up.
    QMetaObject::invokeMethod(this, "deliverPosted", Qt::QueuedConnection);
}

void JobRunner::deliverPosted()
{
    std::deque<std::function<void()>> deliveries;
    {
        std::lock_guard lock(m_deliveryMutex);
        deliveries.swap(m_deliveries);
        m_deliveryScheduled = false;
    }
    for (auto &delivery : deliveries)
        delivery();
}

void JobRunner::setBusy(bool busy)
{
    post([this, busy] {
        if (busy == m_busy || (!busy && isBusy()))
            return;
        m_busy = busy;
        Q_EMIT busyChanged(busy);
    });
}

void JobRunner::workerLoop()
{
    for (;;) {
        std::shared_ptr<Entry> entry;
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [this] { return m_stopping || !m_pending.empty(); });
            if (m_stopping)
                return;
            entry = m_pending.front();
            m_pending.pop_front();
            m_running = entry;
        }
        runEntry(entry);
        {
            std::lock_guard lock(m_mutex);
            m_running.reset();
        }
        setBusy(false);
    }
}

void JobRunner::forwardProgress(const std::shared_ptr<Entry> &entry, const ProgressUpdate &update)
{
    // At most ~30 reports a second reach the GUI, but always the final one and partial results.
    const auto now = std::chrono::steady_clock::now();
    if (update.fraction < 1.0 && !update.hasPartial() &&
        now - entry->lastReport < std::chrono::milliseconds(33))
        return;
    entry->lastReport = now;
    post([this, entry, update] {
        if (entry->token.isCancelled())
            return;
        Q_EMIT progress(entry->job.description, update.fraction,
                        QString::fromStdString(update.message));
        if (entry->job.partial && entry->context)
            entry->job.partial(update);
    });
}

void JobRunner::runEntry(const std::shared_ptr<Entry> &entry)
{
    JobContext ctx([this, entry](const ProgressUpdate &u) { forwardProgress(entry, u); },
                   entry->token);
    // Everything is posted to the runner (alive until the worker is joined); the delivered
    // lambdas check the context on the GUI thread. Posting to the context itself, read here,
    // crashed when the GUI thread deleted it during the job (seen once in CI: SIGSEGV in
    // invokeMethod on the deleted object).
    try {
        ctx.throwIfCancelled();
        applyThreadSettingsHere(); // the viewer's thread setting may have changed
        std::any result = entry->job.work(ctx);
        ctx.throwIfCancelled();
        post([this, entry, result = std::move(result)] {
            finished(*entry);
            if (!entry->token.isCancelled() && entry->context && entry->job.done)
                entry->job.done(result);
        });
        return;
    } catch (const Cancelled &) {
        post([this, entry] {
            finished(*entry);
            Q_EMIT cancelled(entry->job.description);
        });
        return;
    } catch (const c10::Error &e) {
        const QString message = firstLine(e.what_without_backtrace());
        post([this, entry, message] { reportFailure(entry, message); });
    } catch (const std::exception &e) {
        const QString message = firstLine(e.what());
        post([this, entry, message] { reportFailure(entry, message); });
    }
}

void JobRunner::reportFailure(const std::shared_ptr<Entry> &entry, const QString &message)
{
    finished(*entry);
    if (entry->token.isCancelled() || (entry->job.context && !entry->context))
        return; // superseded, or its receiver is gone
    if (entry->job.failed && entry->context)
        entry->job.failed(message);
    else
        Q_EMIT error(entry->job.description + ": " + message);
}

} // namespace heatlens::ui
