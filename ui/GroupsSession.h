#pragma once

#include "core/groups/Estimators.h"
#include "core/groups/Hierarchy.h"
#include "core/jobs/ResultCache.h"

#include <QObject>
#include <QString>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace heatlens::ui {

class Session;

// What the Groups tab shows for one image: its grouping, the estimate of group attributions and
// pair interactions, the agglomerated hierarchy, and the model's own answers when it has them.
struct GroupsResult
{
    Grouping grouping;
    torch::Tensor input; // the model input the groups were made on, [1, C, H, W]
    int target = -1;
    int plannedCalls = 0; // what the estimate needs
    double secondsPerCall = 0.0;
    bool computed = false; // false: only the plan (too costly to run unasked)
    // A sampling estimate on part of its budget, streamed while it runs (kept when the run is
    // cancelled); no hierarchy and no masked images behind it.
    bool partial = false;
    GroupInteractions interactions;
    std::vector<ClusterNode> hierarchy;
    // Archipelago's view: the importance of every merged set of the top-k pairs, k <= 40.
    std::map<std::vector<int>, double> topKImportance;
    // demo-groups-additive: the exact Shapley values and pair interactions (p x p) for the
    // masker's baseline, and the estimate's scores against them.
    std::vector<double> exactSingles, exactPairs;
    std::optional<RecoveryScores> recovery;
    std::vector<double> gateWeights; // demo-groups: its gate share of every group
    // What stands behind a value (the masked images the Groups tab shows on hover): the target
    // logit with every group present (key (-1, -1)), with group i absent ((i, i)), and with i and
    // j absent ((i, j), i < j, every estimated pair); and the masker that made them.
    std::map<std::pair<int, int>, double> leaveOut;
    std::string masker;
};
size_t bytesHeld(const GroupsResult &result);

// The Groups tab's document: the Explain tab's image and class, grouped (grid, superpixels,
// tokens, the model's own groups), with group attributions and pairwise interactions from the
// coalition engine (core estimateInteractions) and the ACD-like hierarchy (core agglomerate).
// While active it computes on the JobRunner (slot "groups", keyed by the request): the plan
// first (calls and seconds from the measured throughput); estimates expected to take at most
// autoSeconds() run at once, longer ones when run() asks. Results are cached in the shared cache.
class GroupsSession : public QObject
{
    Q_OBJECT

public:
    explicit GroupsSession(Session *session, QObject *parent = nullptr);

    Session *session() const { return m_session; }
    void setActive(bool active);
    void setGrouping(const GroupingOptions &grouping);
    void setEstimate(const EstimateOptions &estimate);
    void setMasker(const std::string &fill);
    void run(); // computes the current request whatever it costs

    const GroupingOptions &grouping() const { return m_grouping; }
    const EstimateOptions &estimate() const { return m_estimate; }
    const std::string &masker() const { return m_fill; }
    static double autoSeconds() { return 10.0; }
    static constexpr int kMaxTopK = 40; // the most pairs the tab draws and merges

    const std::optional<GroupsResult> &result() const { return m_result; }
    bool isComputed() const { return m_result && m_result->computed; }
    std::string key() const;

Q_SIGNALS:
    void resultChanged();
    void statusChanged(const QString &text);
    void groupsReady(); // the estimate of the current request is computed
    void errorOccurred(const QString &message);

private:
    void refresh();
    void submit(bool confirmed);

    Session *m_session;
    GroupingOptions m_grouping;
    EstimateOptions m_estimate;
    std::string m_fill = "black";
    bool m_active = false;
    std::optional<GroupsResult> m_result;
    std::string m_resultKey; // the request m_result answers (or plans)
    ResultCache<GroupsResult> m_cache;
};

} // namespace heatlens::ui
