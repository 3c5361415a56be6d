#include "ui/CompareSession.h"

#include "core/data/Dataset.h"
#include "core/explain/MethodRegistry.h"
#include "core/explain/RequestKey.h"
#include "ui/CompareNames.h"
#include "ui/JobRunner.h"
#include "ui/Session.h"

namespace heatlens::ui {

using compare::methodName;
using compare::qs;

namespace {

const char *const kCellSlot = "compare";
const char *const kAgreementSlot = "compare-agreement";

// A cell to compute, and what comes back for it.
struct CellTask
{
    std::string key;
    ModelPtr model;
    std::string methodId;
    int target = -1;
};
struct CellUpdate
{
    std::string key;
    CellResult result;
};

} // namespace

CompareSession::CompareSession(Session *session, QObject *parent)
    : QObject(parent)
    , m_session(session)
    , m_methods({QStringLiteral("saliency"), QStringLiteral("integrated-gradients"),
                 QStringLiteral("grad-cam")})
    , m_cells(session->cacheBudget())
{
    connect(session, &Session::modelChanged, this, [this] {
        const ModelPtr &model = m_session->model();
        m_rows.erase(std::remove_if(m_rows.begin(), m_rows.end(),
                                    [&](const Row &r) {
                                        return r.session ||
                                               (model && r.model->cacheKey() == model->cacheKey());
                                    }),
                     m_rows.end());
        if (model)
            m_rows.insert(m_rows.begin(), Row{model, true});
        Q_EMIT shapeChanged();
        refresh();
    });
    connect(session, &Session::sampleChanged, this, &CompareSession::refresh);
    connect(session, &Session::explanationReady, this, &CompareSession::refresh);
    connect(session, &Session::datasetChanged, this, &CompareSession::refresh);
}

void CompareSession::setActive(bool active)
{
    m_active = active;
    if (active)
        refresh();
}

void CompareSession::addModelFile(const QString &path)
{
    m_session->runner()
        ->request<ModelPtr>(QStringLiteral("compare-load:") + path,
                            tr("Loading model %1").arg(path), this)
        .work([p = path.toStdString()](const JobContext &) { return Model::load(p); })
        .onDone([this](ModelPtr model) { addModel(std::move(model)); })
        .onFailed([this, path](const QString &message) {
            Q_EMIT errorOccurred(tr("Cannot add %1 to the comparison:\n%2").arg(path, message));
        })
        .submit();
}

void CompareSession::addModel(ModelPtr model)
{
    for (const Row &r : m_rows)
        if (r.model->cacheKey() == model->cacheKey())
            return; // already a row (e.g. the session's model)
    if (!m_rows.empty() && model->card().labels != m_rows.front().model->card().labels)
        Q_EMIT message(tr("%1 has other class names than %2: the same class index may mean "
                          "different things")
                           .arg(qs(model->displayName()), qs(m_rows.front().model->displayName())));
    m_rows.push_back(Row{std::move(model), false});
    Q_EMIT shapeChanged();
    refresh();
}

void CompareSession::removeModel(int row)
{
    if (row <= 0 || size_t(row) >= m_rows.size() || m_rows[size_t(row)].session)
        return;
    m_rows.erase(m_rows.begin() + row);
    Q_EMIT shapeChanged();
    refresh();
}

std::vector<ModelPtr> CompareSession::models() const
{
    std::vector<ModelPtr> out;
    for (const Row &r : m_rows)
        out.push_back(r.model);
    return out;
}

bool CompareSession::isSessionRow(int row) const
{
    return row >= 0 && size_t(row) < m_rows.size() && m_rows[size_t(row)].session;
}

void CompareSession::setMethods(const QStringList &ids)
{
    QStringList valid;
    for (const QString &id : ids)
        if (MethodRegistry::instance().find(id.toStdString()) && !valid.contains(id))
            valid << id;
    if (valid == m_methods)
        return;
    m_methods = valid;
    Q_EMIT shapeChanged();
    refresh();
}

void CompareSession::setTargetMode(Target target)
{
    if (target == m_targetMode)
        return;
    m_targetMode = target;
    refresh();
}

void CompareSession::setCellStatistic(const CellStatistic &statistic)
{
    statistic.validate();
    m_statistic = statistic;
    refresh();
}

void CompareSession::setAgreementOptions(const AgreementOptions &options)
{
    m_options = options;
    refresh();
}

int CompareSession::target() const
{
    if (m_targetMode == Target::Own)
        return -1;
    if (m_targetMode == Target::Label && m_session->dataset() && m_session->currentIndex() >= 0) {
        const int label = m_session->dataset()->label(size_t(m_session->currentIndex()));
        if (label >= 0)
            return label;
    }
    if (const auto &outcome = m_session->outcome())
        return outcome->explanation.target;
    const int predicted = m_session->predictionFor(m_session->currentIndex());
    return predicted >= 0 ? predicted : -2;
}

ComparisonOptions CompareSession::comparisonOptions() const
{
    ComparisonOptions options;
    for (const QString &id : m_methods)
        options.methods.push_back(id.toStdString());
    options.target = m_targetMode == Target::Own     ? "own"
                     : m_targetMode == Target::Label ? "label"
                                                     : "first";
    options.agreement = m_options;
    return options;
}

std::string CompareSession::cellKey(int row, int column) const
{
    RequestKey key(*m_rows[size_t(row)].model, m_session->dataset().get(),
                   m_session->sampleId().toStdString());
    key.method(m_methods[column].toStdString(), {}).target(target());
    if (const std::string statistic = m_statistic.canonical(); !statistic.empty())
        key.options("cell-statistic", statistic);
    return key;
}

const CellResult *CompareSession::cellResult(int row, int column) const
{
    if (row < 0 || column < 0 || row >= rowCount() || column >= columnCount() ||
        m_session->image().empty())
        return nullptr;
    return m_cells.peek(cellKey(row, column));
}

int CompareSession::cellsComputed() const
{
    int done = 0;
    for (int r = 0; r < rowCount(); ++r)
        for (int c = 0; c < columnCount(); ++c)
            done += cellResult(r, c) != nullptr;
    return done;
}

std::string CompareSession::agreementKey() const
{
    if (m_session->image().empty() || rowCount() * columnCount() == 0)
        return {};
    std::string key;
    for (int r = 0; r < rowCount(); ++r)
        for (int c = 0; c < columnCount(); ++c) {
            if (!cellResult(r, c))
                return {}; // not every cell is computed yet
            key += cellKey(r, c) + "\n";
        }
    return key + "agreement:" + m_options.canonical();
}

bool CompareSession::isComplete() const
{
    return !m_agreement.key.empty() && m_agreement.key == agreementKey();
}

std::optional<Agreement> CompareSession::agreementOf(int cellA, int cellB) const
{
    const int n = rowCount() * columnCount();
    if (!isComplete() || cellA == cellB || cellA < 0 || cellB < 0 || cellA >= n || cellB >= n ||
        m_agreement.grid.pairs.size() != size_t(n * (n - 1) / 2))
        return std::nullopt;
    return m_agreement.grid.pairs[pairIndex(size_t(cellA), size_t(cellB), size_t(n))];
}

const GridAgreement *CompareSession::agreement() const
{
    return isComplete() ? &m_agreement.grid : nullptr;
}

const Consensus *CompareSession::consensus(int column) const
{
    if (!isComplete() || column < 0 || size_t(column) >= m_agreement.grid.consensus.size())
        return nullptr;
    return &m_agreement.grid.consensus[size_t(column)];
}

void CompareSession::refresh()
{
    // Eviction leaves the cells of the grid alone.
    std::set<std::string> shown;
    for (int r = 0; r < rowCount() && !m_session->image().empty(); ++r)
        for (int c = 0; c < columnCount(); ++c)
            shown.insert(cellKey(r, c));
    m_cells.keepOnly(std::move(shown));
    Q_EMIT changed();
    if (m_active)
        submitCells();
}

void CompareSession::submitCells()
{
    std::vector<CellTask> tasks;
    const int target = this->target();
    for (int r = 0; r < rowCount() && !m_session->image().empty() && target != -2; ++r)
        for (int c = 0; c < columnCount(); ++c)
            if (!cellResult(r, c))
                tasks.push_back(
                    {cellKey(r, c), m_rows[size_t(r)].model, m_methods[c].toStdString(), target});
    JobRunner *runner = m_session->runner();
    if (tasks.empty()) {
        runner->cancel(QString::fromLatin1(kCellSlot));
        if (rowCount() * columnCount() > 0 && target != -2)
            submitAgreement();
        return;
    }
    std::string jobKey;
    for (const auto &t : tasks)
        jobKey += t.key + "\n";
    const cv::Mat image = m_session->image();
    const cv::Size frame = comparisonFrame(image.size());
    const bool submitted =
        runner
            ->request<void>(QString::fromLatin1(kCellSlot),
                            tr("Comparison of %1").arg(m_session->sampleId()), this)
            .key(jobKey)
            .work([tasks, image, frame, dataset = m_session->dataset(),
                   statistic = m_statistic](const JobContext &ctx) {
                const double n = double(tasks.size());
                for (size_t i = 0; i < tasks.size(); ++i) {
                    const CellTask &t = tasks[i];
                    const JobContext sub = ctx.sub(double(i) / n, double(i + 1) / n,
                                                   t.model->displayName() + " / " +
                                                       methodName(t.methodId).toStdString());
                    sub.reportPartialResult(
                        1.0, CellUpdate{t.key, explainCellStatistic(t.model, image, t.methodId, {},
                                                                    t.target, frame, dataset,
                                                                    statistic, sub)});
                }
            })
            .onPartial<CellUpdate>([this](const CellUpdate &update) {
                m_cells.put(update.key, update.result);
                Q_EMIT changed();
                Q_EMIT statusChanged(tr("%1 of %2 cells computed")
                                         .arg(cellsComputed())
                                         .arg(rowCount() * columnCount()));
            })
            // Every cell came as a partial result, delivered before this: compute anything that
            // changed meanwhile, then the agreement.
            .onDone([this] { submitCells(); })
            .onFailed([this](const QString &message) {
                Q_EMIT statusChanged(tr("The comparison could not be computed: %1").arg(message));
                Q_EMIT errorOccurred(
                    tr("Cannot compare on %1:\n%2").arg(m_session->sampleId(), message));
            })
            .submit();
    if (submitted)
        Q_EMIT statusChanged(
            tr("Computing %1 of %2 cells...").arg(tasks.size()).arg(rowCount() * columnCount()));
}

void CompareSession::submitAgreement()
{
    const std::string key = agreementKey();
    if (key.empty() || isComplete())
        return;
    std::vector<CellResult> cells;
    for (int r = 0; r < rowCount(); ++r)
        for (int c = 0; c < columnCount(); ++c)
            cells.push_back(*cellResult(r, c));
    const int columns = columnCount();
    const AgreementOptions options = m_options;
    const bool submitted =
        m_session->runner()
            ->request<GridAgreement>(QString::fromLatin1(kAgreementSlot),
                                     tr("Agreement on %1").arg(m_session->sampleId()), this)
            .key(key)
            .work([cells, options, columns](const JobContext &ctx) {
                std::vector<const CellResult *> all;
                for (const auto &c : cells)
                    all.push_back(&c);
                return gridAgreement(all, columns, options, ctx);
            })
            .onDone([this, key](GridAgreement grid) {
                m_agreement = {key, std::move(grid)};
                if (!isComplete()) {
                    refresh(); // the grid changed meanwhile
                    return;
                }
                Q_EMIT changed();
                Q_EMIT statusChanged(
                    tr("%1 cells; agreement over the part of the image every model saw")
                        .arg(rowCount() * columnCount()));
                Q_EMIT comparisonReady();
            })
            .onFailed([this](const QString &message) {
                Q_EMIT errorOccurred(tr("Cannot compute the agreement:\n%1").arg(message));
            })
            .submit();
    if (submitted)
        Q_EMIT statusChanged(tr("Computing the agreement of %1 cells...").arg(cells.size()));
}

} // namespace heatlens::ui
