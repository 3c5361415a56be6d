#include "ui/CompareDataset.h"

#include "core/data/Dataset.h"
#include "core/io/AtomicFile.h"
#include "ui/CompareNames.h"
#include "ui/JobRunner.h"
#include "ui/Session.h"
#include "ui/figure/AgreementHistogram.h"
#include "ui/figure/ComparisonFigures.h"

#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>
#include <filesystem>
#include <numeric>
#include <set>

namespace heatlens::ui {

using compare::methodName;
using compare::qs;

namespace {

const char *const kSlot = "compare-dataset";

QString summaryText(const Summary &s)
{
    if (s.n == 0 || !std::isfinite(s.mean))
        return QStringLiteral("-");
    QString text = QString::number(s.mean, 'f', 3);
    if (std::isfinite(s.ci95))
        text += QStringLiteral(" \u00b1 ") + QString::number(s.ci95, 'f', 3);
    return text;
}

} // namespace

CompareDatasetDialog::CompareDatasetDialog(Session *session, std::vector<ModelPtr> models,
                                           ComparisonOptions options, QWidget *parent)
    : QDialog(parent)
    , m_session(session)
    , m_models(std::move(models))
    , m_options(std::move(options))
    , m_images(new QSpinBox(this))
    , m_run(new QPushButton(tr("Run"), this))
    , m_export(new QPushButton(tr("Export..."), this))
    , m_group(new QComboBox(this))
    , m_pair(new QComboBox(this))
    , m_table(new QTableWidget(this))
    , m_plot(new QCustomPlot(this))
    , m_status(new QLabel(this))
{
    setWindowTitle(tr("Agreement over the dataset"));
    const int size = session->dataset() ? int(session->dataset()->size()) : 0;
    m_images->setRange(1, std::max(1, size));
    m_images->setValue(std::min(100, std::max(1, size)));
    m_images->setToolTip(tr("Compare on the first N images of the dataset"));
    auto *top = new QHBoxLayout;
    QStringList names;
    for (const auto &m : m_models)
        names << qs(m->displayName());
    QStringList methods;
    for (const auto &id : m_options.methods)
        methods << methodName(id);
    auto *what =
        new QLabel(tr("%1<br>x %2; target: %3; %4")
                       .arg(names.join(QStringLiteral(", ")).toHtmlEscaped(),
                            methods.join(QStringLiteral(", ")).toHtmlEscaped(),
                            m_options.target == "label" ? tr("the true label")
                            : m_options.target == "own" ? tr("each model's prediction")
                                                        : tr("the first model's prediction"),
                            m_options.agreement.absolute ? tr("|maps|") : tr("signed maps")),
                   this);
    what->setWordWrap(true);
    top->addWidget(what, 1);
    top->addWidget(new QLabel(tr("First"), this));
    top->addWidget(m_images);
    top->addWidget(new QLabel(tr("images"), this));
    top->addWidget(m_run);
    auto *cancel = new QPushButton(tr("Cancel"), this);
    top->addWidget(cancel);
    m_export->setEnabled(false);
    m_export->setToolTip(tr("Write the files heatlens-cli compare writes for this run into a "
                            "folder: cells.csv, pairs.csv, summary.json and the figures"));
    top->addWidget(m_export);
    connect(m_export, &QPushButton::clicked, this, &CompareDatasetDialog::exportDialog);

    auto *filters = new QHBoxLayout;
    filters->addWidget(new QLabel(tr("Images"), this));
    m_group->setToolTip(tr("All images, one true class, or where both models of a pair are "
                           "right (correct), both wrong (incorrect) or one right (mixed)"));
    filters->addWidget(m_group, 1);
    filters->addWidget(new QLabel(tr("Histogram of"), this));
    filters->addWidget(m_pair, 1);

    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->verticalHeader()->setVisible(false);
    m_plot->setMinimumHeight(420);
    auto *splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(m_table);
    splitter->addWidget(m_plot);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addLayout(filters);
    layout->addWidget(splitter, 1);
    layout->addWidget(m_status);
    splitter->setSizes({200, 560});
    resize(1100, 880);

    connect(m_run, &QPushButton::clicked, this, &CompareDatasetDialog::run);
    connect(cancel, &QPushButton::clicked, this,
            [this] { m_session->runner()->cancel(QString::fromLatin1(kSlot)); });
    connect(m_session->runner(), &JobRunner::cancelled, this, [this](const QString &what) {
        if (what.startsWith(tr("Agreement over")))
            m_status->setText(tr("Cancelled."));
    });
    connect(m_group, &QComboBox::currentIndexChanged, this, [this] {
        showResults();
        showHistogram();
    });
    connect(m_pair, &QComboBox::currentIndexChanged, this, &CompareDatasetDialog::showHistogram);
    if (size == 0) {
        m_run->setEnabled(false);
        m_status->setText(tr("Open a dataset first."));
    }
}

void CompareDatasetDialog::run()
{
    auto dataset = m_session->dataset();
    if (!dataset)
        return;
    m_complete = false;
    const size_t count = size_t(m_images->value());
    m_status->setText(tr("Comparing on %1 images...").arg(count));
    m_run->setEnabled(false);
    ComparisonRun run;
    run.models = comparedModels(m_models);
    run.options = m_options;
    run.dataset = dataset->source();
    std::vector<size_t> indices(count);
    std::iota(indices.begin(), indices.end(), size_t(0));
    m_session->runner()
        ->request<ComparisonRun>(QString::fromLatin1(kSlot),
                                 tr("Agreement over %1 images").arg(count), this)
        .work([run, dataset, indices](const JobContext &ctx) mutable {
            runComparison(run, dataset, indices, ctx); // the loop of heatlens-cli compare
            return run;
        })
        .onDone([this](ComparisonRun run) {
            m_comparison = std::move(run);
            m_results = m_comparison.images;
            m_summary = summarise(m_comparison);
            m_complete = true;
            m_run->setEnabled(true);
            std::set<std::string> classes;
            for (const auto &pair : m_summary)
                for (const auto &[group, metrics] : pair)
                    if (group.rfind("class:", 0) == 0)
                        classes.insert(group);
            {
                const QSignalBlocker block(m_group);
                m_group->clear();
                for (const char *g : {"all", "correct", "incorrect", "mixed"})
                    m_group->addItem(QString::fromLatin1(g), QString::fromLatin1(g));
                for (const auto &c : classes)
                    m_group->addItem(qs(c), qs(c));
                const QSignalBlocker blockPair(m_pair);
                m_pair->clear();
                for (size_t a = 0; a < m_models.size(); ++a)
                    for (size_t b = a + 1; b < m_models.size(); ++b)
                        m_pair->addItem(
                            qs(m_models[a]->displayName() + " vs " + m_models[b]->displayName()),
                            int(a * m_models.size() + b));
            }
            m_status->setText(m_comparison.skipped.empty()
                                  ? tr("%1 images compared.").arg(m_results.size())
                                  : tr("%1 images compared, %2 unreadable skipped (first: %3).")
                                        .arg(m_results.size())
                                        .arg(m_comparison.skipped.size())
                                        .arg(QString::fromStdString(m_comparison.skipped.front())));
            m_export->setEnabled(true);
            showResults();
            showHistogram();
            Q_EMIT finished();
        })
        .onFailed([this](const QString &message) {
            m_run->setEnabled(true);
            m_status->setText(tr("Failed: %1").arg(message));
            Q_EMIT errorOccurred(tr("Cannot compare over the dataset:\n%1").arg(message));
        })
        .submit();
}

QString CompareDatasetDialog::cellName(size_t cell) const
{
    const size_t methods = m_options.methods.size();
    return qs(m_models[cell / methods]->displayName()) + QStringLiteral(" / ") +
           methodName(m_options.methods[cell % methods]);
}

void CompareDatasetDialog::showResults()
{
    const std::string group = m_group->currentData().toString().toStdString();
    const auto &metrics = agreementMetrics();
    m_table->clear();
    m_table->setColumnCount(int(metrics.size()) + 2);
    QStringList headers{tr("pair")};
    for (const auto &m : metrics)
        headers << qs(agreementMetricLabel(m, m_options.agreement.topFraction));
    headers << tr("images");
    m_table->setHorizontalHeaderLabels(headers);
    // The question of the tab first: the same method on two models; with one model, pairs of
    // methods.
    const size_t methods = m_options.methods.size(), cells = m_models.size() * methods;
    std::vector<std::pair<size_t, size_t>> pairs;
    for (size_t i = 0; i < cells; ++i)
        for (size_t j = i + 1; j < cells; ++j)
            if (m_models.size() == 1 || (i % methods == j % methods))
                pairs.emplace_back(i, j);
    m_table->setRowCount(int(pairs.size()));
    for (size_t row = 0; row < pairs.size(); ++row) {
        const auto [i, j] = pairs[row];
        m_table->setItem(
            int(row), 0,
            new QTableWidgetItem(cellName(i) + QStringLiteral("  vs  ") + cellName(j)));
        const PairSummary &summary =
            m_summary.empty() ? PairSummary{} : m_summary[pairIndex(i, j, cells)];
        const auto it = summary.find(group);
        int n = 0;
        for (size_t k = 0; k < metrics.size(); ++k) {
            Summary s;
            s.n = 0;
            if (it != summary.end())
                if (auto m = it->second.find(metrics[k]); m != it->second.end())
                    s = m->second;
            n = std::max(n, s.n);
            m_table->setItem(int(row), int(k) + 1, new QTableWidgetItem(summaryText(s)));
        }
        m_table->setItem(int(row), int(metrics.size()) + 1,
                         new QTableWidgetItem(QString::number(n)));
    }
    m_table->resizeColumnsToContents();
}

void CompareDatasetDialog::showHistogram()
{
    if (!m_complete || m_pair->count() == 0) {
        m_plot->clearPlottables();
        m_plot->replot();
        return;
    }
    const int code = m_pair->currentData().toInt();
    const size_t a = size_t(code) / m_models.size(), b = size_t(code) % m_models.size();
    const size_t methods = m_options.methods.size(), cells = m_models.size() * methods;
    const std::string group = m_group->currentData().toString().toStdString();
    std::vector<HistogramSeries> series;
    for (size_t k = 0; k < methods; ++k) {
        HistogramSeries s;
        s.label = methodName(m_options.methods[k]);
        s.colour = seriesColour(int(k));
        const size_t i = a * methods + k, j = b * methods + k;
        for (const auto &image : m_results) {
            if (!image.cells[i].ok || !image.cells[j].ok)
                continue;
            const auto groups = comparisonGroups(image, i, j, *m_models.front());
            if (std::find(groups.begin(), groups.end(), group) == groups.end())
                continue;
            for (const auto &metric : agreementMetrics())
                s.values[metric].push_back(image.pairs[pairIndex(i, j, cells)].value(metric));
        }
        series.push_back(std::move(s));
    }
    QStringList metrics;
    for (const auto &m : agreementMetrics())
        metrics << qs(m);
    drawAgreementHistograms(m_plot, series, metrics,
                            tr("%1, images: %2").arg(m_pair->currentText(), m_group->currentText()),
                            m_options.agreement);
}

std::vector<std::string> CompareDatasetDialog::exportTo(const QString &dir) const
{
    if (!m_complete)
        throw std::runtime_error("nothing to export yet: run the comparison first");
    const std::string out = dir.toStdString();
    std::filesystem::create_directories(out);
    std::vector<std::string> written = writeComparisonTables(m_comparison, m_summary, out);
    // The run.json heatlens-cli compare writes for the first images of the dataset.
    const std::string runJson = (std::filesystem::path(out) / "run.json").string();
    writeTextAtomically(
        runJson, comparisonRunJson(m_comparison, "limit:" + std::to_string(m_comparison.requested),
                                   m_comparison.requested));
    written.push_back(runJson);
    for (const auto &png : writeComparisonFigures(m_comparison, m_summary, out))
        written.push_back(png);
    return written;
}

void CompareDatasetDialog::exportDialog()
{
    const QString dir = QFileDialog::getExistingDirectory(
        this, tr("Export the comparison into a folder"), QDir::homePath());
    if (dir.isEmpty())
        return;
    QStringList present;
    for (const char *name : {"cells.csv", "pairs.csv", "summary.json", "run.json"})
        if (QFileInfo::exists(QDir(dir).filePath(QString::fromLatin1(name))))
            present << QString::fromLatin1(name);
    if (!present.isEmpty() &&
        QMessageBox::question(this, tr("Replace files?"),
                              tr("%1 already holds %2. Replace them?")
                                  .arg(dir, present.join(QStringLiteral(", ")))) !=
            QMessageBox::Yes)
        return;
    try {
        const auto written = exportTo(dir);
        m_status->setText(tr("Wrote %1 files to %2").arg(written.size()).arg(dir));
    } catch (const std::exception &e) {
        Q_EMIT errorOccurred(
            tr("Cannot export the comparison to %1:\n%2").arg(dir, QString::fromUtf8(e.what())));
    }
}

} // namespace heatlens::ui
