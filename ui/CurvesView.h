#pragma once

#include "core/explain/Params.h"
#include "core/metrics/Faithfulness.h"
#include "ui/figure/CurvePlot.h"

#include <QElapsedTimer>
#include <QImage>
#include <QTimer>
#include <QWidget>

#include <any>
#include <list>
#include <map>
#include <memory>
#include <set>
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

class Session;

// The Curves tab: deletion and insertion curves (core perturbationCurve) of the session's
// current explanation, computed on the JobRunner (slot "curves") only while the tab is visible,
// streamed point by point, and cached by model, image, method and parameters, target and curve
// options. Other methods can be overlaid: pinned ones (the current method when Pin was pressed)
// and the ones checked in the Compare menu (default parameters; a random ranking as control);
// they are explained on the current image for the current target inside the curves job. Hovering
// or dragging over the plot moves a cursor and previews the perturbed input at that point.
class CurvesView : public QWidget
{
    Q_OBJECT

public:
    explicit CurvesView(Session *session, QWidget *parent = nullptr);

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
    // One method on the plot.
    struct Entry
    {
        std::string methodKey; // "grad-cam|layer=", "random|seed=0"
        std::string methodId;  // empty for the random ranking
        Params params;
        QString name;
        bool control = false;
        cv::Mat map;         // given maps (addMapCurve): the map, at input resolution
        std::string context; // and the image and target it belongs to
    };
    // A computed (or streaming) curve with the images along it.
    struct Stored
    {
        Curve curve;
        std::shared_ptr<const CurveImages> images;
        bool complete = false;
    };
    struct Shown // what series i of the plot is
    {
        std::string curveKey;
        QString name;
        QString mode;
        bool current = false;
    };

    QWidget *buildControls();
    void buildCompareMenu();
    void refresh(); // redraws and, when visible, computes what is missing
    void redraw();
    std::vector<Entry> entries() const;
    std::vector<std::string> modes() const;
    CurveOptions options(const std::string &mode) const;
    std::string contextKey() const;
    std::string curveKey(const Entry &entry, const std::string &mode) const;
    const Stored *find(const std::string &curveKey) const;
    void store(const std::string &curveKey, Stored stored);
    void storeMap(const std::string &mapKey, const cv::Mat &map);
    void submit();
    void cancelJob(); // the curves job in flight, if any
    void onPartial(const std::any &update, bool draw = true);
    void pin();
    void clearPins();
    void exportDialog();
    void onMouseMove(QMouseEvent *event);
    void updatePreview();
    QString title() const;
    QString featureName() const;
    QColor colourOf(const Entry &entry);

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

    std::vector<Entry> m_pins;
    std::set<std::string> m_compare;        // method ids checked in the Compare menu, "random"
    std::map<std::string, int> m_colours;   // methodKey -> palette index, first come first served
    std::map<std::string, Stored> m_curves; // curveKey -> curve, complete ones cached
    std::list<std::string> m_curveOrder;    // least recently stored first
    std::map<std::string, Stored> m_streaming; // curves of the running job, so far
    std::map<std::string, cv::Mat> m_maps;     // mapKey -> attribution map (input resolution)
    std::list<std::string> m_mapOrder;
    std::string m_jobKey;          // what the last submitted job computes
    std::weak_ptr<int> m_jobAlive; // expires when that job is done, dropped or cancelled
    QElapsedTimer m_jobTimer;
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
