#pragma once

// The pieces the figure builders (Figures.cpp) are made of: panels of maps, colour bars, the
// vector matrix. Not part of the figure library's interface.

#include "ui/figure/Figure.h"
#include "ui/figure/Figures.h"

#include <QColor>

#include <functional>
#include <vector>

namespace heatlens::ui {

constexpr int kMinSide = 256; // small images are enlarged (nearest) before embedding

// The factor that brings the shorter side of `size` to at least kMinSide, and the enlargement.
int enlargement(cv::Size size);
cv::Mat enlarged(const cv::Mat &m, int factor);

// The colour map a map is drawn in: a diverging one for signed maps, a sequential one else.
ColorMapId mapFor(bool signedMap, ColorMapId asked);
// The coolwarm colour of `value` over -range..range (white-grey at 0).
QColor divergingColour(double value, double range);

Panel imagePanel(const QImage &image, const QString &title = {});
Panel plotPanel(double aspect, std::function<void(QCustomPlot &)> plot);

// A map coloured alone or over `image` (same frame), normalised by its clip percentile or by
// `scale` when > 0; `usedScale` gets the value at the top of the colours.
QImage colourMap(const cv::Mat &image, const cv::Mat &map, bool signedMap, const MapColours &c,
                 double scale, double *usedScale, bool over);
ColourBar barFor(bool signedMap, double scale, const MapColours &c, const QString &caption);
// A sequential map with a fixed range (std, CV): NaN grey.
QImage rangeMap(const cv::Mat &map, double lo, double hi, ColorMapId id);

// A square matrix drawn with vectors: coloured cells (coolwarm over -range..range; NaN and,
// when asked, the diagonal grey), labels on the left and on top (rotated), the values written in
// the cells when they fit.
struct MatrixData
{
    int n = 0;
    std::vector<double> values; // n x n, row-major
    QStringList labels;         // n; empty: the row numbers, thinned to fit
    double range = 1.0;
    bool numbers = false;
    bool greyDiagonal = true;
};
void paintMatrix(QPainter &painter, const QRectF &rect, const MatrixData &m);

} // namespace heatlens::ui
