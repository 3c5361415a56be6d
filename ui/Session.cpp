#include "ui/Session.h"

#include "core/explain/MethodRegistry.h"
#include "core/explain/RequestKey.h"
#include "ui/JobRunner.h"

#include <numeric>

namespace heatlens::ui {

Session::Session(JobRunner *runner, std::shared_ptr<CacheBudget> budget, QObject *parent)
    : QObject(parent)
    , m_runner(runner)
    , m_budget(budget ? std::move(budget) : std::make_shared<CacheBudget>())
    , m_cache(m_budget)
{}

Session::~Session() = default;

void Session::openModel(const QString &path)
{
    m_runner->request<ModelPtr>(QStringLiteral("model"), tr("Loading model %1").arg(path), this)
        .work([p = path.toStdString()](const JobContext &) { return Model::load(p); })
        .onDone([this](ModelPtr model) { setModel(std::move(model)); })
        .onFailed([this, path](const QString &message) {
            Q_EMIT errorOccurred(tr("Cannot open model %1:\n%2").arg(path, message));
        })
        .submit();
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
    using DatasetPtr = std::shared_ptr<const Dataset>;
    m_runner->request<DatasetPtr>(QStringLiteral("dataset"), tr("Opening %1").arg(path), this)
        .work([p = path.toStdString()](const JobContext &) {
            return DatasetPtr(heatlens::openDataset(p));
        })
        .onDone([this](DatasetPtr dataset) { setDataset(std::move(dataset)); })
        .onFailed([this, path](const QString &message) {
            Q_EMIT errorOccurred(tr("Cannot open dataset %1:\n%2").arg(path, message));
        })
        .submit();
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
    m_runner->request<Sample>(QStringLiteral("sample"), tr("Loading image %1").arg(index), this)
        .work([dataset, index](const JobContext &) { return dataset->load(size_t(index)); })
        .onDone([this, index](Sample sample) {
            if (index != m_index)
                return;
            m_image = sample.image;
            m_sampleId = sample.id;
            for (const auto &w : sample.warnings)
                Q_EMIT warning(QString::fromStdString(w));
            m_outcome.reset();
            m_partialMap = cv::Mat();
            Q_EMIT sampleChanged();
            requestExplanation();
        })
        .onFailed([this, index](const QString &message) {
            m_image = cv::Mat();
            m_outcome.reset();
            Q_EMIT sampleChanged();
            // Logged, not a dialog: arrowing through a folder with broken files must not raise
            // a dialog per file.
            Q_EMIT warning(tr("Cannot show image %1: %2").arg(index).arg(message));
        })
        .submit();
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
    return RequestKey(*m_model, m_dataset.get(), m_sampleId)
        .method(m_methodId.toStdString(), params())
        .target(m_target);
}

void Session::requestExplanation()
{
    if (!m_model || m_image.empty())
        return;
    const std::string key = cacheKey();
    if (const ExplainOutcome *cached = m_cache.find(key)) {
        m_outcome = *cached;
        Q_EMIT explanationReady();
        return;
    }
    if (m_runner->isInFlight(QStringLiteral("explain"), key))
        return; // computing exactly this already
    ExplainJob job{m_model, m_image, m_methodId.toStdString(), params(), m_target, m_dataset};
    const int index = m_index;
    m_partialMap = cv::Mat();
    Q_EMIT explanationStarted();
    const QString what = tr("%1 on %2").arg(m_methodId, sampleId());
    m_runner->request<ExplainOutcome>(QStringLiteral("explain"), what, this)
        .key(key)
        .work([job](const JobContext &ctx) { return runExplain(job, ctx); })
        .onDone([this, key, index, what](ExplainOutcome outcome) {
            m_cache.put(key, outcome);
            for (const auto &w : outcome.explanation.warnings) // once per computed result
                Q_EMIT warning(what + QStringLiteral(": ") + QString::fromStdString(w));
            if (size_t(index) < m_predictions.size())
                m_predictions[size_t(index)] = outcome.prediction.predicted;
            if (index == m_index) {
                m_outcome = outcome;
                Q_EMIT explanationReady();
            }
            Q_EMIT predictionsChanged();
        })
        .onFailed([this](const QString &message) {
            m_outcome.reset();
            Q_EMIT explanationReady();
            Q_EMIT errorOccurred(
                tr("Cannot explain %1 with %2:\n%3").arg(sampleId(), m_methodId, message));
        })
        .onProgress([this](const ProgressUpdate &u) {
            if (u.partialMap.empty())
                return;
            m_partialMap = u.partialMap;
            Q_EMIT partialMapReady();
        })
        .submit();
}

void Session::recompute()
{
    if (!m_model || m_image.empty())
        return;
    const auto key = cacheKey();
    m_cache.erase(key);
    m_runner->cancel(QStringLiteral("explain")); // computed again even when in flight
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
    m_runner
        ->request<std::vector<int>>(QStringLiteral("predict-all"),
                                    tr("Predicting %1 images").arg(indices.size()), this)
        .work([model, dataset, indices](const JobContext &ctx) {
            return predictSamples(*model, *dataset, indices, 256, ctx);
        })
        .onDone([this, model](std::vector<int> predictions) {
            if (model != m_model)
                return;
            m_predictions = std::move(predictions);
            Q_EMIT predictionsChanged();
        })
        .submit();
}

} // namespace heatlens::ui
