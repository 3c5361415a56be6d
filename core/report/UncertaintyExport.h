#pragma once

#include "core/model/Model.h"
#include "core/render/ColorMap.h"
#include "core/uncertainty/Uncertainty.h"
#include "core/uncertainty/UncertaintyCurves.h"
#include "core/uncertainty/UncertaintySanity.h"

#include <string>
#include <vector>

namespace heatlens {

struct UncertaintyExportOptions
{
    ColorMapId colorMap = ColorMapId::Viridis; // of the mean (signed means use CoolWarm)
    double alpha = 0.5;
    double clipPercentile = 99.0;
    double cvMax = 2.0;   // CV PNGs: 0 .. cvMax on the sequential map (undefined grey)
    int minSide = 256;    // small inputs are scaled up (nearest)
    bool samples = false; // also the [T, H, W] stack of kept sample maps
    bool overwrite = false;
};

// One image's explanation distribution as files, at the model's input resolution (the frame
// the statistics live in), named DIR/<stem>-<what>:
//   -mean.npy -std.npy -cv.npy -snr.npy   float32 [H, W] (cv and snr NaN where undefined)
//   -p5.npy ... -p95.npy                  when the result has percentiles
//   -samples.npy                          [T, H, W] kept sample maps, when options.samples
//   -mean.png -std.png -cv.png -vsup.png  the overlays (CV: grey where undefined; vsup: mean x
//                                         certainty, with its legend in a corner)
//   .json                                 T reached, why it stopped, statistics, prediction
//                                         distribution, timings, curves and sanity when given
// Refuses to replace existing files unless options.overwrite; each file is written atomically.
// Returns the paths written.
std::vector<std::string>
exportUncertainty(const Model &model, const torch::Tensor &input, const std::string &imageId,
                  const UncertaintyResult &result, const UncertaintyCurves *curves,
                  const UncertaintySanityResult *sanity, const std::string &dir,
                  const std::string &stem, const UncertaintyExportOptions &options);

// The paths exportUncertainty writes for `result` (to ask before replacing them).
std::vector<std::string> uncertaintyExportPaths(const UncertaintyResult &result,
                                                const std::string &dir, const std::string &stem,
                                                const UncertaintyExportOptions &options);

// The JSON written by exportUncertainty.
std::string uncertaintySummaryJson(const Model &model, const std::string &imageId,
                                   const UncertaintyResult &result, const UncertaintyCurves *curves,
                                   const UncertaintySanityResult *sanity);

// The overlays exportUncertainty writes, as 8-bit RGB images at the input resolution (before
// any scaling): "mean", "std", "cv", "vsup".
cv::Mat uncertaintyImage(const Model &model, const torch::Tensor &input,
                         const UncertaintyResult &result, const std::string &what,
                         const UncertaintyExportOptions &options);

} // namespace heatlens
