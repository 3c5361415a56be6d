#include "core/model/Threads.h"

#include "core/model/TorchRuntime.h"

#include <ATen/Parallel.h>

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

namespace heatlens {

namespace {

std::string readFile(const std::string &path)
{
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return in ? text.str() : std::string();
}

std::vector<std::string> split(const std::string &text, char separator)
{
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(text);
    while (std::getline(in, part, separator))
        parts.push_back(part);
    return parts;
}

std::optional<double> positiveNumber(const std::string &text)
{
    try {
        size_t used = 0;
        const double value = std::stod(text, &used);
        if (used > 0 && value > 0 && std::isfinite(value))
            return value;
    } catch (const std::exception &) {
    }
    return std::nullopt;
}

int affinityCpus()
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 1;
    return std::max(1, CPU_COUNT(&set));
}

// The tightest quota of `dir` and its ancestors up to `root`, read by `quotaOf`.
template<typename QuotaOf>
std::optional<double> tightestQuota(const std::string &root, std::string path, QuotaOf quotaOf)
{
    std::optional<double> best;
    while (true) {
        if (auto q = quotaOf(root + path); q && (!best || *q < *best))
            best = q;
        if (path.empty() || path == "/")
            break;
        const auto slash = path.find_last_of('/');
        path = slash == std::string::npos || slash == 0 ? std::string() : path.substr(0, slash);
    }
    return best;
}

double cgroupQuota()
{
    const std::string procCgroup = readFile("/proc/self/cgroup");
    if (auto path = cgroupPath(procCgroup, "")) {
        auto q = tightestQuota("/sys/fs/cgroup", *path, [](const std::string &dir) {
            return quotaFromCpuMax(readFile(dir + "/cpu.max"));
        });
        if (q)
            return *q;
    }
    if (auto path = cgroupPath(procCgroup, "cpu")) {
        for (const char *mount : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"}) {
            auto q = tightestQuota(mount, *path, [](const std::string &dir) {
                return quotaFromCfs(readFile(dir + "/cpu.cfs_quota_us"),
                                    readFile(dir + "/cpu.cfs_period_us"));
            });
            if (q)
                return *q;
        }
    }
    return 0.0;
}

std::mutex g_mutex;
ThreadSettings g_settings; // guarded by g_mutex
std::atomic<int> g_generation{0};

} // namespace

std::optional<double> quotaFromCpuMax(const std::string &text)
{
    std::istringstream in(text);
    std::string quota, period;
    if (!(in >> quota >> period) || quota == "max")
        return std::nullopt;
    const auto q = positiveNumber(quota), p = positiveNumber(period);
    if (!q || !p)
        return std::nullopt;
    return *q / *p;
}

std::optional<double> quotaFromCfs(const std::string &quotaText, const std::string &periodText)
{
    const auto q = positiveNumber(quotaText), p = positiveNumber(periodText); // -1: no quota
    if (!q || !p)
        return std::nullopt;
    return *q / *p;
}

std::optional<std::string> cgroupPath(const std::string &procCgroup, const std::string &controller)
{
    for (const auto &line : split(procCgroup, '\n')) {
        // "hierarchy-id:controller,controller:path"; v2's unified line has no controllers.
        const auto first = line.find(':');
        const auto second = first == std::string::npos ? first : line.find(':', first + 1);
        if (second == std::string::npos)
            continue;
        const std::string controllers = line.substr(first + 1, second - first - 1);
        const bool match = controller.empty() ? controllers.empty() && line.substr(0, first) == "0"
                                              : !controllers.empty() && [&] {
                                                    for (const auto &c : split(controllers, ','))
                                                        if (c == controller)
                                                            return true;
                                                    return false;
                                                }();
        if (match)
            return line.substr(second + 1);
    }
    return std::nullopt;
}

std::string CpuBudget::describe() const
{
    std::ostringstream out;
    out << usable << (usable == 1 ? " CPU" : " CPUs") << " usable (affinity " << affinity;
    if (quota > 0)
        out << ", cgroup quota " << quota;
    out << ")";
    return out.str();
}

CpuBudget cpuBudget()
{
    CpuBudget budget;
    budget.affinity = affinityCpus();
    budget.quota = cgroupQuota();
    budget.usable = budget.affinity;
    if (budget.quota > 0)
        budget.usable = std::min(budget.usable, int(std::ceil(budget.quota - 1e-9)));
    budget.usable = std::max(1, budget.usable);
    return budget;
}

bool openMpWaitIsPassive()
{
    const char *policy = std::getenv("OMP_WAIT_POLICY");
    if (!policy)
        return false;
    std::string text(policy);
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return text == "passive";
}

std::string ThreadSettings::describe() const
{
    std::ostringstream out;
    out << intraOp << (intraOp == 1 ? " thread" : " threads")
        << (requested ? " (as set)" : " (one per usable CPU)") << "; BLAS ";
    if (blas < 0)
        out << "not OpenBLAS";
    else
        out << "OpenBLAS, " << blas << (blas == 1 ? " thread" : " threads");
    out << "; idle OpenMP threads " << (passiveWait ? "sleep" : "spin (OMP_WAIT_POLICY)");
    return out.str();
}

ThreadSettings requestThreads(int threads)
{
    std::lock_guard lock(g_mutex);
    ThreadSettings settings;
    settings.requested = threads > 0;
    settings.intraOp = threads > 0 ? threads : cpuBudget().usable;
    settings.passiveWait = openMpWaitIsPassive();
    const bool openBlas = blasThreads() >= 0;
    settings.blas = !openBlas ? -1 : settings.passiveWait ? settings.intraOp : 1;
    g_settings = settings;
    ++g_generation;
    return settings;
}

ThreadSettings configureThreads(int threads)
{
    const ThreadSettings settings = requestThreads(threads);
    applyThreadSettingsHere();
    return settings;
}

ThreadSettings currentThreadSettings()
{
    std::lock_guard lock(g_mutex);
    if (g_generation.load() == 0) {
        ThreadSettings settings; // nothing configured: what LibTorch chose by itself
        settings.intraOp = at::get_num_threads();
        settings.passiveWait = openMpWaitIsPassive();
        settings.blas = blasThreads();
        return settings;
    }
    return g_settings;
}

void applyThreadSettingsHere()
{
    thread_local int seen = 0;
    const int generation = g_generation.load();
    if (generation == seen)
        return;
    seen = generation;
    ThreadSettings settings;
    {
        std::lock_guard lock(g_mutex);
        settings = g_settings;
    }
    if (settings.intraOp > 0 && at::get_num_threads() != settings.intraOp)
        at::set_num_threads(settings.intraOp);
    if (settings.blas > 0)
        setBlasThreads(settings.blas);
}

} // namespace heatlens
