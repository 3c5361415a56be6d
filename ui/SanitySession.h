#pragma once

#include "core/jobs/ResultCache.h"
#include "core/metrics/Sanity.h"

#include <QObject>
#include <QString>

#include <optional>
#include <string>

namespace heatlens::ui {

class Session;

// The Sanity tab's document: the model parameter randomisation test (core sanityCheck) of the
// Explain tab's current explanation (method, parameters, target) under the chosen options.
// While active (the tab is shown) it computes what is missing on the JobRunner (slot
// "sanity", keyed by the request), streams the steps done so far and caches complete results
// in the viewer's shared cache. No widgets: the view draws result() and forwards options.
//
// The pattern of every tab's document: state + setters that end in refresh(); refresh() shows
// what is cached and, when active, requests what is not; results arrive as signals.
class SanitySession : public QObject
{
    Q_OBJECT

public:
    explicit SanitySession(Session *session, QObject *parent = nullptr);

    Session *session() const { return m_session; }
    void setActive(bool active); // computes only while active
    void setOptions(const SanityOptions &options);
    const SanityOptions &options() const { return m_options; }
    void runAgain(); // drops the cached result of the current request and computes it again

    // The result shown (partial while computing) and whether it is complete.
    const std::optional<SanityResult> &result() const { return m_result; }
    bool isComplete() const { return m_complete; }
    std::string key() const; // of the current request; empty when there is nothing to check

Q_SIGNALS:
    void resultChanged(); // result() or isComplete() changed
    void statusChanged(const QString &text);
    void sanityReady(); // the check of the current request is complete
    void errorOccurred(const QString &message);

private:
    void refresh();
    void show(const SanityResult &result, bool complete);

    Session *m_session;
    SanityOptions m_options;
    bool m_active = false;
    std::optional<SanityResult> m_result;
    bool m_complete = false;
    ResultCache<SanityResult> m_cache;
};

} // namespace heatlens::ui
