#pragma once

#include "core/explain/ExplainJob.h"
#include "core/render/ColorMap.h"

#include <map>
#include <string>

namespace heatlens {

struct ExportOptions
{
    ColorMapId colorMap = ColorMapId::Viridis; // signed maps use CoolWarm unless diverging given
    double alpha = 0.5;
    double clipPercentile = 99.0;
    int minSide = 256; // small images are scaled up (nearest) so the overlay is legible
    bool overwrite = false;
};

struct ExportedFiles
{
    std::string overlayPng, mapNpy, summaryJson;
};

// The overlay PNG (native frame, scaled up for small images), the raw map (model-input
// resolution, float32 .npy) and the JSON summary, as DIR/<stem>.{png,npy,json}. Refuses to
// replace existing files unless options.overwrite; every file is written atomically.
ExportedFiles exportExplanation(const Model &model, const cv::Mat &image,
                                const std::string &imageId, const ExplainOutcome &outcome,
                                const std::map<std::string, double> &timings,
                                const std::string &dir, const std::string &stem,
                                const ExportOptions &options);

// The overlay as shown: colourised, normalised map blended over the image (8-bit RGB).
cv::Mat renderOverlay(const cv::Mat &image, const cv::Mat &nativeMap, bool signedMap,
                      const ExportOptions &options);

// A file-name-safe version of an image id: "train/12" -> "train-12", "cat/001.jpg" -> "cat-001",
// "/photos/chelsea.png" -> "chelsea" (an absolute path is named by its file alone).
std::string safeStem(const std::string &id);

} // namespace heatlens
