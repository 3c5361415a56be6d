#pragma once

#include "core/jobs/Progress.h"

#include <QObject>
#include <QString>

#include <any>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace heatlens::ui {

// The one bridge from widgets to core: runs jobs one at a time on a worker thread (one compute
// lane for LibTorch), passing each a JobContext for progress and cancellation. A job belongs to
// a slot ("explain", "model", ...): submitting to a slot drops the slot's pending job and
// cancels its running one, so a new request supersedes a stale one. Results, errors and
// progress come back on the GUI thread, delivered to a context object; if that object is gone,
// nothing is delivered. The destructor cancels everything and waits for the worker.
class JobRunner : public QObject
{
    Q_OBJECT

public:
    using Work = std::function<std::any(const JobContext &)>;
    using Done = std::function<void(std::any)>;
    using Failed = std::function<void(const QString &)>;
    using Partial = std::function<void(const ProgressUpdate &)>;

    struct Job
    {
        QString slot;
        QString description; // shown next to the progress bar
        Work work;
        QObject *context = nullptr;
        Done done;
        Failed failed;        // may be empty: errors then go to the error() signal
        Partial partial = {}; // streamed progress with partial maps, may be empty
    };

    explicit JobRunner(QObject *parent = nullptr);
    ~JobRunner() override;

    void submit(Job job);
    void cancel(const QString &slot);
    void cancelAll();
    bool isBusy() const;

Q_SIGNALS:
    void busyChanged(bool busy);
    void progress(const QString &description, double fraction, const QString &message);
    void error(const QString &message);
    void cancelled(const QString &description);

private:
    struct Entry;
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
    std::thread m_worker;
};

} // namespace heatlens::ui
