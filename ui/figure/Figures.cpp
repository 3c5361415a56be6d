#include "ui/figure/Figures.h"

#include "core/explain/MethodRegistry.h"
#include "core/maps/MapMath.h"
#include "core/model/Preprocess.h"
#include "ui/figure/FigurePanels.h"
#include "ui/figure/UncertaintyPlots.h"

#include <opencv2/imgproc.hpp>

#include <QPainter>
#include <QRegularExpression>

#include <algorithm>
#include <cmath>
#include <limits>

namespace heatlens::ui {

namespace {

constexpr double kCurveWidth = 1.25; // points
constexpr double kMaxCell = 150.0;   // points: a grid cell at most 53 mm high
constexpr double kMaxMatrix = 220.0; // points: the agreement matrix at most 78 mm
constexpr double kMaxPlot = 200.0;   // points: a plot (without its legend) at most 71 mm

QString qs(const std::string &s)
{
    return QString::fromStdString(s);
}

QString number(double v, int digits = 3)
{
    return std::isfinite(v) ? QString::number(v, 'f', digits) : QStringLiteral("-");
}

QString probabilityText(double p)
{
    return QStringLiteral("p = %1").arg(number(p, 3));
}

QString initials(const QString &text)
{
    QString out;
    for (const QString &word :
         text.split(QRegularExpression(QStringLiteral("[\\s-]+")), Qt::SkipEmptyParts))
        if (word.front().isLetter()) // "Chefer 2021b" -> "c", not "c2"
            out += word.front();
    return out;
}

} // namespace

QString shortName(const QString &name)
{
    if (name.size() <= 12)
        return name;
    const int open = name.indexOf(QLatin1Char('('));
    const QString head = (open > 0 ? name.left(open) : name).trimmed();
    const QString inner =
        open > 0 ? name.mid(open + 1).section(QLatin1Char(')'), 0, 0).trimmed() : QString();
    QString out = head.size() <= 12 ? head : initials(head);
    if (!inner.isEmpty())
        out += QLatin1Char(' ') + initials(inner).toLower();
    return out;
}

const std::vector<std::string> &figureKinds()
{
    static const std::vector<std::string> kinds = {"explain", "grid",        "curves",
                                                   "sanity",  "uncertainty", "groups"};
    return kinds;
}

Figure explainFigure(const ExplainFigureInput &in)
{
    Figure f;
    double scale = 0.0;
    const QImage map = colourMap(in.image, in.map, in.signedMap, in.colours, 0.0, &scale, false);
    const QImage over = colourMap(in.image, in.map, in.signedMap, in.colours, 0.0, nullptr, true);
    const int factor = enlargement(in.map.size());
    FigureRow row;
    row.panels.push_back(
        imagePanel(rgbImage(enlarged(toRgb8(in.image), factor)), QStringLiteral("image")));
    row.panels.push_back(imagePanel(map, in.method));
    row.panels.push_back(imagePanel(over, QStringLiteral("overlay")));
    f.rows.push_back(std::move(row));
    f.sharedBar = barFor(in.signedMap, scale, in.colours,
                         in.signedMap ? QStringLiteral("attribution (signed)")
                                      : QStringLiteral("|attribution|"));
    QString caption = QStringLiteral("%1 \u00b7 %2 \u00b7 class %3 (%4)")
                          .arg(in.model, in.method, in.target, probabilityText(in.probability));
    if (!in.predicted.isEmpty() && in.predicted != in.target)
        caption += QStringLiteral("; predicted %1").arg(in.predicted);
    caption += QStringLiteral(". Colours clipped at the %1th percentile of |attribution|.")
                   .arg(in.colours.clipPercentile, 0, 'g', 3);
    f.caption = caption;
    return f;
}

ExplainFigureInput explainFigureInput(const Model &model, const cv::Mat &image,
                                      const ExplainOutcome &outcome, const MapColours &colours)
{
    ExplainFigureInput in;
    in.image = image;
    in.map = outcome.nativeMap;
    in.signedMap = outcome.explanation.signedMap;
    in.model = qs(model.displayName());
    in.method = methodDisplayName(outcome.explanation.methodId, outcome.explanation.params);
    const int target = outcome.explanation.target;
    in.target = qs(model.label(target));
    in.predicted = qs(model.label(outcome.prediction.predicted));
    const auto &p = outcome.prediction.probabilities;
    in.probability = target >= 0 && size_t(target) < p.size() ? p[size_t(target)] : 0.0;
    in.colours = colours;
    return in;
}

QString methodDisplayName(const std::string &methodId, const Params &params)
{
    const Method &method = MethodRegistry::instance().get(methodId);
    const Params defaults = completeParams(method.params(), Params(), method.id());
    QStringList changed;
    for (const auto &[name, value] : params.values())
        if (!defaults.has(name) || defaults.get(name) != value)
            changed << qs(name + "=" + paramValueText(value));
    QString text = qs(method.name());
    if (!changed.isEmpty())
        text += QStringLiteral(" (") + changed.join(QStringLiteral(", ")) + QLatin1Char(')');
    return text;
}

std::vector<CurveSeries> curveSeries(const std::vector<NamedCurve> &curves, double width)
{
    std::vector<CurveSeries> out;
    std::map<std::string, int> colours;
    for (const NamedCurve &c : curves) {
        CurveSeries s;
        s.label = c.name + QStringLiteral("  ") + qs(c.mode);
        if (c.control) {
            s.colour = controlColour();
        } else {
            auto it = colours.find(c.methodKey);
            if (it == colours.end())
                it = colours.emplace(c.methodKey, int(colours.size())).first;
            s.colour = seriesColour(it->second);
        }
        s.style = c.mode == "insertion" ? Qt::DashLine : Qt::SolidLine;
        s.partial = !c.complete;
        s.curve = c.curve;
        s.width = width;
        out.push_back(std::move(s));
    }
    return out;
}

QString curvesTitle(const QString &model, const QString &imageId, const QString &target,
                    const std::string &order, const std::string &modes, const std::string &baseline)
{
    // Two short lines: the plot is often narrow, and a text element does not wrap.
    QString text = QStringLiteral("%1, image %2, target %3\n%4")
                       .arg(model, imageId, target,
                            order == "morf" ? QStringLiteral("most relevant first")
                                            : QStringLiteral("least relevant first"));
    if (modes != "insertion")
        text += QStringLiteral(", deleted to %1").arg(qs(baseline));
    return text;
}

AgreementMatrix gridAgreementMatrix(const GridAgreement &agreement, const QStringList &models,
                                    const QStringList &methods, const std::string &metric,
                                    const QString &metricLabel)
{
    AgreementMatrix m;
    const int columns = int(methods.size());
    const int n = int(models.size()) * columns;
    // Short labels: without the prefix every model shares ("Demo: "), long names by initials.
    QString prefix = models.value(0);
    for (const QString &name : models)
        while (!prefix.isEmpty() && !name.startsWith(prefix))
            prefix.chop(1);
    if (models.size() < 2)
        prefix.clear();
    for (const QString &name : models) // "A" and "A B": keep the names whole
        if (name.mid(prefix.size()).trimmed().isEmpty())
            prefix.clear();
    for (int i = 0; i < n; ++i) // one model: its methods are the cells
        m.labels << (models.size() == 1
                         ? shortName(methods[i % columns])
                         : shortName(models[i / columns].mid(prefix.size()).trimmed()) +
                               QStringLiteral(" / ") + shortName(methods[i % columns]));
    m.values.assign(size_t(n * n), 1.0);
    if (agreement.pairs.size() == size_t(n * (n - 1) / 2))
        for (int i = 0; i < n; ++i)
            for (int j = 0; j < n; ++j)
                if (i != j)
                    m.values[size_t(i * n + j)] =
                        agreement.pairs[pairIndex(size_t(i), size_t(j), size_t(n))].value(metric);
    m.metric = metricLabel;
    return m;
}

GridFigureInput gridFigureInput(const cv::Mat &image, const std::vector<ModelPtr> &models,
                                const std::vector<std::string> &methods,
                                std::vector<const CellResult *> cells)
{
    GridFigureInput in;
    cv::resize(toRgb8(image), in.image, comparisonFrame(image.size()), 0, 0, cv::INTER_AREA);
    for (const ModelPtr &m : models) {
        in.models << qs(m->displayName());
        std::vector<std::string> names;
        for (int k = 0; k < m->numClasses(); ++k)
            names.push_back(m->label(k));
        in.classNames.push_back(std::move(names));
    }
    for (const auto &m : methods)
        in.methods << methodDisplayName(m, Params());
    in.cells = std::move(cells);
    return in;
}

Figure gridFigure(const GridFigureInput &in)
{
    Figure f;
    const int rows = int(in.models.size()), columns = int(in.methods.size());
    auto cell = [&](int r, int c) -> const CellResult * {
        const size_t i = size_t(r * columns + c);
        return i < in.cells.size() && in.cells[i] && in.cells[i]->ok ? in.cells[i] : nullptr;
    };
    // The scales: each cell's own, then per method or over all.
    std::vector<double> own(size_t(rows * columns), 0.0);
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < columns; ++c)
            if (const CellResult *x = cell(r, c))
                own[size_t(r * columns + c)] = percentileOfAbs(x->map, in.colours.clipPercentile);
    auto scaleOf = [&](int r, int c) {
        double s = 0.0;
        if (in.scale == GridFigureInput::Scale::Cell)
            return own[size_t(r * columns + c)];
        for (int k = 0; k < rows; ++k)
            for (int j = 0; j < columns; ++j)
                if (in.scale == GridFigureInput::Scale::Shared || j == c)
                    s = std::max(s, own[size_t(k * columns + j)]);
        return s;
    };
    bool anySigned = false, anyUnsigned = false;
    for (int r = 0; r < rows; ++r) {
        FigureRow row;
        row.label = in.models[r];
        for (int c = 0; c < columns; ++c) {
            const CellResult *x = cell(r, c);
            Panel p;
            if (x) {
                const double scale = scaleOf(r, c);
                const bool signedMap = x->signedMap && !in.absolute;
                p = imagePanel(colourMap(in.image, x->map, signedMap, in.colours,
                                         scale > 0 ? scale : 0.0, nullptr, true));
                (signedMap ? anySigned : anyUnsigned) = true;
                const auto &names = size_t(r) < in.classNames.size() ? in.classNames[size_t(r)]
                                                                     : std::vector<std::string>();
                const int t = x->target;
                const QString name =
                    t >= 0 && size_t(t) < names.size() ? qs(names[size_t(t)]) : QString::number(t);
                const double prob = t >= 0 && size_t(t) < x->prediction.probabilities.size()
                                        ? x->prediction.probabilities[size_t(t)]
                                        : 0.0;
                p.note = QStringLiteral("%1 %2").arg(name, number(prob, 2));
                const bool barHere = in.scale == GridFigureInput::Scale::Cell ||
                                     (in.scale == GridFigureInput::Scale::Method && r == rows - 1);
                if (barHere)
                    p.bar = barFor(signedMap, scale, in.colours, {});
            } else {
                p.kind = Panel::Kind::Painted;
                const size_t i = size_t(r * columns + c);
                const QString why = i < in.cells.size() && in.cells[i] ? qs(in.cells[i]->error)
                                                                       : QStringLiteral("no map");
                p.paint = [why](QPainter &painter, const QRectF &rect) {
                    painter.setPen(QPen(QColor(150, 150, 150), 0.5));
                    painter.drawRect(rect.adjusted(1, 1, -1, -1));
                    painter.drawText(rect.adjusted(3, 3, -3, -3),
                                     Qt::AlignCenter | Qt::TextWordWrap, why);
                };
                p.aspect = double(in.image.cols) / std::max(1, in.image.rows);
                p.note = QStringLiteral(" ");
            }
            if (r == 0)
                p.title = in.methods[c];
            row.panels.push_back(std::move(p));
        }
        row.maxHeight = kMaxCell;
        f.rows.push_back(std::move(row));
    }
    if (in.scale == GridFigureInput::Scale::Shared) {
        double all = 0.0;
        for (double s : own)
            all = std::max(all, s);
        // Signed and unsigned maps together: the bar shows the signed range (magnitudes use
        // its upper half).
        f.sharedBar = barFor(anySigned, all, in.colours,
                             anySigned && anyUnsigned ? QStringLiteral("attribution")
                             : anySigned              ? QStringLiteral("attribution (signed)")
                                                      : QStringLiteral("|attribution|"));
    }
    if (in.agreement) {
        FigureRow row;
        Panel p;
        p.kind = Panel::Kind::Painted;
        const AgreementMatrix &a = *in.agreement;
        MatrixData data;
        data.n = int(a.labels.size());
        data.labels = a.labels;
        data.values = a.values;
        data.numbers = true;
        p.paint = [data](QPainter &painter, const QRectF &rect) {
            paintMatrix(painter, rect, data);
        };
        p.bar = ColourBar{ColorMapId::CoolWarm, -1.0, 1.0, a.metric};
        p.title = QStringLiteral("agreement: %1").arg(a.metric);
        row.panels.push_back(std::move(p));
        row.widthShare = 0.7;
        row.maxHeight = kMaxMatrix;
        f.rows.push_back(std::move(row));
    }
    QString caption =
        QStringLiteral("%1: %2 models \u00d7 %3 methods; colours clipped at the "
                       "%4th percentile of each map's magnitude, %5.")
            .arg(in.imageId.isEmpty() ? QStringLiteral("image") : in.imageId)
            .arg(rows)
            .arg(columns)
            .arg(in.colours.clipPercentile, 0, 'g', 3)
            .arg(in.scale == GridFigureInput::Scale::Cell ? QStringLiteral("each "
                                                                           "cell its own scale")
                 : in.scale == GridFigureInput::Scale::Method
                     ? QStringLiteral("one scale per method")
                     : QStringLiteral("one scale for all"));
    if (in.agreement)
        caption += QStringLiteral(" Matrix: %1 between cells.").arg(in.agreement->metric);
    f.caption = caption;
    return f;
}

