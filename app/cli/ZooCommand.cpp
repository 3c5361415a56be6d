#include "Args.h"
#include "Commands.h"
#include "TerminalProgress.h"

#include "core/model/Threads.h"
#include "core/model/Zoo.h"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

extern char **environ;

namespace heatlens::cli {

namespace {

const char *kUsage =
    R"(usage: heatlens-cli zoo [--list] [--only NAME,NAME...] [--jobs N] [--threads N]

Trains the demo models that are missing (or were trained with another recipe) into the zoo
folder, on the demo dataset. Re-running it skips what exists; Ctrl-C stops without leaving
half-written models.

  --list       show the models and their state without training
  --only       train just these models
  --jobs N     models trained at the same time, each in its own process (default: one per
               core). Small models train faster on one thread each than on all cores
               together, and every model is trained with one thread so that results are
               reproducible whatever the machine.
  --threads N  with --jobs 1: intra-op threads for the one process (default 1)
)";

// One model trained by a child process ("heatlens-cli zoo --worker --only NAME").
struct Worker
{
    ZooEntry entry;
    double cost = 1.0;
    pid_t pid = -1;
    int out = -1; // read end of the child's stdout
    std::string buffer;
    double fraction = 0.0;
    std::string message;
    bool finished = false;
    int status = 0;
};

pid_t spawnWorker(const std::string &name, int &readFd)
{
    int fds[2];
    if (pipe(fds) != 0)
        throw std::runtime_error(std::string("cannot create a pipe: ") + std::strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    std::vector<std::string> args{"heatlens-cli", "zoo",       "--worker", "--only",
                                  name,           "--threads", "1"};
    std::vector<char *> argv;
    for (auto &a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        throw std::runtime_error("cannot start a training process: " +
                                 std::string(std::strerror(rc)));
    }
    readFd = fds[0];
    return pid;
}

// Lines from a worker: "@progress <fraction> <message>" and "@done <accuracy> <seconds>".
void consumeLines(Worker &w)
{
    for (size_t end; (end = w.buffer.find('\n')) != std::string::npos;) {
        const std::string line = w.buffer.substr(0, end);
        w.buffer.erase(0, end + 1);
        std::istringstream in(line);
        std::string tag;
        in >> tag;
        if (tag == "@progress") {
            in >> w.fraction;
            std::getline(in >> std::ws, w.message);
        } else if (tag == "@done") {
            in >> w.entry.accuracy >> w.entry.seconds;
            w.entry.trained = w.entry.available = true;
        }
    }
}

std::string percent(double f)
{
    return std::to_string(int(std::clamp(f, 0.0, 1.0) * 100.0)) + "%";
}

// Trains `pending` in up to `jobs` child processes at once, longest first; returns their entries.
std::vector<ZooEntry> trainInParallel(std::vector<Worker> pending, int jobs, const JobContext &ctx)
{
    std::stable_sort(pending.begin(), pending.end(),
                     [](const Worker &a, const Worker &b) { return a.cost > b.cost; });
    double total = 0.0;
    for (const auto &w : pending)
        total += w.cost;
    size_t next = 0;
    std::vector<Worker *> running;
    bool interrupted = false;
    std::vector<std::string> failures;
    while (next < pending.size() || !running.empty()) {
        while (!interrupted && int(running.size()) < jobs && next < pending.size()) {
            Worker &w = pending[next++];
            w.pid = spawnWorker(w.entry.name, w.out);
            running.push_back(&w);
        }
        if (running.empty())
            break;
        std::vector<pollfd> fds;
        for (auto *w : running)
            fds.push_back({w->out, POLLIN, 0});
        poll(fds.data(), fds.size(), 250);
        for (size_t i = 0; i < running.size(); ++i) {
            Worker &w = *running[i];
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char chunk[4096];
            const ssize_t got = read(w.out, chunk, sizeof chunk);
            if (got > 0) {
                w.buffer.append(chunk, size_t(got));
                consumeLines(w);
            } else if (got == 0 || errno != EINTR) {
                close(w.out);
                waitpid(w.pid, &w.status, 0);
                w.finished = true;
                if (!w.entry.trained && !interrupted)
                    failures.push_back(w.entry.name);
            }
        }
        running.erase(std::remove_if(running.begin(), running.end(),
                                     [](const Worker *w) { return w->finished; }),
                      running.end());
        if (ctx.cancelToken().isCancelled() && !interrupted) {
            interrupted = true; // children stop cleanly on SIGINT, like the parent
            for (auto *w : running)
                kill(w->pid, SIGINT);
        }
        double done = 0.0;
        std::string message;
        for (const auto &w : pending) {
            done += w.cost * (w.entry.trained ? 1.0 : w.fraction);
            if (w.pid > 0 && !w.finished)
                message +=
                    (message.empty() ? "" : " | ") + w.entry.name + " " + percent(w.fraction);
        }
        ctx.report(done / total, message);
    }
    if (interrupted)
        throw Cancelled();
    if (!failures.empty()) {
        std::string names;
        for (const auto &f : failures)
            names += (names.empty() ? "" : ", ") + f;
        throw std::runtime_error("training failed for " + names + " (see the messages above)");
    }
    std::vector<ZooEntry> entries;
    for (const auto &w : pending)
        entries.push_back(w.entry);
    return entries;
}

// Child side: machine-readable progress on stdout for the parent.
int runWorker(const std::vector<std::string> &only, int threads)
{
    JobContext ctx(
        [](const ProgressUpdate &u) {
            std::cout << "@progress " << u.fraction << " " << u.message << "\n" << std::flush;
        },
        interruptToken());
    for (const auto &e : ensureZoo(ctx, only, threads))
        if (e.trained)
            std::cout << "@done " << e.accuracy << " " << e.seconds << "\n" << std::flush;
    return 0;
}

void printEntries(const std::vector<ZooEntry> &entries)
{
    double total = 0.0;
    for (const auto &e : entries) {
        if (e.trained) {
            std::cout << std::left << std::setw(20) << e.name << " trained in " << std::fixed
                      << std::setprecision(1) << e.seconds << " s, test accuracy "
                      << std::setprecision(2) << e.accuracy * 100.0 << "%\n";
            total += e.seconds;
        } else {
            std::cout << std::left << std::setw(20) << e.name << " "
                      << (e.available ? "up to date" : "not requested") << "\n";
        }
    }
    if (total > 0)
        std::cout << "training time summed over models " << std::setprecision(1) << total << " s\n";
    std::cout << "zoo: " << zooDirectory() << "\n";
}

} // namespace

int runZoo(const std::vector<std::string> &argv)
{
    Args args(argv, {"only", "jobs", "threads"}, {"help", "list", "worker"});
    if (args.has("help")) {
        std::cout << kUsage << "\nZoo folder: " << zooDirectory()
                  << " ($HEATLENS_ZOO overrides); dataset: " << demoDatasetPath()
                  << " ($HEATLENS_DEMO_DATA overrides).\n";
        return 0;
    }
    if (args.has("list")) {
        for (const auto &e : zooEntries())
            std::cout << std::left << std::setw(20) << e.name << std::setw(30) << e.displayName
                      << (e.available ? "ready    " : "missing  ") << e.path << "\n";
        return 0;
    }
    std::vector<std::string> only;
    std::stringstream list(args.value("only"));
    for (std::string name; std::getline(list, name, ',');) {
        bool known = false;
        for (const auto &r : zooRecipes())
            known = known || r.name == name;
        if (!known)
            throw UsageError("--only: no demo model named \"" + name + "\" (see --list)");
        only.push_back(name);
    }
    const int threads = args.intValue("threads", 1);
    const int jobs = args.intValue("jobs", cpuBudget().usable);
    if (threads < 1 || jobs < 1)
        throw UsageError("--jobs and --threads must be >= 1");
    if (args.has("worker"))
        return runWorker(only, threads);

    std::vector<Worker> pending;
    std::vector<ZooEntry> entries = zooEntries();
    const auto recipes = zooRecipes();
    for (size_t i = 0; i < entries.size(); ++i) {
        const bool wanted =
            only.empty() || std::find(only.begin(), only.end(), entries[i].name) != only.end();
        if (wanted && !entries[i].available) {
            Worker w;
            w.entry = entries[i];
            w.cost = recipes[i].cost;
            pending.push_back(w);
        }
    }
    TerminalProgress progress("zoo");
    auto ctx = progress.context(interruptToken());
    std::vector<ZooEntry> trained;
    if (pending.size() > 1 && jobs > 1)
        trained = trainInParallel(pending, jobs, ctx);
    else if (!pending.empty())
        trained = ensureZoo(ctx, only, threads);
    progress.finish();
    for (auto &e : entries)
        for (const auto &t : trained)
            if (t.name == e.name && t.trained)
                e = t;
    printEntries(entries);
    return 0;
}

} // namespace heatlens::cli
