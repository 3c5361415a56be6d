#include "core/groups/GroupFigures.h"

#include "core/render/ColorMap.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace heatlens {

namespace {

// The image and its labels enlarged by a whole factor to at least minSide on the shorter side.
std::pair<cv::Mat, cv::Mat> enlarged(const cv::Mat &rgb, const Grouping &g, int minSide, int &scale)
{
    if (rgb.size() != g.labels.size())
        throw std::invalid_argument("group figure: the image and the label map differ in size");
    scale =
        std::max(1, int(std::ceil(double(minSide) / std::max(1, std::min(rgb.cols, rgb.rows)))));
    cv::Mat image, labels;
    cv::resize(toRgb8(rgb), image, cv::Size(rgb.cols * scale, rgb.rows * scale), 0, 0,
               cv::INTER_NEAREST);
    cv::resize(g.labels, labels, image.size(), 0, 0, cv::INTER_NEAREST);
    return {image, labels};
}

void drawBoundaries(cv::Mat &image, const cv::Mat &labels, const cv::Vec3b &colour)
{
    for (int y = 0; y < image.rows; ++y)
        for (int x = 0; x < image.cols; ++x) {
            const int l = labels.at<int>(y, x);
            if ((x + 1 < image.cols && labels.at<int>(y, x + 1) != l) ||
                (y + 1 < image.rows && labels.at<int>(y + 1, x) != l))
                image.at<cv::Vec3b>(y, x) = colour;
        }
}

void drawNumbers(cv::Mat &image, const Grouping &g, int scale)
{
    const auto centres = g.centroids();
    for (int i = 0; i < g.count; ++i) {
        const cv::Point at(int(centres[size_t(i)].x * scale) - 6,
                           int(centres[size_t(i)].y * scale) + 4);
        cv::putText(image, std::to_string(i), at, cv::FONT_HERSHEY_PLAIN, 0.9, cv::Scalar(0, 0, 0),
                    3, cv::LINE_AA);
        cv::putText(image, std::to_string(i), at, cv::FONT_HERSHEY_PLAIN, 0.9,
                    cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
    }
}

// coolwarm colour of v in [-1, 1].
cv::Vec3b diverging(double v)
{
    static const cv::Mat lut = colorMapLut(ColorMapId::CoolWarm);
    const int k = std::clamp(int(std::lround((v + 1.0) * 127.5)), 0, 255);
    return lut.at<cv::Vec3b>(0, k);
}

std::string shortNumber(double v)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.3g", v);
    return text;
}

} // namespace

cv::Mat groupsFigure(const cv::Mat &rgb, const Grouping &grouping, int minSide)
{
    int scale = 1;
    auto [image, labels] = enlarged(rgb, grouping, minSide, scale);
    drawBoundaries(image, labels, cv::Vec3b(255, 200, 0));
    drawNumbers(image, grouping, scale);
    return image;
}

cv::Mat interactionFigure(const cv::Mat &rgb, const Grouping &grouping,
                          const GroupInteractions &estimate, int topPairs, int minSide)
{
    if (estimate.players != grouping.count)
        throw std::invalid_argument("interaction figure: the estimate has " +
                                    std::to_string(estimate.players) + " groups, the grouping " +
                                    std::to_string(grouping.count));
    int scale = 1;
    auto [image, labels] = enlarged(rgb, grouping, minSide, scale);
    double top = 1e-12;
    for (double v : estimate.singles)
        top = std::max(top, std::abs(v));
    for (int y = 0; y < image.rows; ++y)
        for (int x = 0; x < image.cols; ++x) {
            const double v = estimate.singles[size_t(labels.at<int>(y, x))] / top;
            const double alpha = 0.15 + 0.5 * std::abs(v);
            const cv::Vec3b c = diverging(v);
            auto &p = image.at<cv::Vec3b>(y, x);
            for (int k = 0; k < 3; ++k)
                p[k] = cv::saturate_cast<uchar>((1.0 - alpha) * p[k] + alpha * c[k]);
        }
    drawBoundaries(image, labels, cv::Vec3b(255, 255, 255));
    auto pairs = estimate.estimatedPairs;
    std::sort(pairs.begin(), pairs.end(), [&](const auto &a, const auto &b) {
        return std::abs(estimate.pair(a.first, a.second)) >
               std::abs(estimate.pair(b.first, b.second));
    });
    pairs.resize(std::min(pairs.size(), size_t(std::max(0, topPairs))));
    const double strongest =
        pairs.empty() ? 0.0 : std::abs(estimate.pair(pairs[0].first, pairs[0].second));
    const auto centres = grouping.centroids();
    // Weakest first, so the strongest lie on top.
    for (auto it = pairs.rbegin(); it != pairs.rend() && strongest > 0.0; ++it) {
        const double v = estimate.pair(it->first, it->second);
        const int width = 1 + int(std::lround(9.0 * std::abs(v) / strongest));
        const cv::Vec3b c = v >= 0 ? cv::Vec3b(200, 30, 30) : cv::Vec3b(30, 60, 210);
        cv::line(image, centres[size_t(it->first)] * double(scale),
                 centres[size_t(it->second)] * double(scale), cv::Scalar(c[0], c[1], c[2]), width,
                 cv::LINE_AA);
    }
    drawNumbers(image, grouping, scale);
    return image;
}

