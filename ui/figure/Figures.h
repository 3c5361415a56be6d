#pragma once

// The figures of every view, built from what core computes: the viewer's "Export figure..."
// and `heatlens-cli figure` call these with the same results, so their files are the same.

#include "core/explain/ExplainJob.h"
#include "core/groups/Estimators.h"
#include "core/groups/Grouping.h"
#include "core/metrics/Comparison.h"
#include "core/metrics/Sanity.h"
#include "core/uncertainty/Uncertainty.h"
#include "core/uncertainty/UncertaintyCurves.h"
#include "ui/figure/AgreementMatrix.h"
#include "ui/figure/CurvePlot.h"
#include "ui/figure/Figure.h"

#include <optional>
#include <string>
#include <vector>

namespace heatlens::ui {

// A name short enough for a matrix's labels: "Integrated Gradients" -> "IG",
// "CNN (saliency-guided)" -> "CNN sg"; names of up to 12 characters stay.
QString shortName(const QString &name);

// The kinds `heatlens-cli figure --kind` takes, one per view.
const std::vector<std::string> &figureKinds(); // explain grid curves sanity uncertainty groups

// How maps are coloured in figures: colour-blind-safe by default (viridis for magnitudes; signed
// maps take the diverging coolwarm, whose two arms differ in lightness and blue-yellow).
struct MapColours
{
    ColorMapId map = ColorMapId::Viridis;
    double alpha = 0.5;
    double clipPercentile = 99.0;
};

// The explanation: the image, the map alone and the overlay, one colour bar with its range and
// sign, and a caption with model, method, class and probability.
struct ExplainFigureInput
{
    cv::Mat image; // the image in its native frame (any depth)
    cv::Mat map;   // CV_32F in the same frame
    bool signedMap = false;
    QString model, method, target, predicted;
    double probability = 0.0; // of the target class
    MapColours colours;
};
Figure explainFigure(const ExplainFigureInput &in);
// The input of one explanation of `image` (its native frame) by `model`.
ExplainFigureInput explainFigureInput(const Model &model, const cv::Mat &image,
                                      const ExplainOutcome &outcome, const MapColours &colours);

// "Grad-CAM", or "Grad-CAM (layer=features.block2)" when parameters differ from the defaults.
QString methodDisplayName(const std::string &methodId, const Params &params);

// The Compare grid: models (rows) x methods (columns) as overlays on the image, with per-cell,
// per-method or one shared colour scale, and the agreement matrix as an optional panel.
struct GridFigureInput
{
    enum class Scale { Cell, Method, Shared };
    cv::Mat image; // in the comparison frame of the cells' maps
    QStringList models, methods;
    std::vector<const CellResult *> cells;            // row-major; null or !ok: an empty cell
    std::vector<std::vector<std::string>> classNames; // per model, for the cells' notes
    Scale scale = Scale::Cell;
    bool absolute = true; // |maps| (the Compare tab's default); false: signed maps, diverging
    MapColours colours;
    std::optional<AgreementMatrix> agreement;
    QString imageId;
};
Figure gridFigure(const GridFigureInput &in);
// A grid's input for `image` (its native frame; brought to the comparison frame here), its models
// and method ids, and its cells (row-major): the labels and class names filled in, the rest of
// the options at their defaults.
GridFigureInput gridFigureInput(const cv::Mat &image, const std::vector<ModelPtr> &models,
                                const std::vector<std::string> &methods,
                                std::vector<const CellResult *> cells);
// The grid's agreement matrix for `metric` (a GridAgreement pair value such as "spearman"),
// labelled like the Compare tab: "<model> / <method>".
AgreementMatrix gridAgreementMatrix(const GridAgreement &agreement, const QStringList &models,
                                    const QStringList &methods, const std::string &metric,
                                    const QString &metricLabel);

// Deletion and insertion curves as the Curves tab draws them.
struct CurvesFigureInput
{
    std::vector<CurveSeries> series;
    bool logit = false;
    QString features = QStringLiteral("pixels");
    QString title, caption;
};
Figure curvesFigure(const CurvesFigureInput &in);
QString curvesCaption(int steps);
// One curve of the Curves tab: its method entry (the colour follows the entry), its mode.
struct NamedCurve
{
    std::string methodKey;
    QString name; // methodDisplayName
    std::string mode;
    bool control = false;
    Curve curve;
    bool complete = true;
};
// The series the Curves tab draws for `curves` (colours by entry, controls grey, insertion
// dashed), with lines of `width` points.
std::vector<CurveSeries> curveSeries(const std::vector<NamedCurve> &curves, double width);
// The Curves tab's plot title: "<model>, image <id>, target <class>" and the order and baseline.
QString curvesTitle(const QString &model, const QString &imageId, const QString &target,
                    const std::string &order, const std::string &modes,
                    const std::string &baseline);

// The sanity strip: the explanation and its explanation under each randomisation step, with the
// similarity of each, a plot of the similarities per step, and the verdict.
struct SanityFigureInput
{
    cv::Mat image; // 8-bit RGB at the model's input resolution
    SanityResult result;
    QString model, method;
    MapColours colours;
};
Figure sanityFigure(const SanityFigureInput &in);

// Explanation uncertainty: the mean map over the image, the std and CV maps with their ranges,
// and the banded deletion curves when computed.
struct UncertaintyFigureInput
{
    cv::Mat image; // 8-bit RGB at the model's input resolution
    UncertaintyResult result;
    std::optional<UncertaintyCurves> curves;
    QString model, method, source;
    MapColours colours;
};
Figure uncertaintyFigure(const UncertaintyFigureInput &in);

// Groups: the image with every group tinted by its attribution, outlines and numbers, the
// strongest pairs as lines between group centres, and the interaction matrix.
struct GroupsFigureInput
{
    cv::Mat image; // 8-bit RGB at the grouping's resolution
    Grouping grouping;
    GroupInteractions interactions;
    int topPairs = 10;
    QString model, target;
};
Figure groupsFigure(const GroupsFigureInput &in);

} // namespace heatlens::ui
