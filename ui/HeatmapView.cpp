#include "ui/HeatmapView.h"

#include "core/render/UncertaintyColors.h"

#include "ui/ImageConvert.h"

#include <QMouseEvent>
#include <QPainter>
#include <QWheelEvent>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>

namespace heatlens::ui {

namespace {

constexpr int kBarWidth = 16;
constexpr int kBarMargin = 56;

bool isDiverging(ColorMapId id)
{
    return id == ColorMapId::CoolWarm || id == ColorMapId::Bwr;
}

} // namespace

HeatmapView::HeatmapView(QWidget *parent)
    : QWidget(parent)
{
    setMouseTracking(true);
    setMinimumSize(200, 200);
    setAutoFillBackground(true);
    setFocusPolicy(Qt::ClickFocus);
    QPalette p = palette();
    p.setColor(QPalette::Window, QColor(40, 40, 44));
    setPalette(p);
}

void HeatmapView::setImage(const cv::Mat &image)
{
    const QSize before = m_image.size();
    m_image = image.empty() ? QImage() : sampleToQImage(image);
    m_map = cv::Mat();
    m_ownScale = -1.0;
    m_overlay = QImage();
    if (m_image.size() != before)
        m_fit = true;
    update();
}

void HeatmapView::setMap(const cv::Mat &map, bool signedMap)
{
    m_map = map;
    m_signed = signedMap;
    m_ownScale = -1.0;
    rebuildOverlay();
}

void HeatmapView::setColorMap(ColorMapId id)
{
    if (id == m_colorMap)
        return;
    m_colorMap = id;
    rebuildOverlay();
}

void HeatmapView::setOpacity(double opacity)
{
    m_opacity = opacity;
    update();
}

void HeatmapView::setClipPercentile(double percentile)
{
    if (percentile == m_clip)
        return;
    m_clip = percentile;
    m_ownScale = -1.0;
    rebuildOverlay();
}

void HeatmapView::setShowAbsolute(bool absolute)
{
    if (absolute == m_absolute)
        return;
    m_absolute = absolute;
    rebuildOverlay();
}

double HeatmapView::ownScale() const
{
    if (m_map.empty())
        return 0.0;
    if (m_ownScale < 0.0) { // the same percentile of |map| rebuildOverlay takes, signed or not
        Normalization norm;
        norm.clipPercentile = m_clip;
        cv::Mat unused;
        m_ownScale = normalizeMap(cv::Mat(cv::abs(m_map)), norm, unused);
    }
    return m_ownScale;
}

void HeatmapView::setMessage(const QString &message)
{
    m_message = message;
    update();
}

void HeatmapView::setSharedScale(double scale)
{
    if (scale == m_sharedScale)
        return;
    m_sharedScale = scale;
    rebuildOverlay();
}

void HeatmapView::setCompact(bool compact)
{
    m_compact = compact;
    update();
}

int HeatmapView::barMargin() const
{
    return m_compact ? 10 : kBarMargin;
}

void HeatmapView::fitToWindow()
{
    m_fit = true;
    update();
}

void HeatmapView::setViewState(const ViewState &state)
{
    m_fit = state.fit;
    m_zoom = state.zoom;
    m_pan = state.pan;
    update();
}

void HeatmapView::setFixedRange(double lo, double hi)
{
    m_fixedLo = lo;
    m_fixedHi = hi;
    rebuildOverlay();
}

void HeatmapView::setPaintedOverlay(const cv::Mat &rgb)
{
    m_painted = rgb;
    rebuildOverlay();
}

void HeatmapView::rebuildOverlay()
{
    m_overlay = QImage();
    if (m_map.empty() && m_painted.empty()) {
        update();
        return;
    }
    if (!m_painted.empty()) {
        m_overlay = toQImage(m_painted);
        m_bar = QImage();
        update();
        return;
    }
    if (m_fixedHi > m_fixedLo) {
        m_scale = m_fixedHi;
        m_overlay = toQImage(colorizeDefined(m_map, m_fixedLo, m_fixedHi, m_colorMap));
        cv::Mat ramp(256, 1, CV_32F);
        for (int i = 0; i < 256; ++i)
            ramp.at<float>(255 - i) = float(m_fixedLo + (m_fixedHi - m_fixedLo) * i / 255.0);
        m_bar = toQImage(colorizeDefined(ramp, m_fixedLo, m_fixedHi, m_colorMap));
        update();
        return;
    }
    cv::Mat values = m_absolute ? cv::abs(m_map) : m_map;
    Normalization norm;
    norm.signedMap = m_signed && !m_absolute;
    norm.clipPercentile = m_clip;
    norm.sharedScale = m_sharedScale;
    cv::Mat normalized;
    m_scale = normalizeMap(values, norm, normalized);
    if (m_sharedScale <= 0.0)
        m_ownScale = m_scale;
    // Signed maps need a diverging map to keep the sign readable; others use the choice.
    const ColorMapId id =
        norm.signedMap && !isDiverging(m_colorMap) ? ColorMapId::CoolWarm : m_colorMap;
    m_overlay = toQImage(colorize(normalized, id));
    cv::Mat ramp(256, 1, CV_32F);
    for (int i = 0; i < 256; ++i)
        ramp.at<float>(255 - i) = norm.signedMap ? float(i) / 127.5f - 1.0f : float(i) / 255.0f;
    m_bar = toQImage(colorize(ramp, id));
    update();
}

QRectF HeatmapView::imageRect() const
{
    if (m_image.isNull())
        return {};
    const int pad = m_compact ? 2 : 8;
    const QRectF area = rect().adjusted(pad, pad, -barMargin() - pad, -pad);
    double zoom = m_zoom;
    QPointF pan = m_pan;
    if (m_fit) {
        zoom = std::min(area.width() / m_image.width(), area.height() / m_image.height());
        pan = QPointF();
    }
    const QSizeF size(m_image.width() * zoom, m_image.height() * zoom);
    return QRectF(area.center() - QPointF(size.width(), size.height()) / 2 + pan, size);
}

QRect HeatmapView::colorBarRect() const
{
    if (m_compact)
        return QRect(width() - barMargin() + 2, 4, 6, std::max(20, height() - 8));
    return QRect(width() - kBarMargin + 6, 24, kBarWidth, std::max(40, height() - 48));
}

void HeatmapView::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    if (m_image.isNull()) {
        painter.setPen(Qt::lightGray);
        painter.drawText(rect(), Qt::AlignCenter,
                         m_message.isEmpty() ? tr("Open a dataset and pick an image") : m_message);
        return;
    }
    const QRectF target = imageRect();
    // Small images (28x28) are shown as crisp pixels, large ones smoothly.
    painter.setRenderHint(QPainter::SmoothPixmapTransform, target.width() < m_image.width());
    painter.drawImage(target, m_image);
    if (!m_overlay.isNull()) {
        painter.setOpacity(m_opacity);
        painter.drawImage(target, m_overlay);
        painter.setOpacity(1.0);
        paintColorBar(painter);
    }
    if (!m_message.isEmpty()) {
        painter.setPen(Qt::white);
        painter.drawText(rect().adjusted(6, 4, -barMargin(), -4),
                         Qt::AlignTop | Qt::AlignLeft | Qt::TextWordWrap, m_message);
    }
}

