#pragma once

#include <QWidget>

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QFormLayout;
class QGridLayout;
class QLabel;
class QPushButton;
class QSlider;
class QSpinBox;
class QTimer;

namespace heatlens::ui {

class HeatmapView;
class UncertaintySession;

// The Uncertainty tab: draws its document (UncertaintySession: the explanation distribution of
// the current method, image and target under a stochastic source) and forwards the options.
// One large view shows the mean, std, CV (grey where undefined), SNR, the value x certainty
// palette (VSUP, with its legend) or one sample map; a strip of sample maps can be played as an
// animation (hypothetical outcome plots); beside it the statistics, the prediction's spread as a
// histogram, the banded faithfulness curves and the sanity verdict of the uncertainty. The
// document computes while the tab is visible, streaming as samples arrive.
class UncertaintyView : public QWidget
{
    Q_OBJECT

public:
    explicit UncertaintyView(UncertaintySession *document, QWidget *parent = nullptr);

    UncertaintySession *document() const { return m_document; }
    QComboBox *sourceBox() const { return m_source; }
    QComboBox *displayBox() const { return m_display; }
    QSpinBox *samplesBox() const { return m_samples; }
    HeatmapView *mapView() const { return m_view; }
    QCustomPlot *curvePlot() const { return m_curvePlot; }
    QCustomPlot *predictionPlot() const { return m_predictionPlot; }
    QLabel *statisticsLabel() const { return m_stats; }
    QLabel *verdictLabel() const { return m_verdict; }
    QPushButton *sanityButton() const { return m_sanityButton; }
    // The export without its folder dialog (asks before replacing files); false on failure.
    bool exportTo(const QString &dir);
    QCheckBox *animateBox() const { return m_animate; }
    int thumbnailCount() const { return m_thumbnails; }

Q_SIGNALS:
    void uncertaintyReady();
    void errorOccurred(const QString &message);

protected:
    void showEvent(QShowEvent *event) override;
    void hideEvent(QHideEvent *event) override;

private:
    QWidget *buildControls();
    QWidget *buildMapPanel();
    QWidget *buildSidePanel();
    void rebuildSourceForm();
    void forwardSource();
    void forwardOptions();
    void forwardCurveOptions();
    void display();
    void displayMap();
    void displayStatistics();
    void displayPrediction();
    void displayCurves();
    void displaySanity();
    void rebuildStrip();
    void step(); // the animation's next sample

    UncertaintySession *m_document;
    QComboBox *m_source;
    QWidget *m_sourceForm;
    QFormLayout *m_sourceLayout;
    QSpinBox *m_samples;
    QDoubleSpinBox *m_targetError;
    QComboBox *m_normalise;
    QCheckBox *m_percentiles;
    QPushButton *m_run;
    QPushButton *m_export;
    QLabel *m_status;
    QComboBox *m_display;
    HeatmapView *m_view;
    QLabel *m_legend;
    QWidget *m_strip;
    QGridLayout *m_stripLayout;
    int m_thumbnails = 0;
    QCheckBox *m_animate;
    QSlider *m_speed;
    QTimer *m_timer;
    int m_frame = 0;
    QLabel *m_stats;
    QLabel *m_verdict;
    QPushButton *m_sanityButton;
    QCustomPlot *m_predictionPlot;
    QComboBox *m_curveKind;
    QComboBox *m_ranking;
    QCustomPlot *m_curvePlot;
    QLabel *m_delta;
};

} // namespace heatlens::ui
