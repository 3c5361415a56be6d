#pragma once

// Happens-before edges that ThreadSanitizer cannot see by itself. Qt is not instrumented and its
// mutexes are futexes, so work handed to QThreadPool looks to TSan like data written on one
// thread and read on another without synchronisation. announceHandOff(token) on the sending
// thread after the last write and acceptHandOff(token) on the receiving thread before the first
// read tell it what Qt guarantees. Outside TSan builds both are nothing.

#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void *addr);
extern "C" void __tsan_release(void *addr);
#endif

namespace heatlens::ui {

inline void announceHandOff([[maybe_unused]] void *token)
{
#if defined(__SANITIZE_THREAD__)
    __tsan_release(token);
#endif
}

inline void acceptHandOff([[maybe_unused]] void *token)
{
#if defined(__SANITIZE_THREAD__)
    __tsan_acquire(token);
#endif
}

} // namespace heatlens::ui
