#include "ui/figure/CurvePlot.h"

#include <QApplication>
#include <QFileInfo>

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace heatlens::ui {

namespace {

// Set on a plot once its legend has been moved under the axes.
const char *const kLegendBelow = "heatlensLegendBelow";
constexpr int kLegendMargin = 6; // around the legend, inside the plot

std::string text(const QString &s)
{
    return s.toStdString();
}

// The title is the element of row 0 when there is one.
void setTitle(QCustomPlot *plot, const QString &title)
{
    QCPLayoutGrid *layout = plot->plotLayout();
    auto *element = qobject_cast<QCPTextElement *>(layout->element(0, 0));
    if (title.isEmpty()) {
        if (element) {
            layout->remove(element);
            layout->simplify();
        }
        return;
    }
    if (!element) {
        layout->insertRow(0);
        QFont font = plot->font();
        font.setBold(true);
        element = new QCPTextElement(plot, title, font);
        layout->addElement(0, 0, element);
        layout->setRowStretchFactor(0, 0.001);
    }
    element->setText(title);
}

QCPRange yRange(const std::vector<CurveSeries> &series, bool logit)
{
    if (!logit)
        return {-0.02, 1.02};
    double low = std::numeric_limits<double>::infinity(), high = -low;
    for (const auto &s : series)
        for (double v : s.curve.logits) {
            low = std::min(low, v);
            high = std::max(high, v);
        }
    if (!(low <= high))
        return {0.0, 1.0};
    const double pad = high > low ? 0.05 * (high - low) : 0.5;
    return {low - pad, high + pad};
}

} // namespace

void placeLegendBelow(QCustomPlot *plot)
{
    if (plot->property(kLegendBelow).toBool())
        return;
    plot->setProperty(kLegendBelow, true);
    QCPLayoutGrid *layout = plot->plotLayout();
    auto *holder = new QCPLayoutGrid; // a margin between the legend and the plot's border
    const int row = layout->rowCount();
    layout->addElement(row, 0, holder);
    holder->setMargins(QMargins(kLegendMargin, 0, kLegendMargin, kLegendMargin));
    holder->addElement(0, 0, plot->legend); // takes it out of the axis rect's inset layout
    layout->setRowStretchFactor(row, 0.001);
    plot->legend->setVisible(true);
    plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    plot->legend->setWrap(2); // see fitLegend
    plot->legend->setBorderPen(Qt::NoPen);
    plot->legend->setBrush(Qt::NoBrush);
    plot->legend->setIconSize(34, 12);
}

QColor seriesColour(int i)
{
    static const QColor palette[] = {
        QColor(0x1f, 0x77, 0xb4), // blue
        QColor(0xff, 0x7f, 0x0e), // orange
        QColor(0x2c, 0xa0, 0x2c), // green
        QColor(0xd6, 0x27, 0x28), // red
        QColor(0x94, 0x67, 0xbd), // purple
        QColor(0x8c, 0x56, 0x4b), // brown
        QColor(0xe3, 0x77, 0xc2), // pink
        QColor(0xbc, 0xbd, 0x22), // olive
        QColor(0x17, 0xbe, 0xcf), // cyan
    };
    constexpr int n = int(sizeof(palette) / sizeof(palette[0]));
    return palette[((i % n) + n) % n];
}

QColor controlColour()
{
    return QColor(0x7f, 0x7f, 0x7f);
}

QString curveLegendText(const CurveSeries &series, bool logit)
{
    if (series.partial)
        return series.label + QStringLiteral(" (computing)");
    const double auc = logit ? series.curve.aucLogit : series.curve.aucProbability;
    return series.label + QStringLiteral(" AUC ") + QString::number(auc, 'f', 3);
}

bool fitLegend(QCustomPlot *plot)
{
    QCPLegend *legend = plot->legend;
    const QFontMetrics metrics(legend->font());
    int entry = 0; // the widest entry, with its icon and margins
    for (int i = 0; i < legend->itemCount(); ++i)
        if (auto *item = qobject_cast<QCPPlottableLegendItem *>(legend->item(i)))
            entry = std::max(entry, metrics.horizontalAdvance(item->plottable()->name()) +
                                        legend->iconSize().width() + legend->iconTextPadding() +
                                        item->margins().left() + item->margins().right());
    const int available = plot->width() - 2 * kLegendMargin - legend->margins().left() -
                          legend->margins().right() - legend->columnSpacing();
    const int wrap = 2 * entry <= available ? 2 : 1;
    if (legend->wrap() == wrap)
        return false;
    legend->setWrap(wrap);
    legend->setFillOrder(QCPLayoutGrid::foColumnsFirst, /*rearrange=*/true);
    return true;
}

void drawCurves(QCustomPlot *plot, const std::vector<CurveSeries> &series, bool logit,
                const QString &title, const QString &features, QCustomPlot::RefreshPriority refresh)
{
    placeLegendBelow(plot);
    setTitle(plot, title);
    // A streaming plot redraws many times with the same series: its graphs (and their legend
    // items) are kept and only their data, names and pens replaced.
    if (plot->graphCount() != int(series.size())) {
        plot->clearGraphs();
        for (size_t i = 0; i < series.size(); ++i)
            plot->addGraph();
    }
    for (size_t i = 0; i < series.size(); ++i) {
        const CurveSeries &s = series[i];
        QCPGraph *graph = plot->graph(int(i));
        graph->setName(curveLegendText(s, logit));
        QPen pen(s.colour);
        pen.setWidthF(s.width);
        pen.setCosmetic(s.width <= 1.0);
        pen.setStyle(s.style);
        graph->setPen(pen);
        const auto &y = logit ? s.curve.logits : s.curve.probabilities;
        const size_t n = std::min(s.curve.fractions.size(), y.size());
        QVector<double> xs(s.curve.fractions.begin(), s.curve.fractions.begin() + long(n));
        QVector<double> ys(y.begin(), y.begin() + long(n));
        graph->setData(xs, ys, /*alreadySorted=*/true);
    }
    plot->xAxis->setLabel(QStringLiteral("fraction of %1 perturbed").arg(features));
    plot->yAxis->setLabel(logit ? QStringLiteral("target logit")
                                : QStringLiteral("target probability"));
    plot->xAxis->setRange(0.0, 1.0);
    plot->yAxis->setRange(yRange(series, logit));
    plot->legend->setVisible(!series.empty());
    fitLegend(plot);
    plot->replot(refresh);
}

void saveCurvePlot(const std::vector<CurveSeries> &series, bool logit, const QString &title,
                   const QString &path, int width, int height, const QString &features)
{
    if (!qobject_cast<QApplication *>(QCoreApplication::instance()))
        throw std::logic_error("cannot draw the curve plot " + text(path) +
                               ": saveCurvePlot needs a QApplication (QCustomPlot is a widget)");
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix != QLatin1String("png") && suffix != QLatin1String("pdf"))
        throw std::invalid_argument("cannot save the curve plot as " + text(path) +
                                    ": the file name must end in .png or .pdf");
    if (width < 1 || height < 1)
        throw std::invalid_argument("cannot save the curve plot " + text(path) + " at " +
                                    std::to_string(width) + " x " + std::to_string(height) +
                                    " pixels");
    QCustomPlot plot;
    plot.resize(width, height);
    drawCurves(&plot, series, logit, title, features);
    const bool saved = suffix == QLatin1String("pdf") ? plot.savePdf(path, width, height)
                                                      : plot.savePng(path, width, height);
    if (!saved) {
        const QFileInfo info(path);
        const QString why =
            !QFileInfo(info.absolutePath()).isDir()
                ? QStringLiteral("the folder %1 does not exist").arg(info.absolutePath())
                : QStringLiteral("the file cannot be written");
        throw std::runtime_error("cannot write the curve plot to " + text(path) + ": " + text(why));
    }
}

} // namespace heatlens::ui