Figure curvesFigure(const CurvesFigureInput &in)
{
    Figure f;
    FigureRow row;
    // The figure's line width, whatever the screen's was (1 px lines are hairlines on paper).
    std::vector<CurveSeries> series = in.series;
    for (CurveSeries &s : series)
        s.width = kCurveWidth;
    // Taller with every legend entry (one a row in a single column): the axes keep their size.
    row.panels.push_back(
        plotPanel(1.6 / (1.0 + 0.057 * double(in.series.size())), [in, series](QCustomPlot &plot) {
            drawCurves(&plot, series, in.logit, in.title, in.features);
        }));
    row.maxHeight = kMaxPlot + 14.0 * double(in.series.size()); // with its legend
    f.rows.push_back(std::move(row));
    f.caption = in.caption;
    return f;
}

QString curvesCaption(int steps)
{
    return QStringLiteral("Deletion: the lower the AUC, the better the ranking; insertion: the "
                          "higher, the better (%1 steps).")
        .arg(steps);
}

Figure sanityFigure(const SanityFigureInput &in)
{
    Figure f;
    const SanityResult &r = in.result;
    std::vector<Panel> strip;
    MapColours colours = in.colours;
    if (colorMapDiverging(colours.map))
        colours.map = ColorMapId::Viridis;
    Panel original = imagePanel(colourMap(in.image, r.original, false, colours, 0.0, nullptr, true),
                                QStringLiteral("original"));
    original.note = QStringLiteral("\u03c1 1.00");
    strip.push_back(std::move(original));
    for (size_t i = 0; i < r.steps.size(); ++i) {
        const SanityStep &s = r.steps[i];
        Panel p = imagePanel(colourMap(in.image, s.map, false, colours, 0.0, nullptr, true),
                             QStringLiteral("step %1").arg(i + 1));
        p.note = QStringLiteral("\u03c1 %1").arg(number(s.spearmanAbs, 2));
        strip.push_back(std::move(p));
    }
    // At most six a row: a deep network's strip wraps.
    constexpr size_t kPerRow = 6;
    for (size_t start = 0; start < strip.size(); start += kPerRow) {
        FigureRow row;
        for (size_t i = start; i < std::min(strip.size(), start + kPerRow); ++i)
            row.panels.push_back(strip[i]);
        // Rows of fewer panels keep the size of the full ones.
        if (strip.size() > kPerRow)
            row.widthShare = double(row.panels.size()) / kPerRow;
        f.rows.push_back(std::move(row));
    }
    FigureRow plotRow;
    const auto similarities = [r](QCustomPlot &plot) {
        placeLegendBelow(&plot); // before the graphs: their entries fill it two a row
        struct Line
        {
            QString name;
            double SanityStep::*value;
        };
        const Line lines[] = {{QStringLiteral("Spearman |maps|"), &SanityStep::spearmanAbs},
                              {QStringLiteral("SSIM"), &SanityStep::ssim},
                              {QStringLiteral("HOG Pearson"), &SanityStep::hogPearson}};
        int k = 0;
        for (const Line &line : lines) {
            QVector<double> xs = {0.0}, ys = {1.0};
            for (size_t i = 0; i < r.steps.size(); ++i) {
                xs << double(i + 1);
                ys << r.steps[i].*line.value;
            }
            QCPGraph *g = plot.addGraph();
            g->setData(xs, ys, true);
            g->setPen(QPen(seriesColour(k++), 1.0));
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 2.5));
            g->setName(line.name);
        }
        QCPGraph *threshold = plot.addGraph();
        threshold->setData(QVector<double>{0.0, double(r.steps.size())},
                           QVector<double>{r.threshold, r.threshold});
        threshold->setPen(QPen(controlColour(), 0.8, Qt::DashLine));
        threshold->setName(QStringLiteral("threshold %1").arg(number(r.threshold, 2)));
        plot.xAxis->setLabel(QStringLiteral("randomisation step (%1)").arg(qs(r.mode)));
        plot.yAxis->setLabel(QStringLiteral("similarity to original"));
        plot.xAxis->setRange(-0.2, double(r.steps.size()) + 0.2);
        // Every value inside the axes: SVG has no clipping (Qt's generator drops it), so a line
        // beyond the range would run over the caption.
        double low = -0.2;
        for (const SanityStep &step : r.steps)
            for (double v : {step.spearmanAbs, step.ssim, step.hogPearson})
                if (std::isfinite(v))
                    low = std::min(low, v - 0.05);
        plot.yAxis->setRange(low, 1.05);
        QSharedPointer<QCPAxisTickerFixed> ticker(new QCPAxisTickerFixed);
        ticker->setTickStep(1.0);
        plot.xAxis->setTicker(ticker);
    };
    plotRow.panels.push_back(plotPanel(1.7, similarities));
    plotRow.maxHeight = kMaxPlot;
    f.rows.push_back(std::move(plotRow));
    QStringList steps;
    for (size_t i = 0; i < r.steps.size(); ++i)
        steps << QStringLiteral("%1 %2").arg(i + 1).arg(qs(r.steps[i].label));
    f.caption =
        QStringLiteral("%1 \u00b7 %2, %3 randomisation (\u03c1: Spearman of |maps| with "
                       "the original). Steps: %4. Verdict: %5.")
            .arg(in.model, in.method, qs(r.mode), steps.join(QStringLiteral(", ")), qs(r.verdict));
    return f;
}

