// Times what the Curves tab does on the GUI thread for the heaviest plot a person can ask for
// (every method overlaid: 22 maps x deletion and insertion = 44 graphs, 500 steps), offscreen at
// the tab's size: building the graphs (drawCurves) and one replot, while the points stream
// (every graph partial, drawn without antialiasing) and once complete (antialiased). The target
// is one frame, 16 ms, for both together. Prints milliseconds (best of --repeat) and the
// ratio streaming / complete.
//   QT_QPA_PLATFORM=offscreen build/tests/bench/bench_curve_plot [--repeat N] [--maps M]
//       [--steps S] [--width PIXELS]

#include "ui/figure/CurvePlot.h"

#include <QApplication>
#include <QElapsedTimer>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>

using namespace heatlens;
using namespace heatlens::ui;

namespace {

// A deletion-like (falling) or insertion-like (rising) curve with noise, `steps` + 1 points.
Curve syntheticCurve(int steps, bool falling, std::mt19937 &random)
{
    std::normal_distribution<double> noise(0.0, 0.02);
    Curve curve;
    for (int k = 0; k <= steps; ++k) {
        const double f = double(k) / steps;
        const double p = std::clamp(
            (falling ? std::exp(-4.0 * f) : 1.0 - std::exp(-4.0 * f)) + noise(random), 0.0, 1.0);
        curve.fractions.push_back(f);
        curve.probabilities.push_back(p);
        curve.logits.push_back(std::log(std::max(p, 1e-6) / std::max(1.0 - p, 1e-6)));
    }
    curve.aucProbability = 0.5;
    curve.aucLogit = 0.0;
    return curve;
}

// Best of `repeat` runs of `fn`, after one warm-up run, in milliseconds.
double bestMs(const std::function<void()> &fn, int repeat)
{
    fn();
    double best = 1e30;
    for (int i = 0; i < repeat; ++i) {
        QElapsedTimer clock;
        clock.start();
        fn();
        best = std::min(best, double(clock.nsecsElapsed()) / 1e6);
    }
    return best;
}

} // namespace

int main(int argc, char **argv)
{
    int repeat = 10, maps = 22, steps = 500;
    double width = 2.0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--repeat"))
            repeat = std::max(1, std::atoi(argv[i + 1]));
        else if (!std::strcmp(argv[i], "--maps"))
            maps = std::max(1, std::atoi(argv[i + 1]));
        else if (!std::strcmp(argv[i], "--steps"))
            steps = std::max(1, std::atoi(argv[i + 1]));
        else if (!std::strcmp(argv[i], "--width"))
            width = std::atof(argv[i + 1]);
    }
    QApplication app(argc, argv);
    std::mt19937 random(7);
    std::vector<CurveSeries> series;
    for (int m = 0; m < maps; ++m)
        for (bool deletion : {true, false}) {
            CurveSeries s;
            s.label =
                QStringLiteral("method %1  %2").arg(m).arg(deletion ? "deletion" : "insertion");
            s.colour = seriesColour(m);
            s.style = deletion ? Qt::SolidLine : Qt::DashLine;
            s.curve = syntheticCurve(steps, deletion, random);
            s.width = width;
            series.push_back(std::move(s));
        }
    QCustomPlot plot;
    plot.resize(900, 620); // the Curves tab's plot in a 1500 x 950 window
    std::printf("Curve plot: %d maps x 2 modes = %zu graphs of %d points, lines %g px, %d x %d "
                "pixels\n",
                maps, series.size(), steps + 1, width, plot.width(), plot.height());
    for (bool complete : {false, true}) {
        for (auto &s : series)
            s.partial = !complete;
        plot.setNotAntialiasedElements(complete ? QCP::aeNone : QCP::aePlottables);
        const double build = bestMs(
            [&] {
                drawCurves(&plot, series, false, QStringLiteral("title"), QStringLiteral("pixels"),
                           QCustomPlot::rpQueuedReplot);
            },
            repeat);
        const double replot = bestMs([&] { plot.replot(QCustomPlot::rpImmediateRefresh); }, repeat);
        std::printf("  %-9s build %6.2f ms, replot %6.2f ms, together %6.2f ms (target 16)\n",
                    complete ? "complete" : "streaming", build, replot, build + replot);
    }
    return 0;
}
