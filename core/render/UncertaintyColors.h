#pragma once

#include "core/render/ColorMap.h"

#include <opencv2/core/mat.hpp>

namespace heatlens {

// Colours for uncertainty maps. Std, CV and SNR maps are sequential (never diverging); pixels
// where a statistic is undefined (NaN: CV where the mean is ~0) are drawn in one grey.

// `values` CV_32F scaled linearly from [lo, hi] to the colour map (clamped), NaN as `undefined`.
// CV_8UC3 RGB of the map's size.
cv::Mat colorizeDefined(const cv::Mat &values, double lo, double hi, ColorMapId id,
                        cv::Vec3b undefined = cv::Vec3b(150, 150, 150));

// Value-suppressing uncertainty palette (Correll, Moritz & Heer, CHI 2018; uwdata/vsup's tree
// quantisation with branching 2): `layers` levels of uncertainty; at the most certain level the
// value is quantised into 2^(layers - 1) bins, each level up halves the bins, and the most
// uncertain level has one colour. Each bin's colour is the colour map at the bin's centre, moved
// toward white in CIELAB by the level (VSUP's "usl" mode), so uncertain values fade and merge.
// 1 + 2 + 4 + 8 = 15 colours for 4 layers.
//   value        CV_32F in [0, 1] (sequential) or [-1, 1] (signed: a diverging map)
//   uncertainty  CV_32F in [0, 1], 1 = most uncertain; NaN counts as most uncertain
cv::Mat vsupColorize(const cv::Mat &value, const cv::Mat &uncertainty, ColorMapId id,
                     bool signedMap, int layers = 4);

// The palette's legend as a wedge, `size` pixels square: value along the arc (left to right),
// uncertainty from the outer rim (certain) to the tip (uncertain). CV_8UC4 RGBA, transparent
// outside the wedge.
cv::Mat vsupLegend(int size, ColorMapId id, int layers = 4);

} // namespace heatlens
