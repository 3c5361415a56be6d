#include "core/report/UncertaintyExport.h"

#include "core/io/AtomicFile.h"
#include "core/io/Npy.h"
#include "core/io/Png.h"
#include "core/model/InputImage.h"
#include "core/render/UncertaintyColors.h"

#include <nlohmann/json.hpp>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <filesystem>

namespace heatlens {

namespace fs = std::filesystem;

namespace {

nlohmann::json paramsJson(const Params &params)
{
    nlohmann::json j = nlohmann::json::object();
    for (const auto &[name, value] : params.values())
        std::visit([&, n = name](const auto &v) { j[n] = v; }, value);
    return j;
}

// JSON has no NaN: undefined statistics are null.
nlohmann::json number(double v)
{
    return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

nlohmann::json bandJson(const CurveBand &b)
{
    return {{"auc_mean", number(b.aucMean)},
            {"auc_p5", number(b.aucLow)},
            {"auc_p95", number(b.aucHigh)},
            {"fractions", b.fractions},
            {"mean", b.mean},
            {"p5", b.low},
            {"p95", b.high}};
}

cv::Mat scaledUp(const cv::Mat &rgb, int minSide)
{
    const int side = std::min(rgb.cols, rgb.rows);
    if (side >= minSide || side <= 0)
        return rgb;
    const int factor = (minSide + side - 1) / side;
    cv::Mat out;
    cv::resize(rgb, out, cv::Size(rgb.cols * factor, rgb.rows * factor), 0, 0, cv::INTER_NEAREST);
    return out;
}

// Pastes the VSUP legend (RGBA) into the bottom-right corner of `rgb`.
void pasteLegend(cv::Mat &rgb, const cv::Mat &legend)
{
    const int x0 = rgb.cols - legend.cols - 4, y0 = rgb.rows - legend.rows - 4;
    if (x0 < 0 || y0 < 0)
        return;
    for (int y = 0; y < legend.rows; ++y)
        for (int x = 0; x < legend.cols; ++x) {
            const cv::Vec4b c = legend.at<cv::Vec4b>(y, x);
            if (c[3])
                rgb.at<cv::Vec3b>(y0 + y, x0 + x) = cv::Vec3b(c[0], c[1], c[2]);
        }
}

} // namespace

cv::Mat uncertaintyImage(const Model &model, const torch::Tensor &input, const UncertaintyResult &r,
                         const std::string &what, const UncertaintyExportOptions &o)
{
    const cv::Mat base = inputToRgb8(input, model.card());
    bool diverging = false;
    for (const auto &info : colorMaps())
        diverging = diverging || (info.id == o.colorMap && info.diverging);
    const ColorMapId meanMap = r.signedMap && !diverging ? ColorMapId::CoolWarm : o.colorMap;
    Normalization norm;
    norm.signedMap = r.signedMap;
    norm.clipPercentile = o.clipPercentile;
    if (what == "mean") {
        cv::Mat normalised;
        normalizeMap(r.mean, norm, normalised);
        return overlayHeatmap(base, colorize(normalised, meanMap), o.alpha);
    }
    if (what == "std") {
        Normalization plain;
        plain.clipPercentile = o.clipPercentile;
        cv::Mat normalised;
        normalizeMap(r.stdDev, plain, normalised);
        return overlayHeatmap(base, colorize(normalised, ColorMapId::Inferno), o.alpha);
    }
    if (what == "cv")
        return overlayHeatmap(base, colorizeDefined(r.cv, 0.0, o.cvMax, ColorMapId::Inferno),
                              o.alpha);
    if (what == "vsup") {
        cv::Mat normalised;
        normalizeMap(r.mean, norm, normalised);
        // Uncertainty: CV of 1 or more (or undefined) is the most uncertain level.
        cv::Mat uncertainty = r.cv.clone();
        for (auto it = uncertainty.begin<float>(); it != uncertainty.end<float>(); ++it)
            *it = std::isfinite(*it) ? std::min(1.0f, *it) : 1.0f;
        return overlayHeatmap(base, vsupColorize(normalised, uncertainty, meanMap, r.signedMap),
                              std::max(o.alpha, 0.75));
    }
    throw std::invalid_argument("uncertaintyImage: unknown image \"" + what + "\"");
}

std::string uncertaintySummaryJson(const Model &model, const std::string &imageId,
                                   const UncertaintyResult &r, const UncertaintyCurves *curves,
                                   const UncertaintySanityResult *sanity)
{
    nlohmann::json j;
    j["model"] = {{"path", model.path()}, {"name", model.displayName()}};
    j["image"] = imageId;
    j["method"] = r.methodId;
    j["params"] = paramsJson(r.params);
    j["source"] = {{"id", r.sourceId},
                   {"params", paramsJson(r.sourceParams)},
                   {"description", r.sourceDescription}};
    j["target"] = {{"class", r.target}, {"label", model.label(r.target)}};
    j["samples"] = r.samples;
    j["stop_reason"] = r.stopReason;
    j["batched"] = r.batched;
    j["normalise"] = r.normalise;
    j["map"] = {{"height", r.mean.rows}, {"width", r.mean.cols}, {"signed", r.signedMap}};
    j["statistics"] = {{"relative_std_error", number(r.relativeStdError)},
                       {"mean_cv", number(r.meanCv)},
                       {"median_cv", number(r.medianCv)},
                       {"undefined_cv_fraction", number(r.undefinedCvFraction)},
                       {"rank_stability", number(r.rankStability)},
                       {"top_iou", number(r.topIoU)}};
    const PredictionSpread &p = r.prediction;
    j["prediction"] = {{"deterministic_class", p.deterministicClass},
                       {"deterministic_label", model.label(p.deterministicClass)},
                       {"mean_probabilities", p.meanProbabilities},
                       {"sample_classes", p.sampleClasses},
                       {"entropy", p.entropy},
                       {"expected_entropy", p.expectedEntropy},
                       {"mutual_information", p.mutualInformation},
                       {"flip_rate", p.flipRate}};
    j["passes"] = {{"forward", r.forwardPasses}, {"backward", r.backwardPasses}};
    j["seconds"] = r.seconds;
    j["warnings"] = r.warnings;
    if (curves)
        j["curves"] = {{"kind", curves->kind},
                       {"ranking", curves->ranking},
                       {"model_samples", curves->modelSamples},
                       {"per_sample", bandJson(curves->samples)},
                       {"ranked_map", bandJson(curves->rankedMap)},
                       {"deterministic_auc", curves->deterministic.aucProbability},
                       {"confident_versus_uncertain",
                        {{"confident_auc", curves->confidentAuc},
                         {"uncertain_auc", curves->uncertainAuc},
                         {"confident_mean_abs", curves->confidentMeanAbs},
                         {"uncertain_mean_abs", curves->uncertainMeanAbs},
                         {"delta", curves->delta},
                         {"delta_p5", number(curves->deltaLow)},
                         {"delta_p95", number(curves->deltaHigh)}}}};
    if (sanity) {
        nlohmann::json steps = nlohmann::json::array();
        for (const auto &s : sanity->steps)
            steps.push_back({{"label", s.label},
                             {"mean_spearman", s.meanSpearman},
                             {"std_spearman", s.stdSpearman},
                             {"mean_cv", number(s.meanCv)}});
        j["sanity"] = {{"mode", sanity->mode},
                       {"samples", sanity->samples},
                       {"mean_passes", sanity->meanPasses},
                       {"std_passes", sanity->stdPasses},
                       {"verdict", sanity->verdict},
                       {"steps", steps}};
    }
    return j.dump(2) + "\n";
}

std::vector<std::string> uncertaintyExportPaths(const UncertaintyResult &r, const std::string &dir,
                                                const std::string &stem,
                                                const UncertaintyExportOptions &o)
{
    auto path = [&](const std::string &suffix) {
        return (fs::path(dir) / (stem + suffix)).string();
    };
    std::vector<std::string> all;
    for (const char *what : {"-mean", "-std", "-cv", "-snr"})
        all.push_back(path(std::string(what) + ".npy"));
    for (const auto &entry : r.percentiles)
        all.push_back(path("-p" + std::to_string(entry.first) + ".npy"));
    for (const char *what : {"-mean", "-std", "-cv", "-vsup"})
        all.push_back(path(std::string(what) + ".png"));
    if (o.samples && !r.sampleMaps.empty())
        all.push_back(path("-samples.npy"));
    all.push_back(path(".json"));
    return all;
}

std::vector<std::string> exportUncertainty(const Model &model, const torch::Tensor &input,
                                           const std::string &imageId, const UncertaintyResult &r,
                                           const UncertaintyCurves *curves,
                                           const UncertaintySanityResult *sanity,
                                           const std::string &dir, const std::string &stem,
                                           const UncertaintyExportOptions &o)
{
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (!fs::is_directory(dir))
        throw std::runtime_error("cannot create the output folder " + dir);
    const auto all = uncertaintyExportPaths(r, dir, stem, o);
    if (!o.overwrite)
        for (const auto &p : all)
            if (fs::exists(p))
                throw std::runtime_error(p + " exists; choose another folder or allow replacing "
                                             "(--force)");
    auto path = [&](const std::string &suffix) {
        return (fs::path(dir) / (stem + suffix)).string();
    };
    writeNpy(path("-mean.npy"), r.mean);
    writeNpy(path("-std.npy"), r.stdDev);
    writeNpy(path("-cv.npy"), r.cv);
    writeNpy(path("-snr.npy"), r.snr);
    for (const auto &[q, map] : r.percentiles)
        writeNpy(path("-p" + std::to_string(q) + ".npy"), map);
    const int legendSide = std::max(48, o.minSide / 4);
    for (const std::string what : {"mean", "std", "cv", "vsup"}) {
        cv::Mat rgb = scaledUp(uncertaintyImage(model, input, r, what, o), o.minSide);
        if (what == "vsup")
            pasteLegend(rgb, vsupLegend(std::min(legendSide, rgb.rows / 3),
                                        r.signedMap ? ColorMapId::CoolWarm : o.colorMap));
        writePng(path("-" + what + ".png"), rgb);
    }
    if (o.samples && !r.sampleMaps.empty())
        writeNpyStack(path("-samples.npy"), r.sampleMaps);
    writeTextAtomically(path(".json"), uncertaintySummaryJson(model, imageId, r, curves, sanity));
    return all;
}

} // namespace heatlens
