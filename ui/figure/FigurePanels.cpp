#include "ui/figure/FigurePanels.h"

#include "core/maps/MapMath.h"

#include <opencv2/imgproc.hpp>

#include <QFontMetricsF>
#include <QPainter>

#include <algorithm>
#include <cmath>

namespace heatlens::ui {

QColor divergingColour(double value, double range)
{
    static const cv::Mat lut = colorMapLut(ColorMapId::CoolWarm);
    const double t = range > 0 ? std::clamp(value / range, -1.0, 1.0) : 0.0;
    const auto &rgb = lut.at<cv::Vec3b>(0, std::clamp(int(std::lround(127.5 + 127.5 * t)), 0, 255));
    return QColor(rgb[0], rgb[1], rgb[2]);
}

Panel plotPanel(double aspect, std::function<void(QCustomPlot &)> plot)
{
    Panel p;
    p.kind = Panel::Kind::Plot;
    p.aspect = aspect;
    p.plot = std::move(plot);
    return p;
}

ColorMapId mapFor(bool signedMap, ColorMapId asked)
{
    if (signedMap && !colorMapDiverging(asked))
        return ColorMapId::CoolWarm;
    if (!signedMap && colorMapDiverging(asked))
        return ColorMapId::Viridis;
    return asked;
}

int enlargement(cv::Size size)
{
    const int shorter = std::max(1, std::min(size.width, size.height));
    return shorter >= kMinSide ? 1 : (kMinSide + shorter - 1) / shorter;
}

cv::Mat enlarged(const cv::Mat &m, int factor)
{
    if (factor <= 1)
        return m;
    cv::Mat out;
    cv::resize(m, out, cv::Size(m.cols * factor, m.rows * factor), 0, 0, cv::INTER_NEAREST);
    return out;
}

Panel imagePanel(const QImage &image, const QString &title)
{
    Panel p;
    p.kind = Panel::Kind::Image;
    p.image = image;
    p.title = title;
    p.aspect = image.isNull() ? 1.0 : double(image.width()) / image.height();
    return p;
}

QImage colourMap(const cv::Mat &image, const cv::Mat &map, bool signedMap, const MapColours &c,
                 double scale, double *usedScale, bool over)
{
    const int factor = enlargement(map.size());
    Normalization norm;
    norm.signedMap = signedMap;
    norm.clipPercentile = c.clipPercentile;
    norm.sharedScale = scale;
    cv::Mat values = signedMap ? map : cv::abs(map);
    cv::Mat normalized;
    const double used = normalizeMap(enlarged(values, factor), norm, normalized);
    if (usedScale)
        *usedScale = used;
    const cv::Mat heat = colorize(normalized, mapFor(signedMap, c.map));
    if (!over)
        return rgbImage(heat);
    cv::Mat base = enlarged(toRgb8(image), factor);
    return rgbImage(overlayHeatmap(base, heat, c.alpha));
}

ColourBar barFor(bool signedMap, double scale, const MapColours &c, const QString &caption)
{
    ColourBar bar;
    bar.map = mapFor(signedMap, c.map);
    bar.lo = signedMap ? -scale : 0.0;
    bar.hi = scale;
    bar.caption = caption;
    return bar;
}

QImage rangeMap(const cv::Mat &map, double lo, double hi, ColorMapId id)
{
    const int factor = enlargement(map.size());
    cv::Mat big = enlarged(map, factor);
    cv::Mat normalized(big.size(), CV_32F);
    cv::Mat nan(big.size(), CV_8U, cv::Scalar(0));
    for (int r = 0; r < big.rows; ++r)
        for (int x = 0; x < big.cols; ++x) {
            const float v = big.at<float>(r, x);
            if (!std::isfinite(v)) {
                nan.at<uchar>(r, x) = 1;
                normalized.at<float>(r, x) = 0.0f;
            } else {
                normalized.at<float>(r, x) =
                    float(std::clamp(hi > lo ? (v - lo) / (hi - lo) : 0.0, 0.0, 1.0));
            }
        }
    cv::Mat rgb = colorize(normalized, id);
    rgb.setTo(cv::Scalar(160, 160, 160), nan);
    return rgbImage(rgb);
}

void paintMatrix(QPainter &painter, const QRectF &rect, const MatrixData &m)
{
    const QFontMetricsF fm(painter.font());
    QStringList labels = m.labels;
    if (labels.isEmpty())
        for (int k = 0; k < m.n; ++k)
            labels << QString::number(k);
    double label = 0.0;
    for (const QString &l : labels)
        label = std::max(label, fm.horizontalAdvance(l));
    label = std::min(label + 2.0, 0.4 * std::min(rect.width(), rect.height()));
    const double side = std::min(rect.width(), rect.height()) - label;
    const double cell = m.n > 0 ? side / m.n : side;
    const QPointF origin(rect.left() + label, rect.top() + label);
    painter.setPen(Qt::NoPen);
    for (int i = 0; i < m.n; ++i)
        for (int j = 0; j < m.n; ++j) {
            const double v = m.values[size_t(i * m.n + j)];
            const QColor colour = std::isfinite(v) && !(m.greyDiagonal && i == j)
                                      ? divergingColour(v, m.range)
                                      : QColor(200, 200, 200);
            painter.setBrush(colour);
            painter.drawRect(QRectF(origin.x() + j * cell, origin.y() + i * cell, cell, cell));
        }
    painter.setBrush(Qt::NoBrush);
    painter.setPen(QPen(Qt::black, 0.4));
    painter.drawRect(QRectF(origin, QSizeF(cell * m.n, cell * m.n)));
    if (m.numbers && cell >= fm.height() * 1.2 && cell >= fm.horizontalAdvance("-0.00") + 1.0)
        for (int i = 0; i < m.n; ++i)
            for (int j = 0; j < m.n; ++j) {
                const double v = m.values[size_t(i * m.n + j)];
                if (m.greyDiagonal && i == j)
                    continue;
                painter.drawText(QRectF(origin.x() + j * cell, origin.y() + i * cell, cell, cell),
                                 Qt::AlignCenter,
                                 std::isfinite(v) ? QString::number(v, 'f', 2)
                                                  : QStringLiteral("-"));
            }
    // Labels, thinned so that they do not overlap.
    const int every = std::max(1, int(std::ceil(fm.height() / std::max(cell, 1e-6))));
    for (int k = 0; k < m.n; k += every) {
        const QString text = fm.elidedText(labels[k], Qt::ElideRight, label - 1.5);
        painter.drawText(QRectF(rect.left(), origin.y() + k * cell, label - 1.5, cell),
                         Qt::AlignRight | Qt::AlignVCenter, text);
        painter.save();
        painter.translate(origin.x() + k * cell, origin.y() - 1.5);
        painter.rotate(-90);
        painter.drawText(QRectF(0, 0, label - 1.5, cell), Qt::AlignLeft | Qt::AlignVCenter, text);
        painter.restore();
    }
}

} // namespace heatlens::ui
