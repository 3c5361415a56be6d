#pragma once

#include "core/jobs/Progress.h"

#include <QObject>
#include <QString>

#include <any>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>

namespace heatlens::ui {

template<typename T> class JobRequest;

// The one bridge from widgets to core: runs jobs one at a time on a worker thread (one compute
// lane for LibTorch), passing each a JobContext for progress and cancellation. A job belongs to
// a slot ("explain", "curves", ...) and may name what it computes by a key (a RequestKey text):
// submitting to a slot drops the slot's pending job and cancels its running one, so a new
// request supersedes a stale one, unless the job in flight in that slot has the same key (then
// nothing is submitted: it computes exactly this already). Results, errors and progress come
// back on the GUI thread, typed, delivered to a context object; if that object is gone, nothing
// is delivered. The destructor cancels everything and waits for the worker.
//
//   runner->request<ExplainOutcome>("explain", tr("Saliency on 12"), this)
//       .key(key)
//       .work([job](const JobContext &ctx) { return runExplain(job, ctx); })
//       .onProgress([this](const ProgressUpdate &u) { ... u.partialMap ... })
//       .onPartial<CurveUpdate>(...)        // typed partial results, when the work has them
//       .onDone([this](ExplainOutcome outcome) { ... })
//       .onFailed([this](const QString &message) { ... }) // else the error() signal
//       .submit();
class JobRunner : public QObject
{
    Q_OBJECT

public:
    using Failed = std::function<void(const QString &)>;
    using Partial = std::function<void(const ProgressUpdate &)>;

    explicit JobRunner(QObject *parent = nullptr);
    ~JobRunner() override;

    // A job for `slot`, shown as `description` next to the progress bar, delivering to
    // `context` (nullptr: results are dropped, failures go to the error() signal).
    template<typename T>
    JobRequest<T> request(const QString &slot, const QString &description, QObject *context);

    // Whether a job with this key (any key) was submitted to `slot` and has neither delivered
    // its result or failure nor been cancelled or superseded. GUI thread only.
    bool isInFlight(const QString &slot, const std::string &key) const;
    bool isInFlight(const QString &slot) const;
    void cancel(const QString &slot);
    void cancelAll();
    bool isBusy() const;

Q_SIGNALS:
    void busyChanged(bool busy);
    void progress(const QString &description, double fraction, const QString &message);
    void error(const QString &message);
    void cancelled(const QString &description);

private:
    template<typename T> friend class JobRequest;
    using Work = std::function<std::any(const JobContext &)>;
    using Done = std::function<void(std::any)>;
    struct Job
    {
        QString slot;
        std::string key;
        QString description;
        Work work;
        QObject *context = nullptr;
        Done done;
        Failed failed;
        Partial partial;
    };
    struct Entry;
    struct InFlight
    {
        uint64_t id = 0;
        std::string key;
    };
    bool submit(Job job);
    void finished(const Entry &entry); // GUI thread: the entry no longer counts as in flight
    // Hand-offs from the worker to the GUI thread: queued under a std::mutex and drained by
    // deliverPosted() on the GUI thread, which a queued call by name wakes. Nothing the worker
    // hands over travels inside Qt's event queue, so its ordering is visible to
    // ThreadSanitizer (Qt's own locks are futexes it cannot see) and to a reader.
    void post(std::function<void()> delivery);
    Q_INVOKABLE void deliverPosted();
    void workerLoop();
    void runEntry(const std::shared_ptr<Entry> &entry);
    void setBusy(bool busy);
    void dropPending(const QString &slot); // m_mutex held
    void forwardProgress(const std::shared_ptr<Entry> &entry, const ProgressUpdate &update);
    void reportFailure(const std::shared_ptr<Entry> &entry, const QString &message);

    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<std::shared_ptr<Entry>> m_pending;
    std::shared_ptr<Entry> m_running;
    bool m_stopping = false;
    bool m_busy = false;
    std::mutex m_deliveryMutex;
    std::deque<std::function<void()>> m_deliveries;
    bool m_deliveryScheduled = false;
    std::map<QString, InFlight> m_inFlight; // GUI thread only
    uint64_t m_nextId = 1;
    std::thread m_worker;
};

// A job being described; submit() hands it to the runner. The result type T (void for jobs
// whose results all come as partial ones) is checked at compile time, not cast by callers.
namespace detail {
template<typename T> struct DoneOf
{
    using type = std::function<void(T)>;
};
template<> struct DoneOf<void>
{
    using type = std::function<void()>;
};
} // namespace detail

template<typename T> class JobRequest
{
public:
    using DoneFn = typename detail::DoneOf<T>::type;

    JobRequest(JobRunner *runner, JobRunner::Job job)
        : m_runner(runner)
        , m_job(std::move(job))
    {}

    JobRequest &key(std::string key)
    {
        m_job.key = std::move(key);
        return *this;
    }
    JobRequest &work(std::function<T(const JobContext &)> work)
    {
        m_job.work = [work = std::move(work)](const JobContext &ctx) -> std::any {
            if constexpr (std::is_void_v<T>) {
                work(ctx);
                return {};
            } else {
                return std::any(work(ctx));
            }
        };
        return *this;
    }
    JobRequest &onDone(DoneFn done)
    {
        m_job.done = [done = std::move(done)](std::any result) {
            if constexpr (std::is_void_v<T>) {
                (void)result;
                done();
            } else {
                done(std::any_cast<T>(std::move(result)));
            }
        };
        return *this;
    }
    JobRequest &onFailed(JobRunner::Failed failed)
    {
        m_job.failed = std::move(failed);
        return *this;
    }
    // Every progress report that carries a partial map or result.
    JobRequest &onProgress(JobRunner::Partial progress)
    {
        m_progress = std::move(progress);
        return *this;
    }
    // The partial results of type P the work reports (JobContext::reportPartialResult).
    template<typename P> JobRequest &onPartial(std::function<void(const P &)> partial)
    {
        m_partial = [partial = std::move(partial)](const ProgressUpdate &u) {
            if (const P *p = std::any_cast<P>(&u.partialResult))
                partial(*p);
        };
        return *this;
    }
    // False when a job with the same key is in flight in the slot (nothing is submitted).
    bool submit()
    {
        if (m_progress || m_partial)
            m_job.partial = [progress = m_progress, partial = m_partial](const ProgressUpdate &u) {
                if (progress)
                    progress(u);
                if (partial)
                    partial(u);
            };
        return m_runner->submit(std::move(m_job));
    }

private:
    JobRunner *m_runner;
    JobRunner::Job m_job;
    JobRunner::Partial m_progress;
    JobRunner::Partial m_partial;
};

template<typename T>
JobRequest<T> JobRunner::request(const QString &slot, const QString &description, QObject *context)
{
    Job job;
    job.slot = slot;
    job.description = description;
    job.context = context;
    return JobRequest<T>(this, std::move(job));
}

} // namespace heatlens::ui
