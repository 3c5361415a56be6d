#pragma once

#include "core/jobs/Progress.h"

#include <chrono>
#include <string>

namespace heatlens::cli {

// A progress bar with ETA on stderr (redrawn in place on a terminal, a line per 10% otherwise).
class TerminalProgress
{
public:
    explicit TerminalProgress(std::string title);
    ~TerminalProgress();
    JobContext context(const CancelToken &token);
    void finish();

private:
    void draw(const ProgressUpdate &update);

    std::string m_title;
    std::chrono::steady_clock::time_point m_start;
    bool m_tty;
    int m_lastDecile = -1;
    bool m_drawn = false;
};

// Ctrl-C cancels this token instead of killing the process, so work stops cleanly.
CancelToken interruptToken();

} // namespace heatlens::cli
