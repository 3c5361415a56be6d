#pragma once

// The figure composer: a figure is rows of panels (images with vector drawing over them,
// QCustomPlot plots, painted panels such as matrices), optional row labels, colour bars and a
// caption, laid out in points for a given width and written as PNG (at a DPI), SVG (text, lines
// and plots as vectors, maps embedded as images) or PDF (vector, fonts embedded). The viewer's
// "Export figure..." and `heatlens-cli figure` build the same Figure and save it here, so the
// files are the same.

#include "core/render/ColorMap.h"

#include <opencv2/core/mat.hpp>

#include <QColor>
#include <QFont>
#include <QImage>
#include <QRectF>
#include <QString>
#include <QStringList>

#include <functional>
#include <optional>
#include <string>
#include <vector>

class QCustomPlot;
class QPainter;

namespace heatlens::ui {

enum class FigureFormat { Png, Svg, Pdf };

// "png" | "svg" | "pdf" (case-insensitive); throws std::invalid_argument naming the value.
FigureFormat figureFormatFromName(const std::string &name);
std::string figureFormatName(FigureFormat format);

// How big and in what type: a journal column is 89 mm (single) or 183 mm (double) wide.
struct FigureStyle
{
    double widthMm = 89.0; // used when widthPx is 0
    int widthPx = 0;       // > 0: the PNG is this many pixels wide (SVG and PDF: at `dpi`)
    int dpi = 300;         // PNG resolution, written into the file
    QString fontFamily = QStringLiteral("DejaVu Sans");
    int fontPt = 7; // whole points, 5 to 24
};

// Throws std::invalid_argument naming the first value out of range (width 20-500 mm or
// 64-20000 px, dpi 50-1200, font 5-24 pt, an empty family).
void validateStyle(const FigureStyle &style);

// The figure's width in points (1/72 inch), the unit of every layout below; millimetres are
// rounded to whole points (at most 0.18 mm), as Qt writes PDF page sizes.
double figureWidthPt(const FigureStyle &style);

// A colour scale drawn as a bar: `lo` .. `hi` in `map`'s colours (a diverging map is centred on
// zero and its ticks show the sign), with a caption such as "attribution".
struct ColourBar
{
    ColorMapId map = ColorMapId::Viridis;
    double lo = 0.0, hi = 1.0;
    QString caption;
};

struct Panel
{
    enum class Kind { Empty, Image, Plot, Painted };
    Kind kind = Kind::Empty;
    QString title; // above the panel
    QString note;  // under the panel, smaller
    // Image: drawn into the panel's rectangle, keeping its aspect; nearest-neighbour scaling
    // (maps stay crisp), embedded as an image in SVG and PDF.
    QImage image;
    // Image: vector drawing over the image (group outlines, pair lines); `rect` is where the
    // image went, `scale` its points per image pixel.
    std::function<void(QPainter &painter, const QRectF &rect, double scale)> overlay;
    // Plot: fills an offscreen QCustomPlot (fonts and pens are set for the figure first).
    std::function<void(QCustomPlot &plot)> plot;
    // Painted: draws into `rect` in points.
    std::function<void(QPainter &painter, const QRectF &rect)> paint;
    double aspect = 1.0;          // width / height of the content (images: their own)
    std::optional<ColourBar> bar; // a horizontal bar of its own under the panel
};

struct FigureRow
{
    QString label; // at the left of the row, may be empty
    std::vector<Panel> panels;
    // The share of the width this row's panels fill (1 = all); a lone plot may take less.
    double widthShare = 1.0;
    // > 0: the panels' height is at most this many points (a wide figure's grid does not grow
    // past a page); the row is then centred.
    double maxHeight = 0.0;
};

struct Figure
{
    QString title; // bold, above everything; may be empty
    std::vector<FigureRow> rows;
    std::optional<ColourBar> sharedBar; // vertical, right of the rows of images
    QString caption;                    // under everything, wrapped
};

// The laid-out height of `figure` in points at the style's width.
double figureHeightPt(const Figure &figure, const FigureStyle &style);

// The figure at `style` in `format` as the bytes of its file. Needs a QApplication when a
// panel is a Plot (QCustomPlot is a widget; offscreen: QT_QPA_PLATFORM=offscreen).
QByteArray renderFigure(const Figure &figure, const FigureStyle &style, FigureFormat format);

// Writes DIR/STEM.<format> for every format, each atomically; refuses (std::runtime_error
// naming the file) to replace an existing file unless `overwrite`. Returns the paths.
std::vector<std::string> saveFigure(const Figure &figure, const FigureStyle &style,
                                    const std::vector<FigureFormat> &formats,
                                    const std::string &dir, const std::string &stem,
                                    bool overwrite);

// An image of a map coloured like the viewer: `map` CV_32F normalised to [0, 1] (or [-1, 1]
// for diverging maps) by the caller.
QImage colouredMap(const cv::Mat &normalized, ColorMapId map);
// 8-bit RGB cv::Mat as a QImage (a deep copy).
QImage rgbImage(const cv::Mat &rgb);

// The figure's fonts: the style's family at `pt` whole points (pixel-sized in point units so
// that the layout does not depend on the screen's DPI).
QFont figureFont(const FigureStyle &style, int pt, bool bold = false);

} // namespace heatlens::ui
