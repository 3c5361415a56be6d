#pragma once

// Deletion / insertion curve plots, shared by the Curves tab and the command line (which draws
// the same figure offscreen): no Session, no JobRunner, only curves in and pixels out.

#include "core/metrics/Faithfulness.h"

#include <QColor>
#include <QString>

#include <vector>

// qcustomplot.h uses Qt's `signals` and `foreach` keywords; Heatlens' Qt targets are built with
// QT_NO_KEYWORDS (they clash with LibTorch), so they are lent to it for the include only.
#ifdef QT_NO_KEYWORDS
#define signals Q_SIGNALS
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef foreach
#undef signals
#else
#include <qcustomplot.h>
#endif

namespace heatlens::ui {

// One line of a curve plot.
struct CurveSeries
{
    QString label;         // legend text before the AUC, e.g. "Grad-CAM  deletion"
    heatlens::Curve curve; // may hold only the points computed so far (see partial)
    QColor colour;
    Qt::PenStyle style = Qt::SolidLine; // the Curves tab: deletion solid, insertion dashed
    // Line width in pixels. Lines of 1 pixel or less are drawn by Qt's fast cosmetic stroker;
    // wider ones are outlined and filled, several times slower for dense curves.
    double width = 2.0;
    bool partial = false; // still streaming: the legend says so instead of an AUC
};

// A fixed palette of distinguishable colours (Tableau 10 without its grey), cycling after 9.
QColor seriesColour(int i);
// The neutral grey of control series (the random ranking).
QColor controlColour();

// The legend text of a series: "Grad-CAM  deletion AUC 0.142" (the area under the quantity
// shown: probability, or logit when `logit`), or "... (computing)" for a partial series.
QString curveLegendText(const CurveSeries &series, bool logit);

// Draws `series` into `plot`, replacing its graphs (graph i is series i; items such as a cursor
// line are left alone): x is the fraction of `features` perturbed in [0, 1], y the target
// probability in [0, 1] or the target logit (range fitted to the data); axis labels
// "fraction of pixels perturbed" and "target probability" / "target logit"; the legend under the
// axes (see fitLegend); `title`, when not empty, above them. Replots now, or (a widget that
// streams: rpQueuedReplot) once in the next event-loop pass, after the caller's own changes.
void drawCurves(QCustomPlot *plot, const std::vector<CurveSeries> &series, bool logit,
                const QString &title = {}, const QString &features = QStringLiteral("pixels"),
                QCustomPlot::RefreshPriority refresh = QCustomPlot::rpRefreshHint);

// Moves the legend from inside the axes to a row under them (once; drawCurves does it).
void placeLegendBelow(QCustomPlot *plot);

// Lays the legend out two entries a row (a method's deletion and insertion side by side) when two
// of its widest entries fit in the plot's width, else one a row; drawCurves calls it, a widget
// calls it again when the plot is resized (then replots). Returns true when the layout changed.
bool fitLegend(QCustomPlot *plot);

// Draws `series` like drawCurves on an offscreen QCustomPlot of width x height pixels and saves
// it to `path`: PDF when the path ends in .pdf, PNG when it ends in .png. Throws
// std::invalid_argument naming the path for another extension or a size below 1, and
// std::runtime_error naming the path when the file cannot be written (e.g. a missing folder).
// Needs a QApplication to exist (QCustomPlot is a widget); without a display, run with
// QT_QPA_PLATFORM=offscreen. Throws std::logic_error when there is no QApplication.
void saveCurvePlot(const std::vector<CurveSeries> &series, bool logit, const QString &title,
                   const QString &path, int width, int height,
                   const QString &features = QStringLiteral("pixels"));

} // namespace heatlens::ui
