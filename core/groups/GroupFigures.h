#pragma once

#include "core/groups/Estimators.h"
#include "core/groups/Grouping.h"

#include <opencv2/core/mat.hpp>

namespace heatlens {

// Figures of group attributions and interactions, as 8-bit RGB images (for the command line and
// reports; the Groups tab draws the same content with Qt).

// The image enlarged to at least `minSide` pixels (nearest neighbour, so groups stay crisp), the
// group boundaries and every group's number at its centroid.
cv::Mat groupsFigure(const cv::Mat &rgb, const Grouping &grouping, int minSide = 256);

// The interaction graph on the image: every group tinted by its attribution (coolwarm, red
// positive, blue negative, opacity growing with |value|), boundaries, and the `topPairs`
// strongest estimated pairs drawn between group centroids (width = |value| relative to the
// strongest, colour = sign).
cv::Mat interactionFigure(const cv::Mat &rgb, const Grouping &grouping,
                          const GroupInteractions &estimate, int topPairs = 10, int minSide = 384);

// The p x p interaction matrix (coolwarm, symmetric range around 0; pairs not estimated and the
// diagonal in grey), `cell` pixels per pair, group numbers along the axes, and a colour bar with
// its range.
cv::Mat interactionMatrixFigure(const GroupInteractions &estimate, int cell = 16);

} // namespace heatlens
