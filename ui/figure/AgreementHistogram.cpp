#include "ui/figure/AgreementHistogram.h"

#include <QApplication>
#include <QFileInfo>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace heatlens::ui {

namespace {

constexpr int kColumns = 3;       // panels a row
constexpr int kPanelWidth = 390;  // pixels, with its axes
constexpr int kPanelHeight = 290; // the axis rect with its tick labels and axis label
constexpr int kLegendLine = 17;   // one legend entry
constexpr int kTitleHeight = 52;  // the figure's title and note rows

std::string text(const QString &s)
{
    return s.toStdString();
}

double mean(const std::vector<double> &values)
{
    double sum = 0.0;
    int n = 0;
    for (double v : values)
        if (std::isfinite(v)) {
            sum += v;
            ++n;
        }
    return n > 0 ? sum / n : std::nan("");
}

QString axisLabel(const std::string &metric, const AgreementOptions &options)
{
    return QString::fromStdString(agreementMetricLabel(metric, options.topFraction)) +
           (options.absolute ? QStringLiteral(" (|maps|)") : QStringLiteral(" (signed maps)"));
}

// The step outline of one histogram: up from 0 at the left edge, a step per bin, down to 0 at
// the right edge (drawn with lsStepLeft: each point's value holds until the next key).
void setOutline(QCPGraph *graph, const std::vector<double> &shares, double low, double high)
{
    QVector<double> keys, values;
    const int bins = int(shares.size());
    keys << low;
    values << 0.0;
    for (int b = 0; b < bins; ++b) {
        keys << low + (high - low) * b / bins;
        values << shares[size_t(b)];
    }
    keys << high << high;
    values << shares.back() << 0.0;
    graph->setData(keys, values, /*alreadySorted=*/true);
}

// One panel: the axis rect with its histograms and mean lines, the legend under it.
void drawPanel(QCustomPlot *plot, QCPLayoutGrid *panel, QCPMarginGroup *margins,
               const std::vector<HistogramSeries> &series, const std::string &metric,
               const AgreementOptions &options)
{
    auto *rect = new QCPAxisRect(plot);
    panel->addElement(0, 0, rect);
    rect->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
    auto *legend = new QCPLegend;
    panel->addElement(1, 0, legend);
    panel->setRowStretchFactor(1, 0.001);
    legend->setLayer(QStringLiteral("legend"));
    legend->setBorderPen(Qt::NoPen);
    legend->setBrush(Qt::NoBrush);
    legend->setIconSize(26, 10);
    legend->setRowSpacing(0);
    QFont small = plot->font();
    small.setPointSizeF(8.5);
    legend->setFont(small);

    QCPAxis *x = rect->axis(QCPAxis::atBottom);
    QCPAxis *y = rect->axis(QCPAxis::atLeft);
    const auto [low, high] = agreementRange(metric, options.absolute);
    std::vector<std::vector<double>> shares;
    std::vector<double> means;
    double top = 0.0;
    for (const auto &s : series) {
        const auto it = s.values.find(metric);
        const std::vector<double> none;
        const std::vector<double> &values = it == s.values.end() ? none : it->second;
        shares.push_back(histogramShares(values, low, high, kAgreementHistogramBins));
        means.push_back(mean(values));
        for (double share : shares.back())
            top = std::max(top, share);
    }
    const double yMax = std::max(0.05, top * 1.12);
    bool any = false;
    for (size_t i = 0; i < series.size(); ++i) {
        QCPGraph *graph = plot->addGraph(x, y);
        QPen pen(series[i].colour);
        pen.setWidthF(2.0);
        graph->setPen(pen);
        graph->setLineStyle(QCPGraph::lsStepLeft);
        graph->setName(series[i].label +
                       (std::isfinite(means[i])
                            ? QStringLiteral("  mean ") + QString::number(means[i], 'f', 2)
                            : QStringLiteral("  no values")));
        graph->addToLegend(legend);
        if (shares[i].empty())
            continue;
        any = true;
        setOutline(graph, shares[i], low, high);
        QCPGraph *line = plot->addGraph(x, y); // the mean, not in the legend
        pen.setWidthF(1.2);
        pen.setStyle(Qt::DashLine);
        line->setPen(pen);
        line->setData(QVector<double>{means[i], means[i]}, QVector<double>{0.0, yMax});
    }
    x->setRange(low, high);
    y->setRange(0.0, yMax);
    auto ticker = QSharedPointer<QCPAxisTickerFixed>::create();
    ticker->setTickStep(high - low > 1.5 ? 0.5 : 0.25);
    x->setTicker(ticker);
    x->setLabel(axisLabel(metric, options));
    y->setLabel(QStringLiteral("share of images"));
    x->setLabelFont(small);
    y->setLabelFont(small);
    x->setTickLabelFont(small);
    y->setTickLabelFont(small);
    if (!any) {
        auto *note = new QCPItemText(plot);
        note->setClipAxisRect(rect);
        note->position->setType(QCPItemPosition::ptAxisRectRatio);
        note->position->setAxisRect(rect);
        note->position->setCoords(0.5, 0.5);
        note->setText(QStringLiteral("no values"));
        note->setColor(QColor(120, 120, 120));
    }
}

} // namespace