cv::Mat interactionMatrixFigure(const GroupInteractions &e, int cell)
{
    const int p = e.players;
    if (p <= 0)
        throw std::invalid_argument("interaction matrix: no groups");
    cell = std::max(4, cell);
    const int margin = 36, barWidth = 16, barGap = 16, textWidth = 64;
    const int side = p * cell;
    cv::Mat image(side + 2 * margin, side + 2 * margin + barGap + barWidth + textWidth, CV_8UC3,
                  cv::Scalar(255, 255, 255));
    std::vector<bool> estimated(size_t(p) * size_t(p), false);
    double top = 1e-12;
    for (const auto &[i, j] : e.estimatedPairs) {
        estimated[size_t(i * p + j)] = estimated[size_t(j * p + i)] = true;
        top = std::max(top, std::abs(e.pair(i, j)));
    }
    for (int i = 0; i < p; ++i)
        for (int j = 0; j < p; ++j) {
            const cv::Rect r(margin + j * cell, margin + i * cell, cell, cell);
            const cv::Vec3b c = estimated[size_t(i * p + j)] ? diverging(e.pair(i, j) / top)
                                                             : cv::Vec3b(200, 200, 200);
            cv::rectangle(image, r, cv::Scalar(c[0], c[1], c[2]), cv::FILLED);
        }
    cv::rectangle(image, cv::Rect(margin, margin, side, side), cv::Scalar(0, 0, 0), 1);
    const int step = std::max(1, int(std::ceil(14.0 / cell)));
    for (int i = 0; i < p; i += step) {
        const std::string n = std::to_string(i);
        cv::putText(image, n,
                    cv::Point(margin + i * cell + cell / 2 - 4 * int(n.size()), margin - 6),
                    cv::FONT_HERSHEY_PLAIN, 0.8, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
        cv::putText(image, n,
                    cv::Point(margin - 8 * int(n.size()) - 6, margin + i * cell + cell / 2 + 4),
                    cv::FONT_HERSHEY_PLAIN, 0.8, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    }
    // The colour bar: +top at the top, -top at the bottom.
    const int bx = margin + side + barGap;
    for (int y = 0; y < side; ++y) {
        const cv::Vec3b c = diverging(1.0 - 2.0 * y / std::max(1, side - 1));
        cv::line(image, cv::Point(bx, margin + y), cv::Point(bx + barWidth - 1, margin + y),
                 cv::Scalar(c[0], c[1], c[2]));
    }
    cv::rectangle(image, cv::Rect(bx, margin, barWidth, side), cv::Scalar(0, 0, 0), 1);
    for (const auto &[y, v] : {std::pair{margin + 8, top}, std::pair{margin + side / 2 + 4, 0.0},
                               std::pair{margin + side, -top}})
        cv::putText(image, shortNumber(v), cv::Point(bx + barWidth + 4, y), cv::FONT_HERSHEY_PLAIN,
                    0.8, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    const std::string title = e.estimator + " (" + e.index + ")";
    cv::putText(image, title, cv::Point(margin, image.rows - 10), cv::FONT_HERSHEY_PLAIN, 0.9,
                cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    return image;
}

} // namespace heatlens
