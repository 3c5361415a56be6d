#include "core/render/ColorMap.h"

#include <QTest>

#include <opencv2/core.hpp>

#include <cmath>
#include <limits>

using namespace heatlens;

namespace {

cv::Mat row(const std::vector<float> &values)
{
    return cv::Mat(values, true).reshape(1, 1);
}

float valueAt(const cv::Mat &m, int i)
{
    return m.at<float>(0, i);
}

int maxChannelDifference(const cv::Mat &a, const cv::Mat &b)
{
    cv::Mat diff;
    cv::absdiff(a, b, diff);
    double maxValue = 0;
    cv::minMaxLoc(diff.reshape(1), nullptr, &maxValue);
    return int(maxValue);
}

} // namespace

class RenderTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void everyMapHasA256EntryRgbLut()
    {
        QCOMPARE(colorMaps().size(), size_t(8));
        for (const auto &info : colorMaps()) {
            const cv::Mat lut = colorMapLut(info.id);
            QCOMPARE(lut.type(), CV_8UC3);
            QCOMPARE(lut.size(), cv::Size(256, 1));
        }
    }

    void mapNamesRoundTripAndUnknownNamesThrowNamingTheValue()
    {
        for (const auto &info : colorMaps())
            QCOMPARE(int(colorMapFromName(info.name)), int(info.id));
        QCOMPARE(int(colorMapFromName("CoolWarm")), int(ColorMapId::CoolWarm));
        try {
            colorMapFromName("rainbow-unicorn");
            QFAIL("no exception for an unknown colour map");
        } catch (const std::exception &e) {
            QVERIFY(std::string(e.what()).find("rainbow-unicorn") != std::string::npos);
        }
    }

    void sequentialLutsAreInRgbOrderNotOpenCvsBgr()
    {
        const cv::Mat viridis = colorMapLut(ColorMapId::Viridis);
        QVERIFY(viridis.at<cv::Vec3b>(0, 0)[2] > viridis.at<cv::Vec3b>(0, 0)[0]);     // dark purple
        QVERIFY(viridis.at<cv::Vec3b>(0, 255)[0] > viridis.at<cv::Vec3b>(0, 255)[2]); // yellow
        const cv::Mat jet = colorMapLut(ColorMapId::Jet);
        QVERIFY(jet.at<cv::Vec3b>(0, 255)[0] > 100 && jet.at<cv::Vec3b>(0, 255)[2] < 50); // red end
        const cv::Mat gray = colorMapLut(ColorMapId::Gray);
        QCOMPARE(gray.at<cv::Vec3b>(0, 77), cv::Vec3b(77, 77, 77));
    }

    void divergingMapsAreNeutralAtEntry128AndBlueToRed()
    {
        const cv::Mat coolWarm = colorMapLut(ColorMapId::CoolWarm);
        QCOMPARE(coolWarm.at<cv::Vec3b>(0, 128), cv::Vec3b(221, 221, 221));
        QCOMPARE(coolWarm.at<cv::Vec3b>(0, 0), cv::Vec3b(59, 76, 192));
        QCOMPARE(coolWarm.at<cv::Vec3b>(0, 255), cv::Vec3b(180, 4, 38));
        const cv::Mat bwr = colorMapLut(ColorMapId::Bwr);
        QCOMPARE(bwr.at<cv::Vec3b>(0, 128), cv::Vec3b(255, 255, 255));
        QCOMPARE(bwr.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 255));
        QCOMPARE(bwr.at<cv::Vec3b>(0, 255), cv::Vec3b(255, 0, 0));
        const cv::Vec3b nearCentre = bwr.at<cv::Vec3b>(0, 127);
        QVERIFY(nearCentre[0] > 240 && nearCentre[2] == 255);
    }

    void normalizeMapClipsAtThePercentileOfAbsoluteValues()
    {
        std::vector<float> values(101);
        for (int i = 0; i <= 100; ++i)
            values[size_t(i)] = float(i);
        cv::Mat out;
        const double scale = normalizeMap(row(values), Normalization{false, 90.0, 0.0}, out);
        QCOMPARE(scale, 90.0);
        QCOMPARE(out.type(), CV_32FC1);
        QCOMPARE(valueAt(out, 45), 0.5f);
        QCOMPARE(valueAt(out, 90), 1.0f);
        QCOMPARE(valueAt(out, 100), 1.0f); // clipped
        QCOMPARE(normalizeMap(row(values), Normalization{false, 100.0, 0.0}, out), 100.0);
        QCOMPARE(normalizeMap(row({0, 10, 20, 30}), Normalization{false, 50.0, 0.0}, out), 15.0);
    }

    void signedNormalizationKeepsTheSignWithinMinusOneToOne()
    {
        std::vector<float> values;
        for (int i = -100; i <= 100; ++i)
            values.push_back(float(i));
        cv::Mat out;
        const double scale = normalizeMap(row(values), Normalization{true, 50.0, 0.0}, out);
        QCOMPARE(scale, 50.0);
        QCOMPARE(valueAt(out, 75), -0.5f); // -25
        QCOMPARE(valueAt(out, 100), 0.0f); // 0
        QCOMPARE(valueAt(out, 0), -1.0f);  // -100, clipped
        QCOMPARE(valueAt(out, 200), 1.0f); // 100, clipped
    }

    void sharedScaleOverridesThePercentile()
    {
        cv::Mat out;
        const double scale = normalizeMap(row({-4, 2, 8}), Normalization{true, 99.0, 4.0}, out);
        QCOMPARE(scale, 4.0);
        QCOMPARE(valueAt(out, 0), -1.0f);
        QCOMPARE(valueAt(out, 1), 0.5f);
        QCOMPARE(valueAt(out, 2), 1.0f);
    }

    void signedMapShownUnsignedUsesMinToClipRange()
    {
        cv::Mat out;
        const double scale =
            normalizeMap(row({-2, 0, 2, 6}), Normalization{false, 100.0, 0.0}, out);
        QCOMPARE(scale, 6.0);
        QCOMPARE(valueAt(out, 0), 0.0f);
        QCOMPARE(valueAt(out, 1), 0.25f);
        QCOMPARE(valueAt(out, 2), 0.5f);
        QCOMPARE(valueAt(out, 3), 1.0f);
    }

    void nanIsIgnoredByThePercentileAndShownAsZero()
    {
        const float nan = std::numeric_limits<float>::quiet_NaN();
        cv::Mat out;
        const double scale =
            normalizeMap(row({nan, 1, 2, 4, nan}), Normalization{false, 100, 0}, out);
        QCOMPARE(scale, 4.0);
        QCOMPARE(valueAt(out, 0), 0.0f);
        QCOMPARE(valueAt(out, 2), 0.5f);
        QCOMPARE(valueAt(out, 4), 0.0f);
    }

    void constantZeroMapGivesZerosAndScaleOneWithoutDividingByZero()
    {
        cv::Mat out;
        const double scale = normalizeMap(cv::Mat::zeros(5, 7, CV_64F), Normalization{}, out);
        QCOMPARE(scale, 1.0);
        QCOMPARE(out.size(), cv::Size(7, 5));
        QCOMPARE(cv::countNonZero(out), 0);
        const float nan = std::numeric_limits<float>::quiet_NaN();
        QCOMPARE(normalizeMap(row({nan, nan}), Normalization{true, 99, 0}, out), 1.0);
        QVERIFY(!std::isnan(valueAt(out, 0)));
    }

    void colorizePicksLutEntriesForEndsAndCentre()
    {
        const float nan = std::numeric_limits<float>::quiet_NaN();
        const cv::Mat coolWarm = colorMapLut(ColorMapId::CoolWarm);
        const cv::Mat diverging = colorize(row({-1, 0, 1, nan, 5}), ColorMapId::CoolWarm);
        QCOMPARE(diverging.type(), CV_8UC3);
        QCOMPARE(diverging.at<cv::Vec3b>(0, 0), coolWarm.at<cv::Vec3b>(0, 0));
        QCOMPARE(diverging.at<cv::Vec3b>(0, 1), coolWarm.at<cv::Vec3b>(0, 128));
        QCOMPARE(diverging.at<cv::Vec3b>(0, 2), coolWarm.at<cv::Vec3b>(0, 255));
        QCOMPARE(diverging.at<cv::Vec3b>(0, 3), coolWarm.at<cv::Vec3b>(0, 128)); // NaN as 0
        QCOMPARE(diverging.at<cv::Vec3b>(0, 4), coolWarm.at<cv::Vec3b>(0, 255)); // clamped
        const cv::Mat inferno = colorMapLut(ColorMapId::Inferno);
        const cv::Mat sequential = colorize(row({0, 0.5f, 1}), ColorMapId::Inferno);
        QCOMPARE(sequential.at<cv::Vec3b>(0, 0), inferno.at<cv::Vec3b>(0, 0));
        QCOMPARE(sequential.at<cv::Vec3b>(0, 1), inferno.at<cv::Vec3b>(0, 128));
        QCOMPARE(sequential.at<cv::Vec3b>(0, 2), inferno.at<cv::Vec3b>(0, 255));
    }

    void overlayWithAlphaZeroIsTheImageAndAlphaOneTheHeatmap()
    {
        cv::Mat image(6, 8, CV_8UC3);
        cv::randu(image, 0, 256);
        cv::Mat heat(6, 8, CV_8UC3);
        cv::randu(heat, 0, 256);
        QCOMPARE(maxChannelDifference(overlayHeatmap(image, heat, 0.0), image), 0);
        QCOMPARE(maxChannelDifference(overlayHeatmap(image, heat, 1.0), heat), 0);
        const cv::Mat half = overlayHeatmap(cv::Mat(6, 8, CV_8UC3, cv::Scalar(100, 100, 100)),
                                            cv::Mat(6, 8, CV_8UC3, cv::Scalar(200, 0, 50)), 0.5);
        QCOMPARE(half.at<cv::Vec3b>(5, 7), cv::Vec3b(150, 50, 75));
    }

    void overlayEnlargesSmallImagesWithNearestNeighbour()
    {
        cv::Mat small = (cv::Mat_<uchar>(2, 2) << 0, 255, 255, 0);
        const cv::Mat heat(4, 4, CV_8UC3, cv::Scalar(9, 9, 9));
        const cv::Mat out = overlayHeatmap(small, heat, 0.0);
        QCOMPARE(out.size(), cv::Size(4, 4));
        QCOMPARE(out.type(), CV_8UC3);
        QCOMPARE(out.at<cv::Vec3b>(0, 1), cv::Vec3b(0, 0, 0));
        QCOMPARE(out.at<cv::Vec3b>(1, 2), cv::Vec3b(255, 255, 255));
        QCOMPARE(out.at<cv::Vec3b>(3, 3), cv::Vec3b(0, 0, 0));
        const cv::Mat shrunk = overlayHeatmap(cv::Mat(8, 8, CV_8UC1, cv::Scalar(40)), heat, 0.0);
        QCOMPARE(shrunk.at<cv::Vec3b>(2, 2), cv::Vec3b(40, 40, 40));
    }

    void toRgb8ScalesSixteenBitReplicatesGrayAndDropsAlpha()
    {
        const cv::Mat deep = toRgb8(cv::Mat(2, 2, CV_16UC1, cv::Scalar(257 * 200)));
        QCOMPARE(deep.type(), CV_8UC3);
        QCOMPARE(deep.at<cv::Vec3b>(1, 1), cv::Vec3b(200, 200, 200));
        const cv::Mat rgba = toRgb8(cv::Mat(2, 2, CV_8UC4, cv::Scalar(10, 20, 30, 0)));
        QCOMPARE(rgba.type(), CV_8UC3);
        QCOMPARE(rgba.at<cv::Vec3b>(0, 0), cv::Vec3b(10, 20, 30));
        const cv::Mat deepRgb = toRgb8(cv::Mat(1, 1, CV_16UC3, cv::Scalar(0, 257, 65535)));
        QCOMPARE(deepRgb.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 1, 255));
        const cv::Mat source(1, 1, CV_8UC3, cv::Scalar(1, 2, 3));
        QVERIFY(toRgb8(source).data != source.data); // a copy, not an alias of the sample
        QVERIFY(toRgb8(cv::Mat()).empty());
    }
};

QTEST_APPLESS_MAIN(RenderTest)
#include "test_render.moc"
