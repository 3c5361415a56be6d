// Groupings of an image's pixels (core/groups/Grouping): a regular grid with its known sizes and
// adjacency, superpixels (SLIC, SLICO, SEEDS, LSC, Felzenszwalb) that honour the requested count
// within 10%, are deterministic and form valid label maps with a symmetric adjacency graph,
// transformer tokens and a by-design model's groups from their cards, and parse errors that name
// the text.
#include "core/groups/GridCells.h"
#include "core/groups/Grouping.h"
#include "core/model/ModelCard.h"

#include <QTest>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <set>

using namespace heatlens;

namespace {

// A 224 x 224 RGB scene: shapes of several colours over a noisy gradient (texture for SEEDS).
cv::Mat scene(int side = 224)
{
    cv::Mat image(side, side, CV_8UC3);
    cv::RNG rng(3);
    for (int y = 0; y < side; ++y)
        for (int x = 0; x < side; ++x)
            image.at<cv::Vec3b>(y, x) =
                cv::Vec3b(uchar(x * 255 / side), uchar(y * 255 / side), uchar(128));
    cv::circle(image, {side / 3, side / 3}, side / 6, cv::Scalar(220, 40, 40), -1);
    cv::rectangle(image, {side / 2, side / 2}, {side * 9 / 10, side * 8 / 10},
                  cv::Scalar(30, 200, 60), -1);
    cv::Mat noise(image.size(), CV_8UC3);
    rng.fill(noise, cv::RNG::UNIFORM, 0, 20);
    return image + noise;
}

void checkValid(const Grouping &g)
{
    QVERIFY(g.labels.type() == CV_32SC1);
    std::set<int> seen(g.labels.begin<int>(), g.labels.end<int>());
    QCOMPARE(int(seen.size()), g.count);
    QCOMPARE(*seen.begin(), 0);
    QCOMPARE(*seen.rbegin(), g.count - 1);
    for (const auto &[a, b] : g.adjacent) {
        QVERIFY(a < b && a >= 0 && b < g.count);
    }
    // Every listed pair touches somewhere and every touching pair is listed.
    std::set<std::pair<int, int>> touching;
    for (int y = 0; y < g.labels.rows; ++y)
        for (int x = 0; x + 1 < g.labels.cols; ++x)
            if (g.labels.at<int>(y, x) != g.labels.at<int>(y, x + 1))
                touching.insert(std::minmax(g.labels.at<int>(y, x), g.labels.at<int>(y, x + 1)));
    for (int y = 0; y + 1 < g.labels.rows; ++y)
        for (int x = 0; x < g.labels.cols; ++x)
            if (g.labels.at<int>(y, x) != g.labels.at<int>(y + 1, x))
                touching.insert(std::minmax(g.labels.at<int>(y, x), g.labels.at<int>(y + 1, x)));
    const std::set<std::pair<int, int>> listed(g.adjacent.begin(), g.adjacent.end());
    QVERIFY(listed == touching);
}

} // namespace

class GroupingsTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void gridHasKnownSizesAndNeighbours()
    {
        const Grouping g = gridGrouping({28, 28}, 4, 4);
        checkValid(g);
        QCOMPARE(g.count, 16);
        QCOMPARE(int(g.adjacent.size()), 2 * 4 * 3);
        for (int n : g.sizes())
            QCOMPARE(n, 49);
        QCOMPARE(g.labels.at<int>(27, 27), 15);
        const auto c = g.centroids();
        QVERIFY(std::abs(c[0].x - 3.0f) < 1e-5 && std::abs(c[0].y - 3.0f) < 1e-5);
    }

    void unevenGridsPutTheirEdgesWhereTheCellsOfOcclusionAndTheCurvesHaveThem()
    {
        // 10 rows in 3 cells: edges at floor(i * 10 / 3) = 0, 3, 6, 10 (rows 3 and 6 start a
        // cell), exactly the regions of gridCells.
        const Grouping g = gridGrouping({7, 10}, 3, 2);
        checkValid(g);
        const auto cells = gridCells(10, 7, 3, 2);
        QCOMPARE(int(cells.size()), g.count);
        for (size_t k = 0; k < cells.size(); ++k)
            for (int y = cells[k].r0; y < cells[k].r1; ++y)
                for (int x = cells[k].c0; x < cells[k].c1; ++x)
                    QCOMPARE(g.labels.at<int>(y, x), int(k));
        QCOMPARE(g.labels.at<int>(3, 0), 2); // the first row of the second cell row
    }

    void superpixelsHonourTheCountAndAreDeterministic_data()
    {
        QTest::addColumn<QString>("method");
        for (const char *m : {"slic", "slico", "seeds", "lsc", "felzenszwalb", "scansegment"})
            QTest::newRow(m) << QString(m);
    }

    void superpixelsHonourTheCountAndAreDeterministic()
    {
        QFETCH(QString, method);
        const cv::Mat image = scene();
        for (int wanted : {16, 49, 100}) {
            GroupingOptions o;
            o.method = method.toStdString();
            o.groups = wanted;
            const Grouping g = makeGrouping(image, o);
            checkValid(g);
            QVERIFY2(std::abs(g.count - wanted) <= 0.1 * wanted,
                     qPrintable(QString::fromStdString(g.description)));
            const Grouping again = makeGrouping(image, o);
            QCOMPARE(cv::countNonZero(g.labels != again.labels), 0);
        }
    }

    void aNoisyDarkImageStillGetsTheCountAsked()
    {
        // Uniform noise over a dark background (the benchmark's scene): SLIC keeps fragments at
        // every region size (56 for 49 asked); the smallest are merged into their neighbours.
        cv::Mat image(224, 224, CV_8UC3);
        cv::RNG rng(3);
        rng.fill(image, cv::RNG::UNIFORM, 0, 40);
        cv::circle(image, {74, 74}, 37, cv::Scalar(220, 40, 40), -1);
        cv::rectangle(image, {112, 112}, {201, 179}, cv::Scalar(30, 200, 60), -1);
        for (const char *method :
             {"slic", "slico", "seeds", "lsc", "felzenszwalb", "scansegment"}) {
            GroupingOptions o;
            o.method = method;
            o.groups = 49;
            const Grouping g = makeGrouping(image, o);
            checkValid(g);
            QVERIFY2(std::abs(g.count - 49) <= 4,
                     qPrintable(QString::fromStdString(g.description)));
            const Grouping again = makeGrouping(image, o);
            QCOMPARE(cv::countNonZero(g.labels != again.labels), 0);
        }
    }

    void smallImagesGetSuperpixelsToo()
    {
        // A Fashion-MNIST-sized input (28 x 28, one channel).
        cv::Mat image = cv::Mat::zeros(28, 28, CV_8UC1);
        cv::circle(image, {14, 14}, 9, cv::Scalar(200), -1);
        GroupingOptions o;
        o.method = "slico";
        o.groups = 16;
        const Grouping g = makeGrouping(image, o);
        checkValid(g);
        QVERIFY2(std::abs(g.count - 16) <= 2, qPrintable(QString::fromStdString(g.description)));
    }

    void tokensAndModelGroupsComeFromTheCard()
    {
        ModelCard card;
        card.patchGridHeight = card.patchGridWidth = 4;
        const Grouping tokens = makeGrouping(scene(28), parseGrouping("tokens"), &card);
        QCOMPARE(tokens.count, 16);
        QCOMPARE(tokens.method, std::string("tokens"));
        card.groupGridRows = card.groupGridCols = 4;
        QCOMPARE(makeGrouping(scene(28), parseGrouping("model"), &card).count, 16);
        ModelCard none;
        try {
            makeGrouping(scene(28), parseGrouping("tokens"), &none);
            QFAIL("no error");
        } catch (const std::invalid_argument &e) {
            QVERIFY(QString(e.what()).contains("patch_grid"));
        }
    }

    void groupingTextsParseOrSayWhy()
    {
        QCOMPARE(parseGrouping("grid:4").groups, 16);
        QCOMPARE(parseGrouping("slic:49").method, std::string("slic"));
        QCOMPARE(parseGrouping("felzenszwalb:30").groups, 30);
        for (const char *bad : {"quickshift:10", "slic", "slic:x", "grid:0"})
            QVERIFY_THROWS_EXCEPTION(std::invalid_argument, parseGrouping(bad));
        try {
            parseGrouping("quickshift:10");
        } catch (const std::invalid_argument &e) {
            QVERIFY(QString(e.what()).contains("\"quickshift:10\"") &&
                    QString(e.what()).contains("felzenszwalb"));
        }
    }
};

QTEST_GUILESS_MAIN(GroupingsTest)
#include "test_groupings.moc"
