#pragma once

#include "core/explain/Params.h"
#include "core/jobs/ResultCache.h"
#include "core/metrics/Faithfulness.h"

#include <QElapsedTimer>
#include <QObject>
#include <QString>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace heatlens {
struct CurveUpdate;
}

namespace heatlens::ui {

class Session;

// The Curves tab's document: deletion and insertion curves (core methodCurves) of the Explain
// tab's current explanation and of the methods added to it: pinned ones (the current method
// when pin() was called, or a given map such as a consensus) and the compared ones (default
// parameters; the registry's controls, the random ranking). While active it computes what is
// missing on the JobRunner (slot "curves", keyed by the curves it computes), streams the points and
// caches maps and complete curves in the viewer's shared cache. No widgets: the view draws lines().
class CurvesSession : public QObject
{
    Q_OBJECT

public:
    struct Settings
    {
        std::vector<std::string> modes = {"deletion", "insertion"};
        std::string order = "morf";
        std::string baseline = CurveOptions().baseline;
        int steps = CurveOptions().steps;
        int cells = 0; // 0: pixels
    };
    // A computed (or streaming) curve with the images along it.
    struct Stored
    {
        Curve curve;
        std::shared_ptr<const CurveImages> images;
        bool complete = false;
    };
    // One curve the plot should show, in order: the current method first, then pins, then the
    // compared methods, then the control; each in every mode.
    struct Line
    {
        std::string curveKey;
        std::string methodKey; // the entry's identity: its colour, its pin
        QString name;          // "Grad-CAM (layer=features.block2)"
        std::string mode;
        bool control = false;
        bool current = false;      // the Explain tab's explanation
        const Stored *stored = {}; // null until its first points arrive
    };

    explicit CurvesSession(Session *session, QObject *parent = nullptr);
    ~CurvesSession() override;

    Session *session() const { return m_session; }
    void setActive(bool active); // computes only while active; inactive cancels the job
    void setSettings(const Settings &settings);
    const Settings &settings() const { return m_settings; }
    CurveOptions options(const std::string &mode) const;

    void setCompared(const std::string &methodId, bool on); // a method or control id
    const std::set<std::string> &compared() const { return m_compare; }
    void pin(); // the current method, with its parameters
    // Pins `methodId` with `params` (missing ones take their defaults; workspaces); throws
    // std::invalid_argument naming an unknown method or a bad parameter.
    void pinMethod(const std::string &methodId, const Params &params);
    // The pinned methods with their parameters, in pinning order (not the pinned maps).
    std::vector<std::pair<std::string, Params>> pinnedMethods() const;
    // Pins a map that no method makes (a consensus of several models, say), at the model's input
    // resolution, for the current image and target only.
    void addMapCurve(const QString &name, const cv::Mat &inputMap);
    void clearPins();
    bool hasPins() const { return !m_pins.empty(); }
    // Unpins and uncompares a method (the document does it itself for methods that do not
    // apply to a newly opened model).
    void dropPinsOf(const std::string &methodId);

    std::vector<Line> lines() const;
    bool hasCurrent() const; // there is an explanation to draw curves of
    bool isComputing() const;
    const Stored *find(const std::string &curveKey) const;

Q_SIGNALS:
    void linesChanged();  // what lines() returns changed: redraw now
    void pointsArrived(); // streamed points: redraw soon
    void statusChanged(const QString &text);
    void methodDropped(const std::string &methodId); // it cannot explain the image
    void errorOccurred(const QString &message);
    void message(const QString &text);

private:
    struct Entry
    {
        std::string methodKey; // "grad-cam|layer=", "random|seed=0", "map:name|sum"
        std::string methodId;  // a method or control; empty for given maps
        Params params;
        QString name;
        bool control = false;
        cv::Mat map;         // given maps (addMapCurve): the map, at input resolution
        std::string context; // and the image and target it belongs to
    };

    void refresh(); // shows what is cached and, when active, computes what is missing
    void submit();
    void cancelJob();
    void onUpdate(const CurveUpdate &update);
    std::vector<Entry> entries() const;
    std::string contextKey() const;
    std::string mapKey(const Entry &entry) const;
    std::string curveKey(const Entry &entry, const std::string &mode) const;

    Session *m_session;
    Settings m_settings;
    bool m_active = false;
    std::vector<Entry> m_pins;
    std::set<std::string> m_compare;
    ResultCache<Stored> m_curves;              // complete curves
    ResultCache<cv::Mat> m_maps;               // attribution maps at input resolution
    std::map<std::string, Stored> m_streaming; // curves of the running job, so far
    QElapsedTimer m_jobTimer;
};

size_t bytesHeld(const CurvesSession::Stored &stored);

} // namespace heatlens::ui