Figure uncertaintyFigure(const UncertaintyFigureInput &in)
{
    Figure f;
    const UncertaintyResult &r = in.result;
    FigureRow maps;
    double scale = 0.0;
    Panel mean = imagePanel(colourMap(in.image, r.mean, r.signedMap, in.colours, 0.0, &scale, true),
                            QStringLiteral("mean"));
    mean.bar = barFor(r.signedMap, scale, in.colours, {});
    maps.panels.push_back(std::move(mean));
    const double stdTop = percentileOfAbs(r.stdDev, in.colours.clipPercentile);
    Panel sd =
        imagePanel(rangeMap(r.stdDev, 0.0, stdTop, ColorMapId::Viridis), QStringLiteral("std"));
    sd.bar = ColourBar{ColorMapId::Viridis, 0.0, stdTop, {}};
    maps.panels.push_back(std::move(sd));
    constexpr double kCvTop = 2.0;
    Panel cv = imagePanel(rangeMap(r.cv, 0.0, kCvTop, ColorMapId::Viridis),
                          QStringLiteral("CV (grey: undefined)"));
    cv.bar = ColourBar{ColorMapId::Viridis, 0.0, kCvTop, {}};
    maps.panels.push_back(std::move(cv));
    f.rows.push_back(std::move(maps));
    if (in.curves && !in.curves->samples.fractions.empty()) {
        const UncertaintyCurves c = *in.curves;
        FigureRow row;
        const auto bands = [c](QCustomPlot &plot) {
            placeLegendBelow(&plot); // before the graphs: their entries fill it two a row
            drawBand(&plot, c.samples, seriesColour(0), QStringLiteral("sample maps"));
            drawBand(&plot, c.rankedMap, seriesColour(1),
                     QStringLiteral("%1 map, sampled models").arg(qs(c.ranking)), Qt::DashLine);
            QCPGraph *g = plot.addGraph();
            g->setData(
                QVector<double>(c.deterministic.fractions.begin(), c.deterministic.fractions.end()),
                QVector<double>(c.deterministic.probabilities.begin(),
                                c.deterministic.probabilities.end()),
                true);
            g->setPen(QPen(controlColour(), 1.0, Qt::DotLine));
            g->setName(QStringLiteral("%1 map, model as given AUC %2")
                           .arg(qs(c.ranking), number(c.deterministic.aucProbability)));
            plot.xAxis->setLabel(QStringLiteral("fraction of pixels deleted"));
            plot.yAxis->setLabel(QStringLiteral("target probability"));
            plot.xAxis->setRange(0, 1);
            plot.yAxis->setRange(0, 1);
            for (int i = 0; i < plot.graphCount(); ++i) { // the screen's 2 px are heavy on paper
                QPen pen = plot.graph(i)->pen();
                if (pen.style() != Qt::NoPen && pen.widthF() > kCurveWidth)
                    pen.setWidthF(kCurveWidth);
                plot.graph(i)->setPen(pen);
            }
        };
        row.panels.push_back(plotPanel(1.5, bands));
        row.maxHeight = kMaxPlot;
        f.rows.push_back(std::move(row));
    }
    f.caption = QStringLiteral("%1 \u00b7 %2 under %3, T = %4: mean CV %5 (%6% undefined), "
                               "rank stability %7, top-k IoU %8; prediction flip rate %9.")
                    .arg(in.model, in.method, in.source)
                    .arg(r.samples)
                    .arg(number(r.meanCv), number(100.0 * r.undefinedCvFraction, 1),
                         number(r.rankStability), number(r.topIoU), number(r.prediction.flipRate));
    return f;
}

