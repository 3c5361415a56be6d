#include "core/groups/Grouping.h"

#include "core/model/ModelCard.h"

#include <opencv2/imgproc.hpp>
#include <opencv2/ximgproc/lsc.hpp>
#include <opencv2/ximgproc/scansegment.hpp>
#include <opencv2/ximgproc/seeds.hpp>
#include <opencv2/ximgproc/segmentation.hpp>
#include <opencv2/ximgproc/slic.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>

namespace heatlens {

namespace {

const std::vector<std::string> kMethods = {"grid",         "slic",        "slico",  "seeds", "lsc",
                                           "felzenszwalb", "scansegment", "tokens", "model"};

std::string knownMethods()
{
    std::string list;
    for (const auto &m : kMethods)
        list += (list.empty() ? "" : ", ") + m;
    return list;
}

cv::Mat toColour(const cv::Mat &image)
{
    cv::Mat bgr;
    if (image.channels() == 1)
        cv::cvtColor(image, bgr, cv::COLOR_GRAY2BGR);
    else
        bgr = image;
    if (bgr.depth() != CV_8U)
        bgr.convertTo(bgr, CV_8U);
    return bgr;
}

// CIELab after a 3 x 3 Gaussian blur, as OpenCV's superpixel documentation advises.
cv::Mat labOf(const cv::Mat &image)
{
    cv::Mat blurred, lab;
    cv::GaussianBlur(toColour(image), blurred, cv::Size(3, 3), 0.0);
    cv::cvtColor(blurred, lab, cv::COLOR_RGB2Lab);
    return lab;
}

struct Attempt
{
    cv::Mat labels;
    int count = 0;
    std::string setting;
};

// Tries `segment(size)` for sizes chosen to reach `wanted` groups and keeps the closest; stops
// once within 10%. The count falls as the size grows.
template<typename Segment>
Attempt towards(int wanted, double firstSize, double smallest, Segment segment)
{
    Attempt best;
    double size = firstSize;
    std::set<long> tried; // sizes are whole pixels: one that was tried gives the same labels
    for (int tries = 0; tries < 8; ++tries) {
        if (!tried.insert(std::lround(size)).second)
            break;
        Attempt a = segment(size);
        if (best.labels.empty() || std::abs(a.count - wanted) < std::abs(best.count - wanted))
            best = a;
        if (std::abs(a.count - wanted) <= 0.1 * wanted || a.count == 0)
            break;
        size = std::max(smallest, size * std::sqrt(double(a.count) / wanted));
    }
    return best;
}

int countOf(const cv::Mat &labels)
{
    double lo = 0.0, hi = 0.0;
    cv::minMaxLoc(labels, &lo, &hi);
    std::vector<char> seen(size_t(hi - lo) + 1, 0);
    int n = 0;
    for (auto it = labels.begin<int>(); it != labels.end<int>(); ++it) {
        char &s = seen[size_t(*it - int(lo))];
        n += s ? 0 : 1;
        s = 1;
    }
    return n;
}

Attempt slic(const cv::Mat &lab, int algorithm, double regionSize)
{
    const int r = std::max(2, int(std::lround(regionSize)));
    auto s = cv::ximgproc::createSuperpixelSLIC(lab, algorithm, r, 10.0f);
    s->iterate(10);
    s->enforceLabelConnectivity(25);
    Attempt a;
    s->getLabels(a.labels);
    a.count = countOf(a.labels);
    a.setting = "region " + std::to_string(r) + " px";
    return a;
}

Attempt lsc(const cv::Mat &lab, double regionSize)
{
    // LSC's parallel loops sum in an order that varies between runs, and so do its labels: it
    // runs on one OpenCV thread (then OpenCV's count is restored).
    const int threads = cv::getNumThreads();
    cv::setNumThreads(1);
    const int r = std::max(2, int(std::lround(regionSize)));
    auto s = cv::ximgproc::createSuperpixelLSC(lab, r, 0.075f);
    s->iterate(10);
    cv::setNumThreads(threads);
    s->enforceLabelConnectivity(20);
    Attempt a;
    s->getLabels(a.labels);
    a.count = countOf(a.labels);
    a.setting = "region " + std::to_string(r) + " px";
    return a;
}

Attempt seeds(const cv::Mat &image, int wanted)
{
    const cv::Mat hsv = [&] {
        cv::Mat out;
        cv::cvtColor(toColour(image), out, cv::COLOR_RGB2HSV);
        return out;
    }();
    Attempt best;
    // SEEDS gives fewer than asked at some levels: try the levels, asking a little more.
    for (int levels : {4, 3, 2, 5})
        for (int asked : {wanted, int(wanted * 1.3)}) {
            auto s = cv::ximgproc::createSuperpixelSEEDS(hsv.cols, hsv.rows, hsv.channels(), asked,
                                                         levels, 2, 5, false);
            s->iterate(hsv, 4);
            Attempt a;
            s->getLabels(a.labels);
            a.count = countOf(a.labels);
            a.setting = std::to_string(levels) + " levels, " + std::to_string(asked) + " asked";
            if (best.labels.empty() || std::abs(a.count - wanted) < std::abs(best.count - wanted))
                best = a;
        }
    return best;
}

// ScanSegment (F-DBSCAN, OpenCV 4.6): a few milliseconds at 224 x 224. One slice: the slices
// run in parallel and are stitched, one keeps the labels the same on every machine. The count
// comes near the one asked; a second try asks in proportion when it misses by more than 10%.
Attempt scanSegment(const cv::Mat &lab, int wanted)
{
    Attempt best;
    int asked = wanted;
    for (int tries = 0; tries < 4; ++tries) {
        auto s = cv::ximgproc::createScanSegment(lab.cols, lab.rows, asked, 1, true);
        s->iterate(lab);
        Attempt a;
        s->getLabels(a.labels);
        a.count = countOf(a.labels);
        a.setting = std::to_string(asked) + " asked of ScanSegment";
        if (best.labels.empty() || std::abs(a.count - wanted) < std::abs(best.count - wanted))
            best = a;
        if (std::abs(a.count - wanted) <= 0.1 * wanted || a.count == 0)
            break;
        const int next = std::max(2, int(std::lround(asked * double(wanted) / a.count)));
        if (next == asked)
            break;
        asked = next;
    }
    return best;
}

Attempt felzenszwalb(const cv::Mat &image, int wanted)
{
    const cv::Mat colour = toColour(image);
    const int minSize = std::max(1, int(colour.total() / (wanted * 4)));
    // The count falls as k grows: bisect log k.
    double lo = std::log(1.0), hi = std::log(1e5);
    Attempt best;
    for (int tries = 0; tries < 14; ++tries) {
        const double k = std::exp((lo + hi) / 2);
        auto g = cv::ximgproc::segmentation::createGraphSegmentation(0.5, float(k), minSize);
        Attempt a;
        g->processImage(colour, a.labels);
        a.count = countOf(a.labels);
        a.setting =
            "k " + std::to_string(int(std::lround(k))) + ", min size " + std::to_string(minSize);
        if (best.labels.empty() || std::abs(a.count - wanted) < std::abs(best.count - wanted))
            best = a;
        if (std::abs(a.count - wanted) <= 0.1 * wanted)
            break;
        (a.count > wanted ? lo : hi) = std::log(k);
    }
    return best;
}

// Superpixels above the count asked by more than 10% (SLIC on a noisy image keeps fragments
// whatever its region size): the smallest region is merged into the neighbour it shares the
// longest boundary with (ties: the lower label), until `wanted` remain. Returns the merges.
int mergeSmallest(cv::Mat &labels, int wanted)
{
    int merges = 0;
    for (;;) {
        std::map<int, int> size;
        for (auto it = labels.begin<int>(); it != labels.end<int>(); ++it)
            ++size[*it];
        if (int(size.size()) <= wanted || size.size() < 2)
            return merges;
        int smallest = size.begin()->first;
        for (const auto &[label, n] : size)
            if (n < size[smallest])
                smallest = label;
        std::map<int, int> border; // neighbour -> shared edges
        for (int y = 0; y < labels.rows; ++y)
            for (int x = 0; x < labels.cols; ++x) {
                const int a = labels.at<int>(y, x);
                for (const auto &[dy, dx] : {std::pair{0, 1}, std::pair{1, 0}}) {
                    if (y + dy >= labels.rows || x + dx >= labels.cols)
                        continue;
                    const int b = labels.at<int>(y + dy, x + dx);
                    if (a != b && (a == smallest || b == smallest))
                        ++border[a == smallest ? b : a];
                }
            }
        if (border.empty())
            return merges; // an island with no neighbour: nothing to merge into
        int into = border.begin()->first;
        for (const auto &[label, n] : border)
            if (n > border[into])
                into = label;
        labels.setTo(into, labels == smallest);
        ++merges;
    }
}

} // namespace

std::vector<cv::Point2f> Grouping::centroids() const
{
    std::vector<cv::Point2d> sum(static_cast<size_t>(count));
    std::vector<int> n(static_cast<size_t>(count), 0);
    for (int y = 0; y < labels.rows; ++y)
        for (int x = 0; x < labels.cols; ++x) {
            const int l = labels.at<int>(y, x);
            sum[size_t(l)] += cv::Point2d(x, y);
            ++n[size_t(l)];
        }
    std::vector<cv::Point2f> out;
    for (int i = 0; i < count; ++i)
        out.emplace_back(float(sum[size_t(i)].x / std::max(1, n[size_t(i)])),
                         float(sum[size_t(i)].y / std::max(1, n[size_t(i)])));
    return out;
}

std::vector<int> Grouping::sizes() const
{
    std::vector<int> n(static_cast<size_t>(count), 0);
    for (auto it = labels.begin<int>(); it != labels.end<int>(); ++it)
        ++n[size_t(*it)];
    return n;
}

std::string GroupingOptions::canonical() const
{
    return method == "tokens" || method == "model" ? method : method + ":" + std::to_string(groups);
}

GroupingOptions parseGrouping(const std::string &text)
{
    GroupingOptions o;
    const auto colon = text.find(':');
    o.method = text.substr(0, colon);
    if (std::find(kMethods.begin(), kMethods.end(), o.method) == kMethods.end())
        throw std::invalid_argument("unknown grouping \"" + text + "\" (known: " + knownMethods() +
                                    ")");
    if (o.method == "tokens" || o.method == "model")
        return o;
    if (colon == std::string::npos)
        throw std::invalid_argument("grouping \"" + text + "\": give a count, e.g. " + o.method +
                                    (o.method == "grid" ? ":4" : ":49"));
    try {
        size_t used = 0;
        const int n = std::stoi(text.substr(colon + 1), &used);
        if (used != text.size() - colon - 1 || n < 1)
            throw std::invalid_argument("");
        o.groups = o.method == "grid" ? n * n : n;
    } catch (const std::exception &) {
        throw std::invalid_argument("grouping \"" + text + "\": the count must be a whole number " +
                                    "of at least 1");
    }
    return o;
}

Grouping fromLabels(const cv::Mat &input)
{
    cv::Mat labels;
    input.convertTo(labels, CV_32S);
    std::map<int, int> relabel;
    for (auto it = labels.begin<int>(); it != labels.end<int>(); ++it) {
        auto [at, inserted] = relabel.emplace(*it, int(relabel.size()));
        *it = at->second;
    }
    Grouping g;
    g.labels = labels;
    g.count = int(relabel.size());
    std::set<std::pair<int, int>> edges;
    for (int y = 0; y < labels.rows; ++y)
        for (int x = 0; x < labels.cols; ++x) {
            const int a = labels.at<int>(y, x);
            if (x + 1 < labels.cols && labels.at<int>(y, x + 1) != a)
                edges.insert(std::minmax(a, labels.at<int>(y, x + 1)));
            if (y + 1 < labels.rows && labels.at<int>(y + 1, x) != a)
                edges.insert(std::minmax(a, labels.at<int>(y + 1, x)));
        }
    g.adjacent.assign(edges.begin(), edges.end());
    return g;
}

std::vector<double> sumPerGroup(const cv::Mat &map, const Grouping &grouping)
{
    if (map.size() != grouping.labels.size() || map.type() != CV_32FC1)
        throw std::invalid_argument("sumPerGroup: a " + std::to_string(map.cols) + " x " +
                                    std::to_string(map.rows) + " map for " +
                                    std::to_string(grouping.labels.cols) + " x " +
                                    std::to_string(grouping.labels.rows) + " labels");
    std::vector<double> sums(static_cast<size_t>(grouping.count), 0.0);
    for (int y = 0; y < map.rows; ++y)
        for (int x = 0; x < map.cols; ++x)
            sums[size_t(grouping.labels.at<int>(y, x))] += double(map.at<float>(y, x));
    return sums;
}

Grouping gridGrouping(cv::Size size, int rows, int cols)
{
    if (rows < 1 || cols < 1 || rows > size.height || cols > size.width)
        throw std::invalid_argument("a " + std::to_string(rows) + " x " + std::to_string(cols) +
                                    " grid does not fit a " + std::to_string(size.width) + " x " +
                                    std::to_string(size.height) + " image");
    // The cell of every coordinate, edges at floor(i * size / cells) as gridCells has them
    // (floor(y * cells / size) would put the edges at the ceiling when cells do not divide size).
    auto cellOf = [](int size, int cells) {
        std::vector<int> cell(size_t(size), 0);
        for (int i = 0; i < cells; ++i)
            for (int at = int(int64_t(i) * size / cells); at < int(int64_t(i + 1) * size / cells);
                 ++at)
                cell[size_t(at)] = i;
        return cell;
    };
    const auto rowOf = cellOf(size.height, rows), colOf = cellOf(size.width, cols);
    cv::Mat labels(size, CV_32S);
    for (int y = 0; y < size.height; ++y)
        for (int x = 0; x < size.width; ++x)
            labels.at<int>(y, x) = rowOf[size_t(y)] * cols + colOf[size_t(x)];
    Grouping g = fromLabels(labels);
    g.method = "grid";
    g.description = "grid: " + std::to_string(rows) + " x " + std::to_string(cols);
    return g;
}

Grouping makeGrouping(const cv::Mat &image, const GroupingOptions &o, const ModelCard *card)
{
    if (image.empty())
        throw std::invalid_argument("grouping: no image");
    const std::string &m = o.method;
    if (m == "grid") {
        const int side = int(std::lround(std::sqrt(double(o.groups))));
        if (side * side != o.groups)
            throw std::invalid_argument("grid groupings are square: " + std::to_string(o.groups) +
                                        " groups is not n x n");
        return gridGrouping(image.size(), side, side);
    }
    if (m == "tokens") {
        if (!card || card->patchGridHeight <= 0 || card->patchGridWidth <= 0)
            throw std::invalid_argument("tokens: the model card gives no patch grid "
                                        "(transformer.patch_grid); use a grid or superpixels");
        Grouping g = gridGrouping(image.size(), card->patchGridHeight, card->patchGridWidth);
        g.method = "tokens";
        g.description = "tokens: the " + std::to_string(card->patchGridHeight) + " x " +
                        std::to_string(card->patchGridWidth) + " patch grid";
        return g;
    }
    if (m == "model") {
        if (!card || card->groupGridRows <= 0)
            throw std::invalid_argument("model: not a feature-group model (its card has no "
                                        "feature_groups); use a grid or superpixels");
        Grouping g = gridGrouping(image.size(), card->groupGridRows, card->groupGridCols);
        g.method = "model";
        g.description = "model: its own " + std::to_string(card->groupGridRows) + " x " +
                        std::to_string(card->groupGridCols) + " groups";
        return g;
    }
    if (o.groups < 2 || o.groups > int(image.total()) / 4)
        throw std::invalid_argument(m + ": " + std::to_string(o.groups) + " groups for a " +
                                    std::to_string(image.cols) + " x " +
                                    std::to_string(image.rows) + " image; ask for 2 to " +
                                    std::to_string(image.total() / 4));
    const double region = std::sqrt(double(image.total()) / o.groups);
    Attempt a;
    if (m == "slic" || m == "slico") {
        const cv::Mat lab = labOf(image);
        const int algorithm = m == "slic" ? cv::ximgproc::SLIC : cv::ximgproc::SLICO;
        a = towards(o.groups, region, 2.0, [&](double r) { return slic(lab, algorithm, r); });
    } else if (m == "lsc") {
        const cv::Mat lab = labOf(image);
        a = towards(o.groups, region, 2.0, [&](double r) { return lsc(lab, r); });
    } else if (m == "scansegment") {
        a = scanSegment(labOf(image), o.groups);
    } else if (m == "seeds") {
        a = seeds(image, o.groups);
    } else if (m == "felzenszwalb") {
        a = felzenszwalb(image, o.groups);
    } else {
        throw std::invalid_argument("unknown grouping \"" + m + "\" (known: " + knownMethods() +
                                    ")");
    }
    int merged = 0;
    if (countOf(a.labels) > 1.1 * o.groups)
        merged = mergeSmallest(a.labels, o.groups);
    Grouping g = fromLabels(a.labels);
    g.method = m;
    g.description = m + ": " + std::to_string(g.count) + " groups (" + std::to_string(o.groups) +
                    " asked), " + a.setting +
                    (merged ? ", " + std::to_string(merged) + " smallest merged" : std::string());
    return g;
}

} // namespace heatlens
