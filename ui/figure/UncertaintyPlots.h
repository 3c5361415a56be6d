#pragma once

#include "core/metrics/Evaluation.h"
#include "core/uncertainty/UncertaintyCurves.h"

#include <QColor>
#include <QString>

#include <map>
#include <string>
#include <vector>

class QCustomPlot;

namespace heatlens::ui {

// The figures of a dataset uncertainty run: for the mean CV, the rank stability and the deletion
// AUC of the mean map, grouped bars (one group per method, one bar per source) with their 95%
// intervals. `table` is DatasetRun::summarise's ("method|source" -> column -> summary).
// Writes DIR/uncertainty_<column>.png for every column with data; returns their paths. Needs a
// QApplication.
std::vector<std::string>
writeUncertaintyPlots(const std::map<std::string, std::map<std::string, Summary>> &table,
                      const std::vector<std::string> &keys, const std::string &modelName,
                      const std::string &dir);

// Draws a banded curve: the mean curve with its 5-95% band shaded, for the Uncertainty tab and
// figures. `colour` is the line's; the band is the same colour, translucent. Appends graphs.
void drawBand(QCustomPlot *plot, const CurveBand &band, const QColor &colour, const QString &label,
              Qt::PenStyle style = Qt::SolidLine);

} // namespace heatlens::ui
