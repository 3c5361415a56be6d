#include "ui/figure/AgreementMatrix.h"

#include "core/render/ColorMap.h"

#include <QFileInfo>
#include <QFontMetrics>
#include <QGuiApplication>
#include <QPdfWriter>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace heatlens::ui {

namespace {

constexpr double kMargin = 8.0;
constexpr double kBarWidth = 14.0;
constexpr double kBarSpace = 84.0; // bar, its ticks and caption

// Where everything goes for `matrix` in `area`.
struct Layout
{
    QRectF grid; // the n x n squares
    double cell = 0.0;
    double labelWidth = 0.0;
    QRectF title;
    QRectF bar;
};

QFont labelFont()
{
    QFont f;
    f.setPointSizeF(8.5);
    return f;
}

Layout layoutOf(const QRectF &area, const AgreementMatrix &m)
{
    Layout l;
    const QFontMetricsF fm(labelFont());
    double widest = 0.0;
    for (const QString &label : m.labels)
        widest = std::max(widest, fm.horizontalAdvance(label));
    l.labelWidth = std::min(widest + 6.0, area.width() * 0.35);
    const double titleHeight = m.title.isEmpty() ? 0.0 : fm.height() * 1.6;
    const double topLabels = std::min(widest + 6.0, area.height() * 0.35);
    const int n = std::max(1, int(m.labels.size()));
    const double width = area.width() - 2 * kMargin - l.labelWidth - kBarSpace;
    const double height = area.height() - 2 * kMargin - titleHeight - topLabels;
    l.cell = std::max(4.0, std::min(width, height) / n);
    const QPointF origin(area.left() + kMargin + l.labelWidth,
                         area.top() + kMargin + titleHeight + topLabels);
    l.grid = QRectF(origin, QSizeF(l.cell * n, l.cell * n));
    l.title = QRectF(area.left() + kMargin, area.top() + kMargin, area.width() - 2 * kMargin,
                     titleHeight);
    l.bar = QRectF(l.grid.right() + 16.0, l.grid.top(), kBarWidth, l.grid.height());
    return l;
}

QColor colourOf(double value)
{
    static const cv::Mat lut = colorMapLut(ColorMapId::CoolWarm);
    const double t = std::clamp(value, -1.0, 1.0);
    const int i = std::clamp(int(std::lround(127.5 + t * 127.5)), 0, 255);
    const auto &rgb = lut.at<cv::Vec3b>(0, i);
    return QColor(rgb[0], rgb[1], rgb[2]);
}

QString valueText(double v)
{
    return std::isfinite(v) ? QString::number(v, 'f', 2) : QStringLiteral("-");
}

} // namespace

void drawAgreementMatrix(QPainter &painter, const QRectF &area, const AgreementMatrix &m)
{
    const int n = int(m.labels.size());
    if (n == 0 || m.values.size() != size_t(n * n))
        return;
    const Layout l = layoutOf(area, m);
    painter.save();
    painter.setRenderHint(QPainter::Antialiasing, true);
    QFont font = labelFont();
    painter.setFont(font);
    const QColor ink = painter.pen().color();
    if (!m.title.isEmpty())
        painter.drawText(l.title, Qt::AlignLeft | Qt::AlignVCenter, m.title);
    const QFontMetricsF fm(font);
    for (int i = 0; i < n; ++i) {
        const QString label = fm.elidedText(m.labels[i], Qt::ElideMiddle, l.labelWidth - 6.0);
        painter.drawText(
            QRectF(area.left() + kMargin, l.grid.top() + i * l.cell, l.labelWidth - 6.0, l.cell),
            Qt::AlignRight | Qt::AlignVCenter, label);
        painter.save();
        painter.translate(l.grid.left() + (i + 0.5) * l.cell, l.grid.top() - 4.0);
        painter.rotate(-90.0);
        painter.drawText(
            QRectF(0, -l.cell / 2, l.grid.top() - area.top() - kMargin, l.cell),
            Qt::AlignLeft | Qt::AlignVCenter,
            fm.elidedText(m.labels[i], Qt::ElideMiddle, l.grid.top() - area.top() - kMargin - 8.0));
        painter.restore();
    }
    QFont valueFont = font;
    valueFont.setPointSizeF(std::clamp(l.cell / 3.6, 6.0, 10.0));
    const bool values = l.cell >= 22.0; // else colours only (hover for the numbers)
    painter.setFont(valueFont);
    for (int r = 0; r < n; ++r)
        for (int c = 0; c < n; ++c) {
            const QRectF square(l.grid.left() + c * l.cell, l.grid.top() + r * l.cell, l.cell,
                                l.cell);
            const double v = m.at(r, c);
            const QColor fill = r == c             ? QColor(220, 220, 220)
                                : std::isfinite(v) ? colourOf(v)
                                                   : QColor(245, 245, 245);
            painter.fillRect(square.adjusted(0.5, 0.5, -0.5, -0.5), fill);
            if (r == c || !values)
                continue;
            painter.setPen(fill.lightnessF() < 0.45 ? Qt::white : Qt::black);
            QString text = valueText(v);
            if (!m.annotations.isEmpty() && l.cell >= 36.0)
                text += QLatin1Char('\n') + m.annotations[r * n + c];
            painter.drawText(square, Qt::AlignCenter, text);
        }
    if (m.highlighted.first >= 0 && m.highlighted.second >= 0) {
        painter.setPen(QPen(QColor(20, 20, 20), 2.5));
        painter.setBrush(Qt::NoBrush);
        for (const auto &[r, c] :
             {m.highlighted, std::pair(m.highlighted.second, m.highlighted.first)})
            painter.drawRect(
                QRectF(l.grid.left() + c * l.cell, l.grid.top() + r * l.cell, l.cell, l.cell)
                    .adjusted(1.5, 1.5, -1.5, -1.5));
    }
    // Colour bar from -1 (bottom) to 1 (top).
    painter.setFont(font);
    for (int y = 0; y < int(l.bar.height()); ++y) {
        const double v = 1.0 - 2.0 * y / std::max(1.0, l.bar.height() - 1.0);
        painter.fillRect(QRectF(l.bar.left(), l.bar.top() + y, l.bar.width(), 1.0), colourOf(v));
    }
    painter.setPen(ink);
    painter.setBrush(Qt::NoBrush);
    painter.drawRect(l.bar);
    for (double tick : {1.0, 0.0, -1.0}) {
        const double y = l.bar.top() + (1.0 - tick) / 2.0 * l.bar.height();
        painter.drawText(QRectF(l.bar.right() + 3, y - 8, 30, 16), Qt::AlignLeft | Qt::AlignVCenter,
                         QString::number(tick, 'g', 2));
    }
    painter.save();
    painter.translate(l.bar.right() + 40.0, l.bar.center().y());
    painter.rotate(-90.0);
    painter.drawText(QRectF(-l.bar.height() / 2, -8, l.bar.height(), 16), Qt::AlignCenter,
                     m.metric);
    painter.restore();
    painter.restore();
}

