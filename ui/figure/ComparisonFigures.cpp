#include "ui/figure/ComparisonFigures.h"

#include "core/explain/MethodRegistry.h"
#include "core/io/AtomicFile.h"
#include "ui/figure/AgreementHistogram.h"
#include "ui/figure/AgreementMatrix.h"
#include "ui/figure/CurvePlot.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>

namespace heatlens::ui {

namespace {

std::string methodName(const std::string &id)
{
    const Method *m = MethodRegistry::instance().find(id);
    return m ? m->name() : id;
}

// Writes a figure through a temporary file ending in .png (the figure savers pick the format
// by the suffix), renamed over `path` once complete.
void saveAtomically(const std::string &path, const std::function<void(const QString &)> &save)
{
    const std::string tmp = temporarySiblingPath(path) + ".png";
    try {
        save(QString::fromStdString(tmp));
    } catch (...) {
        std::remove(tmp.c_str());
        throw;
    }
    commitTemporary(tmp, path);
}

AgreementMatrix agreementMatrix(const ComparisonRun &run, const std::vector<PairSummary> &pairs,
                                const std::string &metric)
{
    const size_t n = run.cellCount();
    AgreementMatrix m;
    for (size_t c = 0; c < n; ++c)
        m.labels << QString::fromStdString(run.models[run.modelOf(c)].name + " / " +
                                           methodName(run.methodOf(c)));
    m.values.assign(n * n, std::nan(""));
    for (size_t r = 0; r < n; ++r)
        for (size_t c = 0; c < n; ++c) {
            QString annotation;
            if (r == c) {
                m.values[r * n + c] = 1.0;
            } else {
                const PairSummary &pair = pairs[pairIndex(r, c, n)];
                const auto all = pair.find("all");
                if (all != pair.end() && all->second.count(metric)) {
                    const Summary &s = all->second.at(metric);
                    m.values[r * n + c] = s.n > 0 ? s.mean : std::nan("");
                    if (std::isfinite(s.ci95))
                        annotation = QStringLiteral("+-") + QString::number(s.ci95, 'f', 2);
                }
            }
            m.annotations << annotation;
        }
    const AgreementOptions &a = run.options.agreement;
    m.metric = QString::fromStdString(agreementMetricLabel(metric, a.topFraction));
    m.title = QStringLiteral("%1 (%2), mean over %3 images, target: %4")
                  .arg(m.metric, a.absolute ? QStringLiteral("|maps|") : QStringLiteral("signed"))
                  .arg(run.images.size())
                  .arg(QString::fromStdString(targetDescription(run.options.target)));
    return m;
}

// The histogram series of models a and b: one per method both explain, coloured by the
// method's place in --methods.
std::vector<HistogramSeries> histogramSeries(const ComparisonRun &run, size_t a, size_t b)
{
    const size_t methods = run.options.methods.size(), cells = run.cellCount();
    std::vector<HistogramSeries> series;
    for (size_t k = 0; k < methods; ++k) {
        const size_t i = a * methods + k, j = b * methods + k;
        HistogramSeries s;
        s.label = QString::fromStdString(methodName(run.options.methods[k]));
        s.colour = seriesColour(int(k));
        for (const auto &image : run.images) {
            if (!image.cells[i].ok || !image.cells[j].ok)
                continue;
            for (const auto &metric : agreementMetrics())
                s.values[metric].push_back(image.pairs[pairIndex(i, j, cells)].value(metric));
        }
        if (!s.values.empty())
            series.push_back(std::move(s));
    }
    return series;
}

} // namespace

std::vector<std::string> writeComparisonFigures(const ComparisonRun &run,
                                                const std::vector<PairSummary> &pairs,
                                                const std::string &dir)
{
    namespace fs = std::filesystem;
    std::vector<std::string> written;
    for (const auto &metric : agreementMetrics()) {
        const std::string path = (fs::path(dir) / ("matrix_" + metric + ".png")).string();
        const AgreementMatrix matrix = agreementMatrix(run, pairs, metric);
        saveAtomically(path, [&](const QString &tmp) { saveAgreementMatrix(matrix, tmp); });
        written.push_back(path);
    }
    QStringList metrics;
    for (const auto &metric : agreementMetrics())
        metrics << QString::fromStdString(metric);
    for (size_t a = 0; a < run.models.size(); ++a)
        for (size_t b = a + 1; b < run.models.size(); ++b) {
            const auto series = histogramSeries(run, a, b);
            if (series.empty())
                continue; // no method explains both models
            const std::string &nameA = run.models[a].name, &nameB = run.models[b].name;
            const std::string path =
                (fs::path(dir) / ("histogram_" + nameA + "_vs_" + nameB + ".png")).string();
            const QString title =
                QStringLiteral("%1 vs %2: agreement per image (%3 images)")
                    .arg(QString::fromStdString(nameA), QString::fromStdString(nameB))
                    .arg(run.images.size());
            saveAtomically(path, [&](const QString &tmp) {
                saveAgreementHistograms(series, metrics, title, tmp, run.options.agreement);
            });
            written.push_back(path);
        }
    return written;
}

} // namespace heatlens::ui
