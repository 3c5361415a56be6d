#pragma once

#include "core/render/ColorMap.h"

#include <QImage>
#include <QWidget>

#include <opencv2/core/mat.hpp>

namespace heatlens::ui {

// Shows an image with a heatmap overlay and a colour bar; wheel zooms around the cursor,
// dragging pans, double-click fits; hovering reports the map value under the cursor.
class HeatmapView : public QWidget
{
    Q_OBJECT

public:
    explicit HeatmapView(QWidget *parent = nullptr);

    void setImage(const cv::Mat &image);
    // `map` in the image's native frame (CV_32F); empty clears the overlay.
    void setMap(const cv::Mat &map, bool signedMap);
    void setColorMap(ColorMapId id);
    void setOpacity(double opacity);
    void setClipPercentile(double percentile);
    void setShowAbsolute(bool absolute);
    void setMessage(const QString &message); // drawn over the view, e.g. "computing..."
    void fitToWindow();

    bool hasMap() const { return !m_map.empty(); }
    const QImage &overlayImage() const { return m_overlay; }
    double zoom() const { return m_zoom; }
    QSize sizeHint() const override { return {520, 520}; }

Q_SIGNALS:
    void hovered(const QString &text);

protected:
    void paintEvent(QPaintEvent *event) override;
    void wheelEvent(QWheelEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void mouseDoubleClickEvent(QMouseEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;

private:
    void rebuildOverlay();
    QRectF imageRect() const;
    QRect colorBarRect() const;
    void paintColorBar(QPainter &painter);
    void reportHover(const QPointF &pos);

    QImage m_image;
    cv::Mat m_map;
    bool m_signed = false;
    bool m_absolute = false;
    ColorMapId m_colorMap = ColorMapId::Viridis;
    double m_opacity = 0.55;
    double m_clip = 99.0;
    double m_scale = 1.0; // the map value that maps to the top of the colour bar
    QImage m_overlay;
    QImage m_bar;
    QString m_message;
    double m_zoom = 1.0;
    QPointF m_pan;
    QPoint m_dragStart;
    QPointF m_panStart;
    bool m_fit = true;
};

} // namespace heatlens::ui
