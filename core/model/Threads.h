#pragma once

#include <optional>
#include <string>

namespace heatlens {

// The CPUs this process may use: its affinity mask, capped by a cgroup CPU quota (cgroup v2
// cpu.max or v1 cpu.cfs_quota_us, the tightest along the cgroup's ancestors).
struct CpuBudget
{
    int affinity = 1;   // CPUs in sched_getaffinity's mask
    double quota = 0.0; // CPUs the quota allows (0: no quota)
    int usable = 1;     // min(affinity, ceil(quota)), at least 1
    std::string describe() const;
};
CpuBudget cpuBudget();

// Parsers of the cgroup files, exposed for tests. CPUs allowed by a cgroup v2 "cpu.max" text
// ("max 100000" or "<quota> <period>") or v1 quota and period texts; nullopt: no limit.
std::optional<double> quotaFromCpuMax(const std::string &text);
std::optional<double> quotaFromCfs(const std::string &quotaText, const std::string &periodText);
// The cgroup path of a controller ("cpu" for v1, "" for the v2 unified line) in a
// /proc/self/cgroup text; nullopt when the controller is not listed.
std::optional<std::string> cgroupPath(const std::string &procCgroup, const std::string &controller);

// How tensor work is threaded in this process.
struct ThreadSettings
{
    int intraOp = 1;          // LibTorch's intra-op (OpenMP) threads
    int blas = -1;            // OpenBLAS threads; -1: the BLAS is not OpenBLAS
    bool passiveWait = false; // OpenMP threads sleep when idle instead of spinning
    bool requested = false;   // intraOp was asked for (setting, --threads), not derived
    std::string describe() const;
};

// Sets LibTorch's intra-op threads to `threads` (0: the usable CPUs of cpuBudget()) and the
// BLAS threads to match: OpenBLAS gets as many threads as LibTorch when idle OpenMP threads
// sleep (OMP_WAIT_POLICY=passive, which the launchers set), else one, because spinning
// OpenMP threads then starve its threads (ViT-B/16 forward on 2 cores: 0.30 s with passive
// OpenMP and 2 + 2 threads; 1.2 s spinning with 2 + 2; 0.62 s spinning with 2 + 1).
// Returns what is now in effect on the calling thread.
ThreadSettings configureThreads(int threads);
// Records the same settings without applying them: the thread doing tensor work applies them
// with applyThreadSettingsHere() before its next job (OpenBLAS must not be reconfigured while
// another thread is inside it).
ThreadSettings requestThreads(int threads);
ThreadSettings currentThreadSettings();

// Applies the last requested settings on the calling thread (OpenMP keeps the thread count
// per thread) and to OpenBLAS. A worker thread calls it before each job; cheap when nothing
// changed.
void applyThreadSettingsHere();

// Whether OpenMP threads were told to sleep when idle (OMP_WAIT_POLICY read at process start).
bool openMpWaitIsPassive();

} // namespace heatlens
