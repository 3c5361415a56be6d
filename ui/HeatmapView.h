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
    // > 0: the map value at the top of the colour scale, shared with other views; 0: this map's
    // own clip percentile.
    void setSharedScale(double scale);
    // Small views (a comparison grid): thin margins, a thin colour bar without numbers.
    void setCompact(bool compact);
    // Colours the map linearly over [lo, hi] (clamped; NaN, an undefined statistic, grey)
    // instead of by its clip percentile: std, CV and SNR maps. lo >= hi goes back to the
    // percentile.
    void setFixedRange(double lo, double hi);
    // An overlay coloured elsewhere (CV_8UC3 RGB in the map's frame: the value x certainty
    // palette) shown instead of the map's own colours; the map still gives the hover values and
    // the colour bar is hidden. Empty: the map's colours again.
    void setPaintedOverlay(const cv::Mat &rgb);
    void fitToWindow();

    // Zoom and pan, to show the same part of the image in several views.
    struct ViewState
    {
        bool fit = true;
        double zoom = 1.0;
        QPointF pan;
    };
    ViewState viewState() const { return {m_fit, m_zoom, m_pan}; }
    void setViewState(const ViewState &state);
    // Double-click fits the image to the view (default), or only emits doubleClicked().
    void setDoubleClickFits(bool fits) { m_doubleClickFits = fits; }

    bool hasMap() const { return !m_map.empty(); }
    const QImage &overlayImage() const { return m_overlay; }
    const cv::Mat &map() const { return m_map; }
    bool signedMap() const { return m_signed; }
    double sharedScale() const { return m_sharedScale; }
    const QString &message() const { return m_message; }
    double scale() const { return m_scale; } // the value at the top of the colour bar
    // The scale this map's own clip percentile gives (what shared scales are made of), whatever
    // the shared scale; computed once per map and percentile.
    double ownScale() const;
    double zoom() const { return m_zoom; }
    QSize sizeHint() const override { return {520, 520}; }

Q_SIGNALS:
    void hovered(const QString &text);
    void viewChanged();                            // the user zoomed, panned or fitted
    void clicked(Qt::KeyboardModifiers modifiers); // pressed and released without dragging
    void doubleClicked();

protected:
    void paintEvent(QPaintEvent *event) override;
    void wheelEvent(QWheelEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;
    void mouseDoubleClickEvent(QMouseEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;

private:
    void rebuildOverlay();
    QRectF imageRect() const;
    QRect colorBarRect() const;
    void paintColorBar(QPainter &painter);
    void reportHover(const QPointF &pos);
    int barMargin() const;

    QImage m_image;
    cv::Mat m_map;
    bool m_signed = false;
    bool m_absolute = false;
    ColorMapId m_colorMap = ColorMapId::Viridis;
    double m_opacity = 0.55;
    double m_clip = 99.0;
    double m_scale = 1.0; // the map value that maps to the top of the colour bar
    double m_sharedScale = 0.0;
    mutable double m_ownScale = -1.0; // < 0: not known yet
    bool m_doubleClickFits = true;
    bool m_dragged = false;
    bool m_compact = false;
    QImage m_overlay;
    QImage m_bar;
    QString m_message;
    double m_zoom = 1.0;
    QPointF m_pan;
    QPoint m_dragStart;
    QPointF m_panStart;
    bool m_fit = true;
    double m_fixedLo = 0.0, m_fixedHi = 0.0; // a fixed colour range when m_fixedHi > m_fixedLo
    cv::Mat m_painted;
};

} // namespace heatlens::ui