std::pair<double, double> agreementRange(const std::string &metric, bool absolute)
{
    if (metric == "top_k_iou" || (absolute && metric == "cosine"))
        return {0.0, 1.0};
    return {-1.0, 1.0};
}

std::vector<double> histogramShares(const std::vector<double> &values, double low, double high,
                                    int bins)
{
    if (bins < 1 || !(high > low))
        throw std::invalid_argument("histogramShares needs at least one bin over a range");
    std::vector<double> counts(size_t(bins), 0.0);
    int n = 0;
    for (double v : values) {
        if (!std::isfinite(v))
            continue;
        const int b = std::clamp(int(std::floor((v - low) / (high - low) * bins)), 0, bins - 1);
        counts[size_t(b)] += 1.0;
        ++n;
    }
    if (n == 0)
        return {};
    for (double &c : counts)
        c /= n;
    return counts;
}

void drawAgreementHistograms(QCustomPlot *plot, const std::vector<HistogramSeries> &series,
                             const QStringList &metrics, const QString &title,
                             const AgreementOptions &options)
{
    plot->clearItems();
    plot->clearPlottables();
    // Every panel has its own legend; the first one created would become plot->legend and
    // collect every graph.
    plot->setAutoAddPlottableToLegend(false);
    QCPLayoutGrid *layout = plot->plotLayout();
    layout->clear(); // also deletes the default axis rect and legend
    int row = 0;
    if (!title.isEmpty()) {
        QFont bold = plot->font();
        bold.setBold(true);
        layout->addElement(row, 0, new QCPTextElement(plot, title, bold));
        layout->setRowStretchFactor(row++, 0.001);
    }
    QFont small = plot->font();
    small.setPointSizeF(8.5);
    auto *note = new QCPTextElement(
        plot,
        QStringLiteral("One line per method: the share of images in each of %1 bins of the "
                       "agreement; dashed: the mean over the images.")
            .arg(kAgreementHistogramBins),
        small);
    note->setTextColor(QColor(90, 90, 90));
    layout->addElement(row, 0, note);
    layout->setRowStretchFactor(row++, 0.001);
    auto *panels = new QCPLayoutGrid;
    layout->addElement(row, 0, panels);
    panels->setColumnSpacing(18);
    panels->setRowSpacing(10);
    panels->setMargins(QMargins(0, 0, 0, 8));
    // One margin group lines the panels' axes up; kept on the plot across redraws.
    const QString marginsName = QStringLiteral("heatlensHistogramMargins");
    auto *margins = plot->findChild<QCPMarginGroup *>(marginsName, Qt::FindDirectChildrenOnly);
    if (!margins) {
        margins = new QCPMarginGroup(plot);
        margins->setObjectName(marginsName);
    }
    for (int i = 0; i < metrics.size(); ++i) {
        auto *panel = new QCPLayoutGrid;
        panels->addElement(i / kColumns, i % kColumns, panel);
        drawPanel(plot, panel, margins, series, metrics[i].toStdString(), options);
    }
    plot->replot();
}

QSize agreementHistogramsSize(int panels, int entries)
{
    const int columns = std::clamp(panels, 1, kColumns);
    const int rows = std::max(1, (panels + kColumns - 1) / kColumns);
    return QSize(columns * kPanelWidth + 20,
                 kTitleHeight + rows * (kPanelHeight + std::max(1, entries) * kLegendLine + 28));
}

void saveAgreementHistograms(const std::vector<HistogramSeries> &series, const QStringList &metrics,
                             const QString &title, const QString &path,
                             const AgreementOptions &options)
{
    if (!qobject_cast<QApplication *>(QCoreApplication::instance()))
        throw std::logic_error("cannot draw the agreement histograms " + text(path) +
                               ": saveAgreementHistograms needs a QApplication");
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix != QLatin1String("png") && suffix != QLatin1String("pdf"))
        throw std::invalid_argument("cannot save the agreement histograms as " + text(path) +
                                    ": the file name must end in .png or .pdf");
    const QSize size = agreementHistogramsSize(int(metrics.size()), int(series.size()));
    QCustomPlot plot;
    plot.resize(size);
    drawAgreementHistograms(&plot, series, metrics, title, options);
    const bool saved = suffix == QLatin1String("pdf")
                           ? plot.savePdf(path, size.width(), size.height())
                           : plot.savePng(path, size.width(), size.height());
    if (!saved)
        throw std::runtime_error("cannot write the agreement histograms to " + text(path));
}

} // namespace heatlens::ui
