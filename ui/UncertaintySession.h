#pragma once

#include "core/jobs/ResultCache.h"
#include "core/uncertainty/Uncertainty.h"
#include "core/uncertainty/UncertaintyCurves.h"
#include "core/uncertainty/UncertaintySanity.h"

#include <QObject>
#include <QString>

#include <optional>
#include <string>
#include <vector>

namespace heatlens::ui {

class Session;

// A distribution with the model input it was sampled for (what the view draws the maps over).
struct SampledInput
{
    UncertaintyResult result;
    torch::Tensor input; // [1, C, H, W]
};
size_t bytesHeld(const SampledInput &sampled);

// The Uncertainty tab's document: the explanation distribution of the Explain tab's current
// method, parameters, image and target under a stochastic source (core explainUncertainty), its
// banded faithfulness curves (uncertaintyCurves) and, on demand, the sanity check of its mean
// and std maps (uncertaintySanity). While active it computes what is missing on the JobRunner
// (slots "uncertainty", "uncertainty-curves", "uncertainty-sanity", each keyed by its request),
// streams the statistics as samples arrive and caches complete results in the shared cache. No
// widgets: the view draws result(), curves() and sanity() and forwards the options.
class UncertaintySession : public QObject
{
    Q_OBJECT

public:
    explicit UncertaintySession(Session *session, QObject *parent = nullptr);

    Session *session() const { return m_session; }
    void setActive(bool active); // computes only while active
    void setSource(const std::string &sourceId, const Params &params);
    void setOptions(const UncertaintyOptions &options);
    void setCurveOptions(const UncertaintyCurveOptions &options);
    void runAgain();    // drops the cached distribution of the current request, samples again
    void checkSanity(); // the randomisation test of the mean and std maps (costly: on demand)

    const std::string &sourceId() const { return m_sourceId; }
    const Params &sourceParams() const { return m_sourceParams; }
    const UncertaintyOptions &options() const { return m_options; }
    const UncertaintyCurveOptions &curveOptions() const { return m_curveOptions; }
    // Why the source cannot sample the current model; empty when it can (or no model).
    std::string whyNotApplicable() const;

    // What is shown (partial while computing) and whether it is complete.
    const std::optional<UncertaintyResult> &result() const { return m_result; }
    bool isComplete() const { return m_complete; }
    const std::optional<UncertaintyCurves> &curves() const { return m_curves; }
    bool curvesComplete() const { return m_curvesComplete; }
    const std::optional<UncertaintySanityResult> &sanity() const { return m_sanity; }
    // The model input the maps are drawn over ([1, C, H, W]); undefined without an explanation.
    const torch::Tensor &input() const { return m_input; }
    std::string key() const; // of the current distribution; empty when there is nothing to do
    // Writes what heatlens-cli uncertainty writes for this image, method and source (npy maps,
    // overlays, JSON with the curves and the sanity check when they are computed) into `dir`;
    // returns the paths. Throws std::runtime_error naming an existing file unless `overwrite`,
    // or when nothing complete is shown.
    std::vector<std::string> exportTo(const std::string &dir, bool overwrite) const;
    // The files of that export that already exist in `dir`.
    std::vector<std::string> existingExportFiles(const std::string &dir) const;

Q_SIGNALS:
    void resultChanged();
    void curvesChanged();
    void sanityChanged();
    void statusChanged(const QString &text);
    void uncertaintyReady(); // the distribution of the current request is complete
    void errorOccurred(const QString &message);

private:
    void refresh();
    void refreshCurves();
    UncertaintyRequest request() const;
    std::string curvesKey() const;
    std::string sanityKey() const;
    void show(const UncertaintyResult &result, bool complete);

    Session *m_session;
    std::string m_sourceId = "mc-dropout";
    Params m_sourceParams;
    UncertaintyOptions m_options;
    UncertaintyCurveOptions m_curveOptions;
    bool m_active = false;
    torch::Tensor m_input;
    std::optional<UncertaintyResult> m_result;
    bool m_complete = false;
    std::optional<UncertaintyCurves> m_curves;
    bool m_curvesComplete = false;
    std::optional<UncertaintySanityResult> m_sanity;
    ResultCache<SampledInput> m_cache;
    ResultCache<UncertaintyCurves> m_curveCache;
    ResultCache<UncertaintySanityResult> m_sanityCache;
};

} // namespace heatlens::ui
