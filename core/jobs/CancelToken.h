#pragma once

#include <atomic>
#include <memory>
#include <stdexcept>

namespace heatlens {

// Thrown by core code when it notices that its job was cancelled.
class Cancelled : public std::runtime_error
{
public:
    Cancelled()
        : std::runtime_error("cancelled")
    {}
};

// Shared cancellation flag: copies observe the same flag, so the owner of a job keeps one copy
// and hands another to the worker.
class CancelToken
{
public:
    CancelToken()
        : m_flag(std::make_shared<std::atomic<bool>>(false))
    {}

    void cancel() const { m_flag->store(true); }
    bool isCancelled() const { return m_flag->load(); }
    void throwIfCancelled() const
    {
        if (isCancelled())
            throw Cancelled();
    }

private:
    std::shared_ptr<std::atomic<bool>> m_flag;
};

} // namespace heatlens
