#include "ui/Session.h"

#include "core/explain/MethodRegistry.h"
#include "ui/JobRunner.h"

#include <numeric>

namespace heatlens::ui {

namespace {

constexpr size_t kCacheCapacity = 64;

template<typename T> T take(const std::any &value)
{
    return std::any_cast<T>(value);
}

} // namespace

Session::Session(JobRunner *runner, QObject *parent)
    : QObject(parent)
    , m_runner(runner)
{}

void Session::openModel(const QString &path)
{
    m_runner->submit(
        {QStringLiteral("model"), tr("Loading model %1").arg(path),
         [p = path.toStdString()](const JobContext &) -> std::any { return Model::load(p); }, this,
         [this](std::any r) { setModel(take<ModelPtr>(r)); },
         [this, path](const QString &message) {
             Q_EMIT errorOccurred(tr("Cannot open model %1:\n%2").arg(path, message));
         }});
}

void Session::setModel(ModelPtr model)
{
    m_model = std::move(model);
    m_target = -1;
    clearResults();
    for (const auto &w : m_model->warnings())
        Q_EMIT warning(QString::fromStdString(w));
    Q_EMIT modelChanged();
    Q_EMIT predictionsChanged();
    requestExplanation();
}

void Session::openDataset(const QString &path)
{
    m_runner->submit(
        {QStringLiteral("dataset"), tr("Opening %1").arg(path),
         [p = path.toStdString()](const JobContext &) -> std::any {
             return std::shared_ptr<const Dataset>(heatlens::openDataset(p));
         },
         this, [this](std::any r) { setDataset(take<std::shared_ptr<const Dataset>>(r)); },
         [this, path](const QString &message) {
             Q_EMIT errorOccurred(tr("Cannot open dataset %1:\n%2").arg(path, message));
         }});
}

void Session::setDataset(std::shared_ptr<const Dataset> dataset)
{
    m_dataset = std::move(dataset);
    m_predictions.assign(m_dataset->size(), -1);
    m_index = -1;
    for (const auto &w : m_dataset->warnings())
        Q_EMIT warning(QString::fromStdString(w));
    Q_EMIT datasetChanged();
    if (m_index < 0 && m_dataset->size() > 0) // a listener may have chosen an image already
        setCurrentIndex(0);
}

void Session::setCurrentIndex(int index)
{
    if (!m_dataset || index < 0 || size_t(index) >= m_dataset->size() || index == m_index)
        return;
    m_index = index;
    m_target = -1;
    m_runner->cancel(QStringLiteral("explain"));
    auto dataset = m_dataset;
    m_runner->submit(
        {QStringLiteral("sample"), tr("Loading image %1").arg(index),
         [dataset, index](const JobContext &) -> std::any { return dataset->load(size_t(index)); },
         this,
         [this, index](std::any r) {
             if (index != m_index)
                 return;
             auto sample = take<Sample>(r);
             m_image = sample.image;
             m_sampleId = sample.id;
             for (const auto &w : sample.warnings)
                 Q_EMIT warning(QString::fromStdString(w));
             m_outcome.reset();
             m_partialMap = cv::Mat();
             Q_EMIT sampleChanged();
             requestExplanation();
         },
         [this, index](const QString &message) {
             m_image = cv::Mat();
             m_outcome.reset();
             Q_EMIT sampleChanged();
             // Logged, not a dialog: arrowing through a folder with broken files must not raise
             // a dialog per file.
             Q_EMIT warning(tr("Cannot show image %1: %2").arg(index).arg(message));
         }});
}

void Session::setMethod(const QString &methodId)
{
    if (methodId == m_methodId)
        return;
    MethodRegistry::instance().get(methodId.toStdString()); // throws for unknown ids
    m_methodId = methodId;
    Q_EMIT methodChanged();
    requestExplanation();
}

void Session::setParams(const Params &params)
{
    m_params[m_methodId] = params;
    Q_EMIT methodChanged();
    requestExplanation();
}

void Session::setTarget(int target)
{
    if (target == m_target)
        return;
    m_target = target;
    requestExplanation();
}

Params Session::params() const
{
    const Method &method = MethodRegistry::instance().get(m_methodId.toStdString());
    auto it = m_params.find(m_methodId);
    return completeParams(method.params(), it == m_params.end() ? Params() : it->second,
                          method.id());
}

QString Session::sampleId() const
{
    return QString::fromStdString(m_sampleId);
}

int Session::predictionFor(int index) const
{
    return index >= 0 && size_t(index) < m_predictions.size() ? m_predictions[size_t(index)] : -1;
}

std::string Session::cacheKey() const
{
    return m_model->cacheKey() + "|" + m_dataset->source() + "|" + m_sampleId + "|" +
           m_methodId.toStdString() + "|" + params().canonical() + "|" + std::to_string(m_target);
}

void Session::requestExplanation()
{
    if (!m_model || m_image.empty())
        return;
    const std::string key = cacheKey();
    if (auto it = m_cache.find(key); it != m_cache.end()) {
        m_outcome = it->second;
        Q_EMIT explanationReady();
        return;
    }
    ExplainJob job{m_model, m_image, m_methodId.toStdString(), params(), m_target, m_dataset};
    const int index = m_index;
    m_partialMap = cv::Mat();
    Q_EMIT explanationStarted();
    const QString what = tr("%1 on %2").arg(m_methodId, sampleId());
    JobRunner::Job request{
        QStringLiteral("explain"),
        what,
        [job](const JobContext &ctx) -> std::any { return runExplain(job, ctx); },
        this,
        [this, key, index, what](std::any r) {
            auto outcome = take<ExplainOutcome>(r);
            storeOutcome(key, outcome);
            for (const auto &w : outcome.explanation.warnings) // once per computed result
                Q_EMIT warning(what + QStringLiteral(": ") + QString::fromStdString(w));
            if (size_t(index) < m_predictions.size())
                m_predictions[size_t(index)] = outcome.prediction.predicted;
            if (index == m_index) {
                m_outcome = outcome;
                Q_EMIT explanationReady();
            }
            Q_EMIT predictionsChanged();
        },
        [this](const QString &message) {
            m_outcome.reset();
            Q_EMIT explanationReady();
            Q_EMIT errorOccurred(
                tr("Cannot explain %1 with %2:\n%3").arg(sampleId(), m_methodId, message));
        },
        [this](const ProgressUpdate &u) {
            if (u.partialMap.empty())
                return;
            m_partialMap = u.partialMap;
            Q_EMIT partialMapReady();
        }};
    m_runner->submit(std::move(request));
}

void Session::storeOutcome(const std::string &key, const ExplainOutcome &outcome)
{
    if (m_cache.count(key) == 0)
        m_cacheOrder.push_back(key);
    m_cache[key] = outcome;
    while (m_cache.size() > kCacheCapacity) {
        m_cache.erase(m_cacheOrder.front());
        m_cacheOrder.pop_front();
    }
}

void Session::recompute()
{
    if (!m_model || m_image.empty())
        return;
    const auto key = cacheKey();
    m_cache.erase(key);
    m_cacheOrder.remove(key);
    requestExplanation();
}

void Session::clearResults()
{
    m_outcome.reset();
    m_partialMap = cv::Mat();
    if (m_dataset)
        m_predictions.assign(m_dataset->size(), -1);
}

void Session::predictAll()
{
    if (!m_model || !m_dataset)
        return;
    std::vector<size_t> indices(m_dataset->size());
    std::iota(indices.begin(), indices.end(), size_t(0));
    auto model = m_model;
    auto dataset = m_dataset;
    m_runner->submit({QStringLiteral("predict-all"),
                      tr("Predicting %1 images").arg(indices.size()),
                      [model, dataset, indices](const JobContext &ctx) -> std::any {
                          return predictSamples(*model, *dataset, indices, 256, ctx);
                      },
                      this,
                      [this, model](std::any r) {
                          if (model != m_model)
                              return;
                          m_predictions = take<std::vector<int>>(r);
                          Q_EMIT predictionsChanged();
                      },
                      {}});
}

} // namespace heatlens::ui
