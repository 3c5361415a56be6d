#pragma once

#include <QMenu>

namespace heatlens::ui {

// Explain > Compute threads: "Automatic" (one per usable CPU) or a fixed count, kept in
// QSettings ("compute/threads", 0 = automatic). The setting is requested from core and the
// worker applies it before its next job.
class ThreadsMenu : public QMenu
{
    Q_OBJECT

public:
    explicit ThreadsMenu(QWidget *parent = nullptr);

    // Requests the saved setting (called once at start) and returns the log line saying what
    // is used.
    static QString applySaved();
    // Chooses `threads` (0 = automatic): saved, requested, announced with message().
    void choose(int threads);

Q_SIGNALS:
    void message(const QString &text);

private:
    void rebuild();
};

} // namespace heatlens::ui
