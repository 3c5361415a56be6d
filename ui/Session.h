#pragma once

#include "core/data/Dataset.h"
#include "core/explain/ExplainJob.h"
#include "core/jobs/ResultCache.h"

#include <QObject>
#include <QString>

#include <map>
#include <memory>
#include <optional>

namespace heatlens::ui {

class JobRunner;

// The Explain tab's document and the root of the others (CompareSession, CurvesSession,
// SanitySession follow it): what is open (model, dataset), what is looked at (sample, method,
// parameters, target) and what has been computed (explanations, cached by their RequestKey in a
// ResultCache charged to the viewer's one CacheBudget; predictions). All loading and computing
// goes through the JobRunner, keyed; views read the session and listen to its signals. No
// widgets: tests drive it without a window.
class Session : public QObject
{
    Q_OBJECT

public:
    // `budget`: the memory bound shared by every tab's cache (a new default one when null).
    explicit Session(JobRunner *runner, std::shared_ptr<CacheBudget> budget = nullptr,
                     QObject *parent = nullptr);
    ~Session() override;

    void openModel(const QString &path);
    void setModel(ModelPtr model);
    void openDataset(const QString &path);
    void setDataset(std::shared_ptr<const Dataset> dataset);
    void setCurrentIndex(int index);
    void setMethod(const QString &methodId);
    void setParams(const Params &params); // of the current method
    void setTarget(int target);           // -1: the predicted class
    void predictAll();
    void recompute(); // drops the cached result of the current request and explains again

    JobRunner *runner() const { return m_runner; }
    const std::shared_ptr<CacheBudget> &cacheBudget() const { return m_budget; }
    const ModelPtr &model() const { return m_model; }
    const std::shared_ptr<const Dataset> &dataset() const { return m_dataset; }
    int currentIndex() const { return m_index; }
    const cv::Mat &image() const { return m_image; }
    QString sampleId() const;
    const QString &methodId() const { return m_methodId; }
    Params params() const;
    int target() const { return m_target; }
    const std::optional<ExplainOutcome> &outcome() const { return m_outcome; }
    const cv::Mat &partialMap() const { return m_partialMap; }
    int predictionFor(int index) const;

Q_SIGNALS:
    void modelChanged();
    void datasetChanged();
    void sampleChanged();      // index changed and its image is loaded
    void methodChanged();      // method or its parameters
    void explanationStarted(); // a computation for the current view was submitted
    void explanationReady();   // outcome() holds the result for the current view
    void partialMapReady();    // a streaming method sent a partial map
    void predictionsChanged();
    void errorOccurred(const QString &message);
    void warning(const QString &message);

private:
    std::string cacheKey() const;
    void requestExplanation();
    void clearResults();

    JobRunner *m_runner;
    std::shared_ptr<CacheBudget> m_budget;
    ModelPtr m_model;
    std::shared_ptr<const Dataset> m_dataset;
    int m_index = -1;
    cv::Mat m_image;
    std::string m_sampleId;
    QString m_methodId = QStringLiteral("saliency");
    std::map<QString, Params> m_params;
    int m_target = -1;
    std::optional<ExplainOutcome> m_outcome;
    cv::Mat m_partialMap;
    std::vector<int> m_predictions;
    ResultCache<ExplainOutcome> m_cache;
};

} // namespace heatlens::ui
