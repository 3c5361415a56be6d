#include "ui/figure/EvaluationPlots.h"

#include "core/explain/MethodRegistry.h"
#include "ui/figure/CurvePlot.h"

#include <filesystem>
#include <stdexcept>

namespace heatlens::ui {

namespace {

QString methodName(const std::string &id)
{
    const Method *m = MethodRegistry::instance().find(id);
    return QString::fromStdString(m ? m->name() : id);
}

struct PlotSpec
{
    std::string file;
    std::vector<std::pair<std::string, Qt::PenStyle>> kinds; // curve kinds drawn, with pens
    QString title;
    QString xLabel;
    QString yLabel;
    bool unitRange = true; // y in [0, 1]
};

} // namespace

std::vector<std::string> writeEvaluationPlots(const EvaluationRun &run,
                                              const std::vector<size_t> &indices,
                                              const std::vector<std::string> &methods,
                                              const std::string &modelName)
{
    const auto means = run.meanCurves(indices);
    const QString model = QString::fromStdString(modelName);
    const std::vector<PlotSpec> specs = {
        {"deletion.png",
         {{"deletion", Qt::SolidLine}},
         model + QStringLiteral(": deletion"),
         QStringLiteral("fraction of pixels deleted"),
         QStringLiteral("mean target probability")},
        {"insertion.png",
         {{"insertion", Qt::DashLine}},
         model + QStringLiteral(": insertion"),
         QStringLiteral("fraction of pixels inserted"),
         QStringLiteral("mean target probability")},
        {"road.png",
         {{"road-morf", Qt::SolidLine}, {"road-lerf", Qt::DashLine}},
         model + QStringLiteral(": ROAD (solid MoRF, dashed LeRF)"),
         QStringLiteral("fraction of pixels removed and imputed"),
         QStringLiteral("mean target probability")},
        {"accuracy_drop.png",
         {{"accuracy-drop", Qt::SolidLine}},
         model + QStringLiteral(": accuracy after removing the most salient pixels"),
         QStringLiteral("fraction of pixels removed"),
         QStringLiteral("accuracy")},
        {"sanity.png",
         {{"sanity", Qt::SolidLine}},
         model + QStringLiteral(": cascading randomisation from the logits down"),
         QStringLiteral("layers randomised"),
         QStringLiteral("Spearman correlation of |maps| with the original"),
         false},
    };
    std::vector<std::string> written;
    for (const auto &spec : specs) {
        std::vector<CurveSeries> series;
        int colour = 0;
        for (const auto &method : methods) {
            const auto m = means.find(method);
            const QColor c = MethodRegistry::instance().isControl(method) ? controlColour()
                                                                          : seriesColour(colour++);
            for (const auto &[kind, pen] : spec.kinds) {
                if (m == means.end() || !m->second.count(kind))
                    continue;
                const MeanCurve &mc = m->second.at(kind);
                CurveSeries s;
                s.label = methodName(method) +
                          (spec.kinds.size() > 1
                               ? QStringLiteral("  ") + QString::fromStdString(kind.substr(5))
                               : QString());
                s.curve.fractions = mc.x;
                s.curve.probabilities = mc.mean;
                s.curve.logits = mc.mean;
                s.curve.aucProbability = trapezoid(mc.x, mc.mean);
                s.curve.aucLogit = s.curve.aucProbability;
                s.colour = c;
                s.style = pen;
                series.push_back(std::move(s));
            }
        }
        if (series.empty())
            continue;
        QCustomPlot plot;
        const int width = 900, height = 620;
        plot.resize(width, height);
        drawCurves(&plot, series, false, spec.title);
        plot.xAxis->setLabel(spec.xLabel);
        plot.yAxis->setLabel(spec.yLabel);
        if (spec.kinds.front().first == "sanity") {
            double last = 1.0;
            for (const auto &s : series)
                last = std::max(last, s.curve.fractions.empty() ? 1.0 : s.curve.fractions.back());
            plot.xAxis->setRange(1.0, last);
            plot.yAxis->setRange(-0.2, 1.0);
        }
        plot.replot();
        const std::string path = (std::filesystem::path(run.dir()) / spec.file).string();
        if (!plot.savePng(QString::fromStdString(path), width, height))
            throw std::runtime_error("cannot write the plot " + path);
        written.push_back(path);
    }
    return written;
}

} // namespace heatlens::ui
