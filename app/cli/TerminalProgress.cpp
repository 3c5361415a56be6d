#include "TerminalProgress.h"

#include <csignal>
#include <cstdio>
#include <unistd.h>

namespace heatlens::cli {

namespace {

const CancelToken *g_interrupt = nullptr;

// Async-signal-safe: cancelling is one store to a lock-free atomic flag.
extern "C" void onInterrupt(int)
{
    if (g_interrupt)
        g_interrupt->cancel();
}

std::string formatSeconds(double s)
{
    char buf[32];
    if (s >= 60)
        std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
    else
        std::snprintf(buf, sizeof buf, "%.0fs", s);
    return buf;
}

} // namespace

CancelToken interruptToken()
{
    static const CancelToken token;
    static bool installed = false;
    if (!installed) {
        installed = true;
        g_interrupt = &token;
        std::signal(SIGINT, onInterrupt);
        std::signal(SIGTERM, onInterrupt);
    }
    return token;
}

TerminalProgress::TerminalProgress(std::string title)
    : m_title(std::move(title))
    , m_start(std::chrono::steady_clock::now())
    , m_tty(::isatty(STDERR_FILENO) != 0)
{}

TerminalProgress::~TerminalProgress()
{
    finish();
}

JobContext TerminalProgress::context(const CancelToken &token)
{
    return JobContext([this](const ProgressUpdate &u) { draw(u); }, token);
}

void TerminalProgress::draw(const ProgressUpdate &u)
{
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
    const double eta = u.fraction > 0.01 ? elapsed * (1.0 - u.fraction) / u.fraction : 0.0;
    const int decile = int(u.fraction * 10);
    if (!m_tty && decile == m_lastDecile)
        return;
    m_lastDecile = decile;
    const int width = 30, filled = int(u.fraction * width);
    std::string bar = std::string(size_t(filled), '=') + (filled < width ? ">" : "") +
                      std::string(size_t(std::max(0, width - filled - 1)), ' ');
    std::fprintf(stderr, "%s%s [%s] %3d%%  %s  ETA %s%s", m_tty ? "\r" : "", m_title.c_str(),
                 bar.c_str(), int(u.fraction * 100), u.message.c_str(), formatSeconds(eta).c_str(),
                 m_tty ? "\033[K" : "\n");
    std::fflush(stderr);
    m_drawn = true;
}

void TerminalProgress::finish()
{
    if (m_drawn && m_tty)
        std::fprintf(stderr, "\n");
    m_drawn = false;
}

} // namespace heatlens::cli
