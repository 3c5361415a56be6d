#include "ui/figure/UncertaintyPlots.h"

#include "core/explain/MethodRegistry.h"
#include "core/uncertainty/StochasticSource.h"
#include "ui/figure/CurvePlot.h"

#include <cmath>
#include <filesystem>
#include <set>
#include <stdexcept>

namespace heatlens::ui {

namespace {

struct Column
{
    std::string name;
    QString label;
};

QString methodName(const std::string &id)
{
    const Method *m = MethodRegistry::instance().find(id);
    return QString::fromStdString(m ? m->name() : id);
}

QString sourceName(const std::string &id)
{
    const StochasticSource *s = SourceRegistry::instance().find(id);
    return QString::fromStdString(s ? s->name() : id);
}

} // namespace

std::vector<std::string>
writeUncertaintyPlots(const std::map<std::string, std::map<std::string, Summary>> &table,
                      const std::vector<std::string> &keys, const std::string &modelName,
                      const std::string &dir)
{
    std::vector<std::string> methods, sources;
    for (const auto &k : keys) {
        const auto bar = k.find('|');
        const std::string m = k.substr(0, bar), s = k.substr(bar + 1);
        if (std::find(methods.begin(), methods.end(), m) == methods.end())
            methods.push_back(m);
        if (std::find(sources.begin(), sources.end(), s) == sources.end())
            sources.push_back(s);
    }
    const std::vector<Column> columns = {
        {"mean_cv", QStringLiteral("mean coefficient of variation (std / |mean|)")},
        {"rank_stability", QStringLiteral("rank stability (mean pairwise Spearman)")},
        {"deletion_auc", QStringLiteral("deletion AUC of the mean map (lower is more faithful)")}};
    std::vector<std::string> written;
    for (const auto &column : columns) {
        QCustomPlot plot;
        const int width = 900, height = 560;
        plot.resize(width, height);
        plot.plotLayout()->insertRow(0);
        plot.plotLayout()->addElement(0, 0,
                                      new QCPTextElement(&plot, QString::fromStdString(modelName) +
                                                                    QStringLiteral(": ") +
                                                                    column.label));
        const double groupWidth = 0.8, barWidth = groupWidth / double(sources.size());
        bool any = false;
        double lowest = 0.0, highest = 0.0; // of the bars with their intervals
        for (size_t s = 0; s < sources.size(); ++s) {
            auto *bars = new QCPBars(plot.xAxis, plot.yAxis);
            auto *errors = new QCPErrorBars(plot.xAxis, plot.yAxis);
            bars->setName(sourceName(sources[s]));
            bars->setWidth(barWidth * 0.9);
            const QColor c = seriesColour(int(s));
            bars->setPen(QPen(c.darker(130)));
            bars->setBrush(c);
            QVector<double> x, y, e;
            for (size_t m = 0; m < methods.size(); ++m) {
                const auto row = table.find(methods[m] + "|" + sources[s]);
                if (row == table.end() || !row->second.count(column.name))
                    continue;
                const Summary &sum = row->second.at(column.name);
                if (!std::isfinite(sum.mean))
                    continue;
                x.push_back(double(m) - groupWidth / 2 + barWidth * (double(s) + 0.5));
                y.push_back(sum.mean);
                e.push_back(std::isfinite(sum.ci95) ? sum.ci95 : 0.0);
                lowest = std::min(lowest, sum.mean - e.back());
                highest = std::max(highest, sum.mean + e.back());
                any = true;
            }
            bars->setData(x, y);
            errors->setDataPlottable(bars);
            errors->setData(e);
            errors->removeFromLegend();
        }
        if (!any)
            continue;
        QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
        for (size_t m = 0; m < methods.size(); ++m)
            ticker->addTick(double(m), methodName(methods[m]));
        plot.xAxis->setTicker(ticker);
        plot.xAxis->grid()->setZeroLinePen(Qt::NoPen); // x = 0 is the first method, not zero
        plot.xAxis->setRange(-0.6, double(methods.size()) - 0.4);
        plot.yAxis->setLabel(column.label);
        const double margin = 0.08 * (highest - lowest);
        plot.yAxis->setRange(lowest < 0.0 ? lowest - margin : 0.0, highest + margin);
        plot.legend->setVisible(true);
        plot.axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
        plot.replot();
        const std::string path =
            (std::filesystem::path(dir) / ("uncertainty_" + column.name + ".png")).string();
        if (!plot.savePng(QString::fromStdString(path), width, height))
            throw std::runtime_error("cannot write the plot " + path);
        written.push_back(path);
    }
    return written;
}

void drawBand(QCustomPlot *plot, const CurveBand &band, const QColor &colour, const QString &label,
              Qt::PenStyle style)
{
    const QVector<double> x(band.fractions.begin(), band.fractions.end());
    auto *low = plot->addGraph();
    low->setData(x, QVector<double>(band.low.begin(), band.low.end()), true);
    low->setPen(Qt::NoPen);
    low->removeFromLegend();
    auto *high = plot->addGraph();
    high->setData(x, QVector<double>(band.high.begin(), band.high.end()), true);
    high->setPen(Qt::NoPen);
    QColor fill = colour;
    fill.setAlpha(50);
    high->setBrush(fill);
    high->setChannelFillGraph(low);
    high->removeFromLegend();
    auto *mean = plot->addGraph();
    mean->setData(x, QVector<double>(band.mean.begin(), band.mean.end()), true);
    mean->setPen(QPen(colour, 2.0, style));
    mean->setName(label + QStringLiteral("  AUC %1 [%2, %3]")
                              .arg(band.aucMean, 0, 'f', 3)
                              .arg(band.aucLow, 0, 'f', 3)
                              .arg(band.aucHigh, 0, 'f', 3));
}

} // namespace heatlens::ui
