#pragma once

#include <opencv2/core/mat.hpp>

#include <string>
#include <utility>
#include <vector>

namespace heatlens {

struct ModelCard;

// A partition of an image's pixels into groups (the players of group attributions and
// interactions): a label map, the region adjacency graph and how it was made.
struct Grouping
{
    cv::Mat labels; // CV_32SC1, every label in [0, count) present
    int count = 0;
    std::vector<std::pair<int, int>> adjacent; // 4-neighbour pairs (i < j), sorted
    std::string method;      // grid, slic, slico, seeds, lsc, felzenszwalb, scansegment, ...
    std::string description; // "slico: 47 groups (49 asked), region 4 px"

    // The mean position (x, y) of each group's pixels.
    std::vector<cv::Point2f> centroids() const;
    // Pixels per group.
    std::vector<int> sizes() const;
};

struct GroupingOptions
{
    // grid | slic | slico | seeds | lsc | felzenszwalb | scansegment | tokens | model
    std::string method = "slico";
    int groups = 49; // asked for; superpixels honour it within 10% where the image allows
    // grid: groups must be a square (grid:4 is 16 groups); tokens and model take their card's.
    std::string canonical() const; // "slico:49"
};

// Parses "grid:4", "slic:49", "seeds:49", "lsc:49", "felzenszwalb:49", "tokens", "model";
// throws std::invalid_argument naming the text and the known methods.
GroupingOptions parseGrouping(const std::string &text);

// Groups the pixels of `image` (8-bit, 1 or 3 channels: the model input as a person sees it).
// Deterministic: the same labels for the same image and options. `card` gives the patch grid of
// "tokens" and the groups of "model"; throws std::invalid_argument when the card has none, or for
// a bad method or count.
Grouping makeGrouping(const cv::Mat &image, const GroupingOptions &options,
                      const ModelCard *card = nullptr);

// A rows x cols grid over an image of `size` (cell edges at floor(i * size / cells)).
Grouping gridGrouping(cv::Size size, int rows, int cols);

// The sum of a map over each group (a pixel method's attribution of every group), CV_32F map of
// the labels' size; throws std::invalid_argument on a size mismatch.
std::vector<double> sumPerGroup(const cv::Mat &map, const Grouping &grouping);

// Relabels any label map to 0..n-1 in raster order of first appearance and fills count and the
// adjacency graph; `method` and `description` are left to the caller.
Grouping fromLabels(const cv::Mat &labels);

} // namespace heatlens
