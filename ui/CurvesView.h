#pragma once

#include "core/metrics/Faithfulness.h"
#include "ui/figure/CurvePlot.h"

#include <QImage>
#include <QTimer>
#include <QWidget>

#include <map>
#include <string>
#include <vector>

class QAction;
class QCheckBox;
class QComboBox;
class QLabel;
class QMenu;
class QSpinBox;
class QToolButton;

namespace heatlens::ui {

class CurvesSession;
class Session;

// The Curves tab: draws its document (CurvesSession: the deletion and insertion curves of the
// current explanation and of the pinned and compared methods, computed while the tab is
// visible and streamed point by point) and forwards the options, pins and the Compare menu to
// it. Hovering or dragging over the plot moves a cursor and previews the perturbed input at
// that point.
class CurvesView : public QWidget
{
    Q_OBJECT

public:
    explicit CurvesView(CurvesSession *document, QWidget *parent = nullptr);

    CurvesSession *document() const { return m_document; }
    QCustomPlot *plot() const { return m_plot; }
    QComboBox *modeBox() const { return m_mode; } // deletion, insertion, both
    QComboBox *orderBox() const { return m_order; }
    QComboBox *baselineBox() const { return m_baseline; }
    QSpinBox *stepsBox() const { return m_steps; }
    QComboBox *featuresBox() const { return m_features; } // pixels, grid
    QSpinBox *cellsBox() const { return m_cells; }        // grid cells per side
    QCheckBox *logitBox() const { return m_logit; }
    QAction *pinAction() const { return m_pin; }
    QAction *clearPinsAction() const { return m_clearPins; }
    QAction *exportAction() const { return m_export; }
    QMenu *compareMenu() const { return m_compareMenu; }

    // What the plot shows, graph i = series i (filled in as points arrive).
    const std::vector<CurveSeries> &series() const { return m_series; }
    // True when every curve the plot should show is complete (nothing left to compute).
    bool isComplete() const { return m_complete; }
    // The preview at the cursor: the perturbed input as a person sees it, at input resolution.
    const QImage &previewImage() const { return m_previewImage; }
    QString previewCaption() const;
    // The fraction of the curve point the cursor is on (a computed step).
    double cursorFraction() const { return m_cursorPoint; }

    // Moves the cursor to `fraction` of the current method's deletion curve (its insertion
    // curve when only insertion is shown), as hovering there does.
    void setCursorFraction(double fraction);
    // Pins a map that no method makes (a consensus of several models, say), at the model's input
    // resolution, for the current image and target only.
    void addMapCurve(const QString &name, const cv::Mat &inputMap);
    // Writes the plot as shown (PNG or PDF by extension); throws like saveCurvePlot.
    void exportPlot(const QString &path) const;

Q_SIGNALS:
    void curvesReady(); // everything the plot should show is computed
    void errorOccurred(const QString &message);
    void message(const QString &text); // for the log

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;
    void showEvent(QShowEvent *event) override;
    void hideEvent(QHideEvent *event) override;

private:
    struct Shown // what series i of the plot is
    {
        std::string curveKey;
        QString name;
        QString mode;
        bool current = false;
    };

    QWidget *buildControls();
    void buildCompareMenu();
    void forwardSettings();
    void redraw();
    void redrawSoon(); // streamed points: at most ~30 redraws a second
    void exportDialog();
    void onMouseMove(QMouseEvent *event);
    void updatePreview();
    QString title() const;
    QString featureName() const;
    QColor colourOf(const std::string &methodKey, bool control);

    CurvesSession *m_document;
    Session *m_session;
    QCustomPlot *m_plot;
    QCPItemStraightLine *m_cursor;
    QComboBox *m_mode;
    QComboBox *m_order;
    QComboBox *m_baseline;
    QSpinBox *m_steps;
    QComboBox *m_features;
    QSpinBox *m_cells;
    QCheckBox *m_logit;
    QAction *m_pin;
    QAction *m_clearPins;
    QAction *m_export;
    QToolButton *m_compareButton;
    QMenu *m_compareMenu;
    QLabel *m_status;
    QLabel *m_preview;
    QLabel *m_caption;

    std::map<std::string, int> m_colours; // methodKey -> palette index, first come first served
    // Streamed points are stored as they arrive and drawn at most ~30 times a second: a job
    // with many curves sends thousands of partial results, and a replot for each one kept the
    // GUI thread busy for as long as the job ran (90 s for 22 methods x 1,000 steps).
    QTimer m_redrawSoon;
    std::vector<CurveSeries> m_series;
    std::vector<Shown> m_shown;
    bool m_complete = false;
    double m_cursorX = 0.0;     // where the mouse put it
    double m_cursorPoint = 0.0; // the nearest computed point
    std::string m_cursorCurve;  // the curve the cursor follows; empty: the default one
    QImage m_previewImage;
};

} // namespace heatlens::ui
