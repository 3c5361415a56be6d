#include "ui/figure/Figure.h"

#include "core/io/AtomicFile.h"
#include "ui/figure/CurvePlot.h" // the QCustomPlot include shim

#include <QApplication>
#include <QBuffer>
#include <QFontMetricsF>
#include <QHashSeed>
#include <QPageSize>
#include <QPdfWriter>
#include <QSvgGenerator>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>

namespace heatlens::ui {

namespace fs = std::filesystem;

namespace {

constexpr double kPointsPerInch = 72.0;
constexpr double kMmPerInch = 25.4;
constexpr double kMargin = 3.0;   // around the figure, points
constexpr double kGap = 4.0;      // between panels and rows
constexpr double kBarThick = 5.0; // colour bars

// Where one panel's parts go, in points.
struct PanelBox
{
    QRectF title, content, bar, note;
};

struct RowBox
{
    QRectF label;
    std::vector<PanelBox> panels;
    double bottom = 0.0;
};

struct Layout
{
    double width = 0.0, height = 0.0;
    QRectF title;
    std::vector<RowBox> rows;
    QRectF sharedBar;
    QRectF caption;
};

double lineHeight(const QFont &font)
{
    return QFontMetricsF(font).height();
}

QString tickText(double v)
{
    if (v == 0.0)
        return QStringLiteral("0");
    return QString::number(v, 'g', 3);
}

// The ticks of a bar: its ends, and zero for a diverging bar.
std::vector<double> barTicks(const ColourBar &bar)
{
    std::vector<double> ticks = {bar.lo, bar.hi};
    if (bar.lo < 0.0 && bar.hi > 0.0)
        ticks.insert(ticks.begin() + 1, 0.0);
    return ticks;
}

// The colour of `value` on `bar`: diverging maps put zero at their centre.
QColor barColour(const ColourBar &bar, double value)
{
    static thread_local std::map<int, cv::Mat> luts;
    auto it = luts.find(int(bar.map));
    if (it == luts.end())
        it = luts.emplace(int(bar.map), colorMapLut(bar.map)).first;
    double t = 0.5;
    if (colorMapDiverging(bar.map)) {
        const double m = std::max(std::abs(bar.lo), std::abs(bar.hi));
        t = m > 0 ? 0.5 + 0.5 * value / m : 0.5;
    } else if (bar.hi > bar.lo) {
        t = (value - bar.lo) / (bar.hi - bar.lo);
    }
    const int i = std::clamp(int(std::lround(t * 255.0)), 0, 255);
    const auto &rgb = it->second.at<cv::Vec3b>(0, i);
    return QColor(rgb[0], rgb[1], rgb[2]);
}

// The bar's colours as a 1-pixel strip: `vertical` runs from hi (top) to lo.
QImage barStrip(const ColourBar &bar, bool vertical)
{
    constexpr int n = 256;
    QImage strip(vertical ? 1 : n, vertical ? n : 1, QImage::Format_RGB32);
    for (int i = 0; i < n; ++i) {
        const double t = double(i) / (n - 1);
        const double v = vertical ? bar.hi - t * (bar.hi - bar.lo) : bar.lo + t * (bar.hi - bar.lo);
        strip.setPixelColor(vertical ? 0 : i, vertical ? i : 0, barColour(bar, v));
    }
    return strip;
}

double sharedBarWidth(const ColourBar &bar, const FigureStyle &style)
{
    const QFontMetricsF small(figureFont(style, style.fontPt - 1));
    double widest = 0.0;
    for (double t : barTicks(bar))
        widest = std::max(widest, small.horizontalAdvance(tickText(t)));
    return kGap + kBarThick + 2.0 + widest + 2.0 + small.height() + 1.0;
}

double panelBarHeight(const FigureStyle &style)
{
    return 1.5 + kBarThick + lineHeight(figureFont(style, style.fontPt - 1));
}

Layout layoutOf(const Figure &figure, const FigureStyle &style)
{
    Layout l;
    l.width = figureWidthPt(style);
    const QFont font = figureFont(style, style.fontPt);
    const QFont small = figureFont(style, style.fontPt - 1);
    const QFontMetricsF fm(font);
    double y = kMargin;
    if (!figure.title.isEmpty()) {
        const double h = lineHeight(figureFont(style, style.fontPt + 1, true)) + 2.0;
        l.title = QRectF(kMargin, y, l.width - 2 * kMargin, h);
        y += h;
    }
    double gutter = 0.0;
    for (const auto &row : figure.rows)
        if (!row.label.isEmpty())
            gutter = std::max(gutter, fm.horizontalAdvance(row.label) + 4.0);
    gutter = std::min(gutter, 0.22 * l.width);
    const double barSpace = figure.sharedBar ? sharedBarWidth(*figure.sharedBar, style) : 0.0;
    const double left = kMargin + gutter;
    const double contentWidth = l.width - 2 * kMargin - gutter - barSpace;
    double imagesTop = -1.0, imagesBottom = -1.0;
    for (size_t r = 0; r < figure.rows.size(); ++r) {
        const FigureRow &row = figure.rows[r];
        RowBox box;
        if (r > 0)
            y += kGap;
        const double available = contentWidth * std::clamp(row.widthShare, 0.05, 1.0);
        double aspects = 0.0;
        bool titles = false, notes = false, bars = false;
        for (const Panel &p : row.panels) {
            aspects += std::max(0.05, p.aspect);
            titles |= !p.title.isEmpty();
            notes |= !p.note.isEmpty();
            bars |= p.bar.has_value();
        }
        const int n = int(row.panels.size());
        double h = n > 0 ? (available - (n - 1) * kGap) / aspects : 0.0;
        double used = available;
        if (row.maxHeight > 0.0 && h > row.maxHeight) {
            h = row.maxHeight;
            used = aspects * h + (n - 1) * kGap;
        }
        const double titleH = titles ? lineHeight(font) + 1.0 : 0.0;
        const double barH = bars ? panelBarHeight(style) : 0.0;
        const double noteH = notes ? lineHeight(small) + 1.0 : 0.0;
        // Centred, but a labelled row stays beside its label.
        double x = left + (row.label.isEmpty() ? (contentWidth - used) / 2.0 : 0.0);
        for (const Panel &p : row.panels) {
            const double w = std::max(0.05, p.aspect) * h;
            PanelBox pb;
            pb.title = QRectF(x, y, w, titleH);
            pb.content = QRectF(x, y + titleH, w, h);
            pb.bar = QRectF(x, y + titleH + h, w, barH);
            pb.note = QRectF(x, y + titleH + h + barH, w, noteH);
            if (p.kind == Panel::Kind::Image) {
                imagesTop =
                    imagesTop < 0 ? pb.content.top() : std::min(imagesTop, pb.content.top());
                imagesBottom = std::max(imagesBottom, pb.content.bottom());
            }
            box.panels.push_back(pb);
            x += w + kGap;
        }
        box.label = QRectF(kMargin, y + titleH, gutter - 2.0, h);
        y += titleH + h + barH + noteH;
        box.bottom = y;
        l.rows.push_back(box);
    }
    if (figure.sharedBar) {
        if (imagesTop < 0) {
            imagesTop = l.title.isEmpty() ? kMargin : l.title.bottom();
            imagesBottom = y;
        }
        l.sharedBar = QRectF(l.width - kMargin - barSpace + kGap, imagesTop, kBarThick,
                             std::max(10.0, imagesBottom - imagesTop));
    }
    if (!figure.caption.isEmpty()) {
        y += kGap;
        const QRectF room(kMargin, y, l.width - 2 * kMargin, 1e6);
        const QRectF used = QFontMetricsF(small).boundingRect(
            room, Qt::TextWordWrap | Qt::AlignLeft | Qt::AlignTop, figure.caption);
        l.caption = QRectF(kMargin, y, l.width - 2 * kMargin, used.height());
        y += used.height();
    }
    l.height = std::ceil(y + kMargin);
    return l;
}

// Draws a vertical bar with ticks and a rotated caption at its right, or a horizontal one with
// ticks under it.
void drawBar(QPainter &painter, const ColourBar &bar, const QRectF &rect, bool vertical,
             const FigureStyle &style)
{
    const QFont small = figureFont(style, style.fontPt - 1);
    const QFontMetricsF fm(small);
    painter.save();
    painter.setFont(small);
    QRectF strip = rect;
    if (!vertical)
        strip = QRectF(rect.left(), rect.top() + 1.5, rect.width(), kBarThick);
    painter.drawImage(strip, barStrip(bar, vertical));
    QPen pen(Qt::black, 0.4);
    painter.setPen(pen);
    painter.setBrush(Qt::NoBrush);
    painter.drawRect(strip);
    double widest = 0.0;
    for (double t : barTicks(bar)) {
        const double f = bar.hi > bar.lo ? (t - bar.lo) / (bar.hi - bar.lo) : 0.0;
        const QString text = tickText(t);
        widest = std::max(widest, fm.horizontalAdvance(text));
        if (vertical) {
            const double yy = strip.bottom() - f * strip.height();
            painter.drawLine(QPointF(strip.right(), yy), QPointF(strip.right() + 1.5, yy));
            const double ty = std::clamp(yy - fm.height() / 2, strip.top() - fm.height() / 2,
                                         strip.bottom() - fm.height() / 2);
            painter.drawText(QRectF(strip.right() + 2.0, ty, 200.0, fm.height()),
                             Qt::AlignLeft | Qt::AlignVCenter, text);
        } else {
            const double xx = strip.left() + f * strip.width();
            painter.drawLine(QPointF(xx, strip.bottom()), QPointF(xx, strip.bottom() + 1.0));
            const double w = fm.horizontalAdvance(text);
            const double tx = std::clamp(xx - w / 2, strip.left(), strip.right() - w);
            painter.drawText(QRectF(tx, strip.bottom() + 0.5, w + 1.0, fm.height()),
                             Qt::AlignLeft | Qt::AlignTop, text);
        }
    }
    if (vertical && !bar.caption.isEmpty()) {
        painter.translate(strip.right() + 2.0 + widest + 2.0 + fm.ascent(), strip.center().y());
        painter.rotate(90);
        painter.drawText(QRectF(-strip.height() / 2, -fm.ascent(), strip.height(), fm.height()),
                         Qt::AlignCenter, bar.caption);
    }
    painter.restore();
}

// The QCustomPlot look of a figure: the figure's fonts, thin pens in points.
void styleForFigure(QCustomPlot &plot, const FigureStyle &style)
{
    const QFont font = figureFont(style, style.fontPt);
    const QFont small = figureFont(style, style.fontPt - 1);
    plot.setFont(font);
    plot.legend->setFont(small);
    plot.legend->setIconSize(18, 6);
    plot.legend->setRowSpacing(0);
    plot.legend->setColumnSpacing(6);
    plot.legend->setMargins(QMargins(2, 1, 2, 1));
    for (QCPAxis *axis : plot.axisRect()->axes()) {
        axis->setLabelFont(font);
        axis->setTickLabelFont(small);
        axis->setBasePen(QPen(Qt::black, 0.5));
        axis->setTickPen(QPen(Qt::black, 0.5));
        axis->setSubTickPen(QPen(Qt::black, 0.4));
        axis->setTickLengthIn(3);
        axis->setSubTickLengthIn(1);
        axis->setLabelPadding(2);
        axis->setTickLabelPadding(2);
        axis->grid()->setPen(QPen(QColor(220, 220, 220), 0.3));
        axis->grid()->setZeroLinePen(Qt::NoPen);
    }
    plot.axisRect()->setAutoMargins(QCP::msAll);
}

void paintPanel(QCPPainter &painter, const Panel &p, const PanelBox &box, const FigureStyle &style,
                bool vector)
{
    const QFont font = figureFont(style, style.fontPt);
    const QFont small = figureFont(style, style.fontPt - 1);
    painter.setPen(Qt::black);
    if (!p.title.isEmpty()) {
        painter.setFont(font);
        const QString text =
            QFontMetricsF(font).elidedText(p.title, Qt::ElideRight, box.title.width());
        painter.drawText(box.title, Qt::AlignHCenter | Qt::AlignBottom, text);
    }
    const QRectF &c = box.content;
    switch (p.kind) {
    case Panel::Kind::Empty:
        break;
    case Panel::Kind::Image: {
        if (p.image.isNull())
            break;
        const double scale = std::min(c.width() / p.image.width(), c.height() / p.image.height());
        const QSizeF size(p.image.width() * scale, p.image.height() * scale);
        const QRectF rect(c.center().x() - size.width() / 2, c.center().y() - size.height() / 2,
                          size.width(), size.height());
        painter.save();
        painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
        painter.drawImage(rect, p.image);
        painter.restore();
        if (p.overlay) {
            painter.save();
            painter.setFont(small);
            painter.setClipRect(rect);
            p.overlay(painter, rect, scale);
            painter.restore();
        }
        break;
    }
    case Panel::Kind::Plot: {
        if (!p.plot)
            break;
        QCustomPlot plot;
        const int w = std::max(8, int(std::lround(c.width())));
        const int h = std::max(8, int(std::lround(c.height())));
        plot.resize(w, h);
        styleForFigure(plot, style);
        p.plot(plot);
        // Legend entries as tight as the figure's text (the widget's margins are for screens).
        plot.legend->setIconSize(16, 5);
        plot.legend->setRowSpacing(1);
        for (int i = 0; i < plot.legend->itemCount(); ++i)
            if (QCPAbstractLegendItem *item = plot.legend->item(i))
                item->setMargins(QMargins(2, 0, 2, 0));
        fitLegend(&plot);
        painter.save();
        painter.translate(c.topLeft());
        if (vector)
            painter.setMode(QCPPainter::pmVectorized);
        plot.toPainter(&painter, w, h);
        painter.restore();
        break;
    }
    case Panel::Kind::Painted:
        if (p.paint) {
            painter.save();
            painter.setFont(small);
            p.paint(painter, c);
            painter.restore();
        }
        break;
    }
    if (p.bar)
        drawBar(painter, *p.bar, box.bar, false, style);
    if (!p.note.isEmpty()) {
        painter.setFont(small);
        painter.setPen(Qt::black);
        const QString text =
            QFontMetricsF(small).elidedText(p.note, Qt::ElideRight, box.note.width());
        painter.drawText(box.note, Qt::AlignHCenter | Qt::AlignTop, text);
    }
}

void paintFigure(QCPPainter &painter, const Figure &figure, const Layout &l,
                 const FigureStyle &style, bool vector)
{
    painter.fillRect(QRectF(0, 0, l.width, l.height), Qt::white);
    painter.setRenderHint(QPainter::Antialiasing, true);
    painter.setRenderHint(QPainter::TextAntialiasing, true);
    painter.setPen(Qt::black);
    if (!figure.title.isEmpty()) {
        painter.setFont(figureFont(style, style.fontPt + 1, true));
        painter.drawText(l.title, Qt::AlignLeft | Qt::AlignVCenter, figure.title);
    }
    const QFont font = figureFont(style, style.fontPt);
    for (size_t r = 0; r < figure.rows.size(); ++r) {
        const FigureRow &row = figure.rows[r];
        const RowBox &box = l.rows[r];
        if (!row.label.isEmpty() && box.label.width() > 0) {
            painter.setFont(font);
            painter.setPen(Qt::black);
            painter.drawText(box.label, Qt::AlignRight | Qt::AlignVCenter | Qt::TextWordWrap,
                             row.label);
        }
        for (size_t i = 0; i < row.panels.size(); ++i)
            paintPanel(painter, row.panels[i], box.panels[i], style, vector);
    }
    if (figure.sharedBar)
        drawBar(painter, *figure.sharedBar, l.sharedBar, true, style);
    if (!figure.caption.isEmpty()) {
        painter.setFont(figureFont(style, style.fontPt - 1));
        painter.setPen(Qt::black);
        painter.drawText(l.caption, Qt::TextWordWrap | Qt::AlignLeft | Qt::AlignTop,
                         figure.caption);
    }
}

void needApplication(const Figure &figure)
{
    for (const auto &row : figure.rows)
        for (const auto &p : row.panels)
            if (p.kind == Panel::Kind::Plot &&
                !qobject_cast<QApplication *>(QCoreApplication::instance()))
                throw std::logic_error("a figure with a plot needs a QApplication (QCustomPlot is "
                                       "a widget); run with QT_QPA_PLATFORM=offscreen");
}

// QSvgGenerator writes the size rounded to whole points: the exact millimetres instead.
QByteArray exactSvgSize(QByteArray svg, double widthPt, double heightPt)
{
    const int start = svg.indexOf("<svg");
    const int end = svg.indexOf('>', start);
    if (start < 0 || end < 0)
        return svg;
    QByteArray head = svg.mid(start, end - start);
    const auto replace = [&](const char *attribute, double pt) {
        const QByteArray key = QByteArray(attribute) + "=\"";
        const int a = head.indexOf(key);
        if (a < 0)
            return;
        const int b = head.indexOf('"', a + key.size());
        head.replace(a, b - a + 1,
                     key + QByteArray::number(pt / kPointsPerInch * kMmPerInch, 'f', 3) + "mm\"");
    };
    replace(" width", widthPt);
    replace(" height", heightPt);
    svg.replace(start, end - start, head);
    return svg;
}

} // namespace

FigureFormat figureFormatFromName(const std::string &name)
{
    const QString n = QString::fromStdString(name).toLower();
    if (n == QLatin1String("png"))
        return FigureFormat::Png;
    if (n == QLatin1String("svg"))
        return FigureFormat::Svg;
    if (n == QLatin1String("pdf"))
        return FigureFormat::Pdf;
    throw std::invalid_argument("unknown figure format \"" + name + "\" (png, svg or pdf)");
}

std::string figureFormatName(FigureFormat format)
{
    switch (format) {
    case FigureFormat::Png:
        return "png";
    case FigureFormat::Svg:
        return "svg";
    case FigureFormat::Pdf:
        return "pdf";
    }
    return "png";
}

void validateStyle(const FigureStyle &s)
{
    if (s.widthPx > 0 && (s.widthPx < 64 || s.widthPx > 20000))
        throw std::invalid_argument("figure width " + std::to_string(s.widthPx) +
                                    " px is outside 64-20000");
    if (s.widthPx <= 0 && !(s.widthMm >= 20.0 && s.widthMm <= 500.0))
        throw std::invalid_argument("figure width " + std::to_string(s.widthMm) +
                                    " mm is outside 20-500 (a journal column is 89, a page 183)");
    if (s.dpi < 50 || s.dpi > 1200)
        throw std::invalid_argument("figure resolution " + std::to_string(s.dpi) +
                                    " dpi is outside 50-1200");
    if (s.fontPt < 5 || s.fontPt > 24)
        throw std::invalid_argument("figure font size " + std::to_string(s.fontPt) +
                                    " pt is outside 5-24");
    if (s.fontFamily.trimmed().isEmpty())
        throw std::invalid_argument("the figure's font family is empty");
}

double figureWidthPt(const FigureStyle &style)
{
    if (style.widthPx > 0)
        return style.widthPx * kPointsPerInch / style.dpi;
    // Whole points: Qt writes PDF pages in whole points, and every format is the same size
    // (89 mm is 252 pt, 88.9 mm; 183 mm is 519 pt, 183.1 mm).
    return std::round(style.widthMm / kMmPerInch * kPointsPerInch);
}

QFont figureFont(const FigureStyle &style, int pt, bool bold)
{
    QFont font(style.fontFamily);
    font.setPixelSize(std::max(4, pt));
    font.setBold(bold);
    font.setHintingPreference(QFont::PreferNoHinting);
    font.setStyleStrategy(QFont::PreferOutline);
    return font;
}

double figureHeightPt(const Figure &figure, const FigureStyle &style)
{
    validateStyle(style);
    return layoutOf(figure, style).height;
}

QByteArray renderFigure(const Figure &figure, const FigureStyle &style, FigureFormat format)
{
    validateStyle(style);
    needApplication(figure);
    const Layout l = layoutOf(figure, style);
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    const double dotsPerMeter72 = kPointsPerInch / kMmPerInch * 1000.0;
    switch (format) {
    case FigureFormat::Png: {
        const double pixelsPerPoint = style.dpi / kPointsPerInch;
        const int w = std::max(1, int(std::lround(l.width * pixelsPerPoint)));
        const int h = std::max(1, int(std::ceil(l.height * pixelsPerPoint)));
        QImage image(w, h, QImage::Format_RGB32);
        image.fill(Qt::white);
        // Point-sized fonts (the agreement matrix) see one point per unit while painting.
        image.setDotsPerMeterX(int(std::lround(dotsPerMeter72)));
        image.setDotsPerMeterY(int(std::lround(dotsPerMeter72)));
        {
            QCPPainter painter(&image);
            painter.scale(double(w) / l.width, double(w) / l.width);
            paintFigure(painter, figure, l, style, false);
        }
        const int dpm = int(std::lround(style.dpi / kMmPerInch * 1000.0));
        image.setDotsPerMeterX(dpm);
        image.setDotsPerMeterY(dpm);
        if (!image.save(&buffer, "PNG"))
            throw std::runtime_error("cannot encode the figure as PNG");
        break;
    }
    case FigureFormat::Svg: {
        QSvgGenerator svg;
        svg.setOutputDevice(&buffer);
        svg.setResolution(int(kPointsPerInch));
        svg.setSize(QSize(int(std::ceil(l.width)), int(std::ceil(l.height))));
        svg.setViewBox(QRectF(0, 0, l.width, l.height));
        svg.setTitle(figure.title.isEmpty() ? QStringLiteral("Heatlens figure") : figure.title);
        svg.setDescription(QStringLiteral("Made with Heatlens"));
        {
            QCPPainter painter(&svg);
            paintFigure(painter, figure, l, style, true);
        }
        buffer.close();
        return exactSvgSize(bytes, l.width, l.height);
    }
    case FigureFormat::Pdf: {
        // Qt's PDF writer lists the fonts in the order of a QHash, which is seeded at random
        // per process: a fixed seed makes the same figure the same bytes in every process (the
        // viewer's export equals heatlens-cli's). Hashes made before keep their own seed.
        QHashSeed::setDeterministicGlobalSeed();
        QPdfWriter pdf(&buffer);
        pdf.setCreator(QStringLiteral("Heatlens"));
        pdf.setTitle(figure.title);
        pdf.setResolution(int(kPointsPerInch));
        pdf.setPageSize(QPageSize(
            QSizeF(l.width / kPointsPerInch * kMmPerInch, l.height / kPointsPerInch * kMmPerInch),
            QPageSize::Millimeter, QString(), QPageSize::ExactMatch));
        pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
        {
            QCPPainter painter(&pdf);
            paintFigure(painter, figure, l, style, true);
        }
        break;
    }
    }
    buffer.close();
    return bytes;
}

std::vector<std::string> saveFigure(const Figure &figure, const FigureStyle &style,
                                    const std::vector<FigureFormat> &formats,
                                    const std::string &dir, const std::string &stem, bool overwrite)
{
    std::vector<std::string> paths;
    for (FigureFormat f : formats)
        paths.push_back((fs::path(dir) / (stem + "." + figureFormatName(f))).string());
    if (!overwrite)
        for (const auto &p : paths)
            if (fs::exists(p))
                throw std::runtime_error(p + " exists; choose another folder or overwrite it");
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (!fs::is_directory(dir))
        throw std::runtime_error("cannot create the folder " + dir +
                                 (ec ? ": " + ec.message() : std::string()));
    for (size_t i = 0; i < formats.size(); ++i) {
        const QByteArray bytes = renderFigure(figure, style, formats[i]);
        writeFileAtomically(paths[i], [&](std::ostream &out) {
            out.write(bytes.constData(), std::streamsize(bytes.size()));
        });
    }
    return paths;
}

QImage colouredMap(const cv::Mat &normalized, ColorMapId map)
{
    return rgbImage(colorize(normalized, map));
}

QImage rgbImage(const cv::Mat &rgb)
{
    cv::Mat c = rgb.isContinuous() ? rgb : rgb.clone();
    return QImage(c.data, c.cols, c.rows, int(c.step), QImage::Format_RGB888).copy();
}

} // namespace heatlens::ui