std::optional<std::pair<int, int>>
agreementMatrixEntryAt(const QRectF &area, const AgreementMatrix &m, const QPointF &pos)
{
    const int n = int(m.labels.size());
    if (n == 0)
        return std::nullopt;
    const Layout l = layoutOf(area, m);
    if (!l.grid.contains(pos))
        return std::nullopt;
    const int c = std::min(n - 1, int((pos.x() - l.grid.left()) / l.cell));
    const int r = std::min(n - 1, int((pos.y() - l.grid.top()) / l.cell));
    return std::pair(r, c);
}

QSize agreementMatrixSize(const AgreementMatrix &m)
{
    const QFontMetricsF fm(labelFont());
    double widest = 0.0;
    for (const QString &label : m.labels)
        widest = std::max(widest, fm.horizontalAdvance(label));
    const int n = std::max(1, int(m.labels.size()));
    const double cell = m.annotations.isEmpty() ? 48.0 : 56.0;
    const double title = m.title.isEmpty() ? 0.0 : fm.height() * 1.6;
    return QSize(int(2 * kMargin + widest + 6 + n * cell + kBarSpace + 8),
                 int(2 * kMargin + title + widest + 6 + n * cell));
}

void saveAgreementMatrix(const AgreementMatrix &m, const QString &path)
{
    if (!QGuiApplication::instance())
        throw std::logic_error("saveAgreementMatrix needs a QGuiApplication");
    const QString suffix = QFileInfo(path).suffix().toLower();
    const std::string name = path.toStdString();
    const QSize size = agreementMatrixSize(m);
    if (suffix == QLatin1String("png")) {
        QImage image(size * 2, QImage::Format_RGB32); // 2x: sharp in papers and on HiDPI
        image.setDevicePixelRatio(2.0);
        image.fill(Qt::white);
        {
            QPainter painter(&image);
            painter.setPen(Qt::black);
            drawAgreementMatrix(painter, QRectF(QPointF(0, 0), QSizeF(size)), m);
        }
        if (!image.save(path))
            throw std::runtime_error("cannot write the agreement matrix to " + name);
        return;
    }
    if (suffix != QLatin1String("pdf"))
        throw std::invalid_argument("cannot save the agreement matrix as " + name +
                                    ": the file name must end in .png or .pdf");
    QPdfWriter pdf(path);
    pdf.setPageSize(QPageSize(QSizeF(size) * 0.75, QPageSize::Point));
    pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
    pdf.setResolution(96);
    QPainter painter;
    if (!painter.begin(&pdf))
        throw std::runtime_error("cannot write the agreement matrix to " + name);
    painter.setPen(Qt::black);
    drawAgreementMatrix(painter, QRectF(QPointF(0, 0), QSizeF(size)), m);
    painter.end();
}

} // namespace heatlens::ui
