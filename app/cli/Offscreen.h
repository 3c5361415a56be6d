#pragma once

#include <functional>

namespace heatlens::cli {

// Runs `draw` with a QApplication (QCustomPlot figures are widgets) on Qt's offscreen platform
// unless QT_QPA_PLATFORM says otherwise, so that the command line draws figures without a
// display. Qt's warnings go to stderr, except the XDG_RUNTIME_DIR notes of the offscreen platform
// (nothing a user can act on). Call it once per process.
void drawOffscreen(const std::function<void()> &draw);

} // namespace heatlens::cli
