#pragma once

// How much two models' explanations agree image by image: one histogram panel per agreement
// metric, one step line per method. The command line saves it next to the agreement matrix
// (heatlens-cli compare); the Compare tab can draw the same figure into its own plot.

#include "core/metrics/Agreement.h"
#include "ui/figure/CurvePlot.h" // the QCustomPlot include shim

#include <QColor>
#include <QSize>
#include <QString>
#include <QStringList>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace heatlens::ui {

// One line in every panel: a method's agreement between the two models, image by image.
struct HistogramSeries
{
    QString label; // legend text before the mean: "Saliency"
    QColor colour;
    // Per metric (agreementMetrics() names), one value per image; NaN values are left out.
    std::map<std::string, std::vector<double>> values;
};

constexpr int kAgreementHistogramBins = 20;

// The x range of a metric's panel: [0, 1] for top_k_iou, and for cosine of |maps| (absolute:
// never negative); [-1, 1] otherwise.
std::pair<double, double> agreementRange(const std::string &metric, bool absolute);

// The share of the finite `values` in each of `bins` equal bins over [low, high] (values
// outside fall into the end bins; high into the last); empty when no value is finite.
std::vector<double> histogramShares(const std::vector<double> &values, double low, double high,
                                    int bins);

// Replaces everything in `plot` (layout, graphs, items) by the figure: `title` on top (none
// when empty) and a line on how to read the panels, then one panel per metric, three a row, x over
// agreementRange in kAgreementHistogramBins bins, y the share of images; a dashed line at each
// series' mean; under every panel a legend "Saliency  mean 0.42" ("no values" when the series has
// none for that metric). Replots.
void drawAgreementHistograms(QCustomPlot *plot, const std::vector<HistogramSeries> &series,
                             const QStringList &metrics, const QString &title,
                             const AgreementOptions &options = {});

// A size at which `panels` panels with legends of `entries` lines are readable.
QSize agreementHistogramsSize(int panels, int entries);

// Draws the figure on an offscreen QCustomPlot at agreementHistogramsSize and saves it to
// `path`: PNG when it ends in .png, PDF when in .pdf. Throws std::invalid_argument for another
// extension, std::runtime_error naming the path when it cannot be written, std::logic_error
// when there is no QApplication (QCustomPlot is a widget).
void saveAgreementHistograms(const std::vector<HistogramSeries> &series, const QStringList &metrics,
                             const QString &title, const QString &path,
                             const AgreementOptions &options = {});

} // namespace heatlens::ui
