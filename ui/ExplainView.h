#pragma once

#include <QWidget>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QSlider;

namespace heatlens::ui {

class HeatmapView;
class Session;

// The Explain tab: the heatmap view and its display controls (colour map, opacity, clipping,
// absolute value), with a line describing what is shown.
class ExplainView : public QWidget
{
    Q_OBJECT

public:
    explicit ExplainView(Session *session, QWidget *parent = nullptr);

    HeatmapView *heatmap() const { return m_view; }
    QComboBox *colorMapBox() const { return m_colorMap; }
    QSlider *opacitySlider() const { return m_opacity; }
    QLabel *infoLabel() const { return m_info; }

private:
    void onSampleChanged();
    void onExplanationReady();
    void onPartialMap();
    QWidget *buildControls();

    Session *m_session;
    HeatmapView *m_view;
    QComboBox *m_colorMap;
    QSlider *m_opacity;
    QDoubleSpinBox *m_clip;
    QCheckBox *m_absolute;
    QLabel *m_info;
    QLabel *m_hover;
};

} // namespace heatlens::ui
