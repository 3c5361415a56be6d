#include "core/report/ExplanationExport.h"

#include "core/io/AtomicFile.h"
#include "core/io/Npy.h"
#include "core/io/Png.h"
#include "core/report/JsonSummary.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cctype>
#include <filesystem>
#include <set>
#include <stdexcept>

namespace heatlens {

namespace {

namespace fs = std::filesystem;

void refuseExisting(const std::vector<std::string> &paths)
{
    for (const auto &p : paths)
        if (fs::exists(p))
            throw std::runtime_error(p + " already exists; choose another --out folder or "
                                         "allow overwriting (--force)");
}

} // namespace

std::string safeStem(const std::string &id)
{
    // An absolute path (an image given on the command line) is named by its file; a dataset id
    // keeps its folders ("cat/001.jpg" -> "cat-001"). Either way an image file's extension goes,
    // so one image gets one name from the CLI and from the viewer's image folder.
    fs::path path(id);
    if (path.is_absolute())
        path = path.filename();
    std::string extension = path.extension().string();
    for (char &c : extension)
        c = char(std::tolower(static_cast<unsigned char>(c)));
    static const std::set<std::string> images = {".png",  ".jpg",  ".jpeg", ".bmp", ".tif",
                                                 ".tiff", ".webp", ".pgm",  ".ppm", ".pbm"};
    if (images.count(extension))
        path.replace_extension();
    std::string stem = path.string();
    for (char &c : stem)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
            c = '-';
    return stem.empty() ? "image" : stem;
}

cv::Mat renderOverlay(const cv::Mat &image, const cv::Mat &nativeMap, bool signedMap,
                      const ExportOptions &options)
{
    const int shorter = std::min(image.cols, image.rows);
    const int scale = shorter >= options.minSide ? 1 : (options.minSide + shorter - 1) / shorter;
    cv::Mat map;
    cv::resize(nativeMap, map, cv::Size(image.cols * scale, image.rows * scale), 0, 0,
               cv::INTER_NEAREST);
    Normalization norm;
    norm.signedMap = signedMap;
    norm.clipPercentile = options.clipPercentile;
    cv::Mat normalized;
    normalizeMap(map, norm, normalized);
    ColorMapId id = options.colorMap;
    if (signedMap && id != ColorMapId::CoolWarm && id != ColorMapId::Bwr)
        id = ColorMapId::CoolWarm;
    return overlayHeatmap(image, colorize(normalized, id), options.alpha);
}

ExportedFiles exportExplanation(const Model &model, const cv::Mat &image,
                                const std::string &imageId, const ExplainOutcome &outcome,
                                const std::map<std::string, double> &timings,
                                const std::string &dir, const std::string &stem,
                                const ExportOptions &options)
{
    fs::create_directories(dir);
    ExportedFiles files;
    files.overlayPng = (fs::path(dir) / (stem + ".png")).string();
    files.mapNpy = (fs::path(dir) / (stem + ".npy")).string();
    files.summaryJson = (fs::path(dir) / (stem + ".json")).string();
    if (!options.overwrite)
        refuseExisting({files.overlayPng, files.mapNpy, files.summaryJson});
    writePng(files.overlayPng,
             renderOverlay(image, outcome.nativeMap, outcome.explanation.signedMap, options));
    writeNpy(files.mapNpy, outcome.explanation.map);
    writeTextAtomically(files.summaryJson,
                        explanationSummaryJson(model, imageId, outcome, timings));
    return files;
}

} // namespace heatlens