void HeatmapView::paintColorBar(QPainter &painter)
{
    if (m_bar.isNull())
        return;
    const QRect bar = colorBarRect();
    painter.drawImage(bar, m_bar);
    painter.setPen(Qt::lightGray);
    painter.drawRect(bar);
    if (m_compact)
        return; // no room for numbers: the caller shows the scale
    const bool signedBar = m_signed && !m_absolute;
    const QString top = QString::number(m_scale, 'g', 3);
    const QString bottom = m_fixedHi > m_fixedLo ? QString::number(m_fixedLo, 'g', 3)
                           : signedBar           ? QString::number(-m_scale, 'g', 3)
                                                 : QStringLiteral("0");
    painter.drawText(QRect(bar.left() - 20, 4, kBarMargin, 18), Qt::AlignCenter, top);
    painter.drawText(QRect(bar.left() - 20, bar.bottom() + 2, kBarMargin, 18), Qt::AlignCenter,
                     bottom);
}

void HeatmapView::wheelEvent(QWheelEvent *event)
{
    if (m_image.isNull())
        return;
    const QRectF before = imageRect();
    const double current = before.width() / m_image.width();
    const double factor = std::pow(1.0015, event->angleDelta().y());
    const double zoom = std::clamp(current * factor, 0.05, 200.0);
    // Keep the image point under the cursor fixed.
    const QPointF cursor = event->position();
    const QPointF rel = (cursor - before.topLeft()) / current;
    m_fit = false;
    m_zoom = zoom;
    m_pan = QPointF();
    const QRectF centred = imageRect();
    m_pan = cursor - (centred.topLeft() + rel * zoom);
    update();
    event->accept();
    Q_EMIT viewChanged();
}

void HeatmapView::mousePressEvent(QMouseEvent *event)
{
    if (m_fit && !m_image.isNull()) {
        m_zoom = imageRect().width() / m_image.width();
        m_pan = QPointF();
        m_fit = false;
    }
    m_dragStart = event->position().toPoint();
    m_panStart = m_pan;
    m_dragged = false;
}

void HeatmapView::mouseMoveEvent(QMouseEvent *event)
{
    if (event->buttons() & Qt::LeftButton) {
        const QPoint moved = event->position().toPoint() - m_dragStart;
        m_dragged = m_dragged || moved.manhattanLength() > 3;
        m_pan = m_panStart + moved;
        update();
        Q_EMIT viewChanged();
    }
    reportHover(event->position());
}

void HeatmapView::mouseReleaseEvent(QMouseEvent *event)
{
    if (event->button() == Qt::LeftButton && !m_dragged)
        Q_EMIT clicked(event->modifiers());
}

void HeatmapView::mouseDoubleClickEvent(QMouseEvent *)
{
    if (m_doubleClickFits) {
        fitToWindow();
        Q_EMIT viewChanged();
    }
    Q_EMIT doubleClicked();
}

void HeatmapView::resizeEvent(QResizeEvent *)
{
    update();
}

void HeatmapView::reportHover(const QPointF &pos)
{
    const QRectF r = imageRect();
    if (m_image.isNull() || !r.contains(pos))
        return;
    const int x = int((pos.x() - r.left()) / r.width() * m_image.width());
    const int y = int((pos.y() - r.top()) / r.height() * m_image.height());
    QString text = tr("x %1  y %2").arg(x).arg(y);
    if (!m_map.empty() && x < m_map.cols && y < m_map.rows)
        text += tr("  value %1").arg(double(m_map.at<float>(y, x)), 0, 'g', 4);
    Q_EMIT hovered(text);
}

} // namespace heatlens::ui