Figure groupsFigure(const GroupsFigureInput &in)
{
    Figure f;
    const Grouping &g = in.grouping;
    const GroupInteractions &e = in.interactions;
    const int p = e.players;
    // Pair values within the float precision of the game's values are numerically zero (an
    // additive model's interactions): shown as 0, not as the colours and lines of rounding noise.
    const double precision = 1e-5 * std::max({std::abs(e.fullValue), std::abs(e.emptyValue), 1.0});
    auto pairValue = [&e, precision](int i, int j) {
        const double v = e.pair(i, j);
        return std::abs(v) <= precision ? 0.0 : v;
    };
    double maxSingle = 0.0, maxPair = 0.0;
    for (double v : e.singles)
        maxSingle = std::max(maxSingle, std::abs(v));
    for (const auto &[i, j] : e.estimatedPairs)
        maxPair = std::max(maxPair, std::abs(pairValue(i, j)));
    // The tinted image with outlines, enlarged so that outlines stay thin.
    const int factor = enlargement(g.labels.size());
    const cv::Mat labels = enlarged(g.labels, factor);
    cv::Mat rgb = enlarged(toRgb8(in.image), factor).clone();
    for (int r = 0; r < rgb.rows; ++r)
        for (int c = 0; c < rgb.cols; ++c) {
            const int k = labels.at<int>(r, c);
            auto &px = rgb.at<cv::Vec3b>(r, c);
            if ((c + 1 < rgb.cols && labels.at<int>(r, c + 1) != k) ||
                (r + 1 < rgb.rows && labels.at<int>(r + 1, c) != k)) {
                px = cv::Vec3b(40, 40, 40);
                continue;
            }
            if (k < 0 || size_t(k) >= e.singles.size())
                continue;
            const double v = e.singles[size_t(k)];
            const double a = maxSingle > 0 ? 0.2 + 0.55 * std::abs(v) / maxSingle : 0.0;
            const QColor colour = divergingColour(v, maxSingle);
            const cv::Vec3b tint(uchar(colour.red()), uchar(colour.green()), uchar(colour.blue()));
            for (int ch = 0; ch < 3; ++ch)
                px[ch] = cv::saturate_cast<uchar>((1 - a) * px[ch] + a * tint[ch]);
        }
    // The strongest pairs among those estimated.
    std::vector<std::pair<int, int>> pairs;
    for (const auto &pair : e.estimatedPairs)
        if (pairValue(pair.first, pair.second) != 0.0)
            pairs.push_back(pair);
    std::stable_sort(pairs.begin(), pairs.end(), [&](const auto &a, const auto &b) {
        return std::abs(e.pair(a.first, a.second)) > std::abs(e.pair(b.first, b.second));
    });
    if (pairs.size() > size_t(std::max(0, in.topPairs)))
        pairs.resize(size_t(std::max(0, in.topPairs)));
    const std::vector<cv::Point2f> centres = g.centroids();
    Panel image = imagePanel(rgbImage(rgb), QStringLiteral("groups and strongest pairs"));
    const double strongest =
        pairs.empty() ? 0.0 : std::abs(e.pair(pairs[0].first, pairs[0].second));
    image.overlay = [centres, pairs, e, strongest, factor](QPainter &painter, const QRectF &rect,
                                                           double scale) {
        auto at = [&](int k) {
            const cv::Point2f c = centres[size_t(k)];
            return QPointF(rect.left() + (c.x + 0.5) * factor * scale,
                           rect.top() + (c.y + 0.5) * factor * scale);
        };
        for (const auto &[i, j] : pairs) {
            const double v = e.pair(i, j);
            const double w = strongest > 0 ? 0.4 + 2.0 * std::abs(v) / strongest : 1.0;
            painter.setPen(QPen(v >= 0 ? QColor(180, 4, 38) : QColor(59, 76, 192), w, Qt::SolidLine,
                                Qt::RoundCap));
            painter.drawLine(at(i), at(j));
        }
        const QFontMetricsF fm(painter.font());
        for (int k = 0; k < int(centres.size()); ++k) {
            const QString text = QString::number(k);
            const QSizeF size(fm.horizontalAdvance(text) + 1.5, fm.height());
            const QRectF box(at(k) - QPointF(size.width() / 2, size.height() / 2), size);
            painter.setPen(Qt::NoPen);
            painter.setBrush(QColor(255, 255, 255, 190));
            painter.drawRoundedRect(box, 1.0, 1.0);
            painter.setPen(Qt::black);
            painter.drawText(box, Qt::AlignCenter, text);
        }
    };
    image.bar =
        ColourBar{ColorMapId::CoolWarm, -maxSingle, maxSingle, QStringLiteral("group attribution")};
    Panel matrix;
    matrix.kind = Panel::Kind::Painted;
    matrix.title = QStringLiteral("pair interactions");
    matrix.aspect = 1.0;
    MatrixData data;
    data.n = p;
    data.range = maxPair;
    data.values.assign(size_t(p * p), std::numeric_limits<double>::quiet_NaN());
    for (const auto &[i, j] : e.estimatedPairs) {
        data.values[size_t(i * p + j)] = pairValue(i, j);
        data.values[size_t(j * p + i)] = pairValue(i, j);
    }
    matrix.paint = [data](QPainter &painter, const QRectF &rect) {
        paintMatrix(painter, rect, data);
    };
    matrix.bar =
        ColourBar{ColorMapId::CoolWarm, -maxPair, maxPair, QStringLiteral("pair interaction")};
    FigureRow row;
    row.panels.push_back(std::move(image));
    row.panels.push_back(std::move(matrix));
    f.rows.push_back(std::move(row));
    const QString lines =
        pairs.empty()
            ? QStringLiteral("no pair interacts beyond the precision of the values (%1)")
                  .arg(precision, 0, 'g', 2)
            : QStringLiteral("lines: the %1 strongest pairs (red positive, blue negative, width "
                             "|value|); |pair| below %2 shown as 0")
                  .arg(pairs.size())
                  .arg(precision, 0, 'g', 2);
    f.caption = QStringLiteral("%1 \u00b7 class %2 \u00b7 %3; %4 (%5), %6 calls. v(all) %7, "
                               "v(none) %8; %9.")
                    .arg(in.model, in.target, qs(g.description), qs(e.estimator), qs(e.index))
                    .arg(e.calls)
                    .arg(number(e.fullValue), number(e.emptyValue), lines);
    return f;
}

} // namespace heatlens::ui
