#include "core/uncertainty/CellUncertainty.h"

#include "core/explain/ExplainJob.h"
#include "core/explain/MethodRegistry.h"
#include "core/uncertainty/Uncertainty.h"

#include <opencv2/core.hpp>

#include <chrono>

namespace heatlens {

std::string CellStatistic::canonical() const
{
    if (statistic == "map")
        return {};
    const auto &source = SourceRegistry::instance().get(sourceId);
    return statistic + ":" + sourceId + "{" +
           completeParams(source.params(), sourceParams, sourceId).canonical() +
           "}T=" + std::to_string(samples);
}

void CellStatistic::validate() const
{
    if (statistic != "map" && statistic != "mean" && statistic != "cv")
        throw std::invalid_argument("cell statistic must be map, mean or cv, got \"" + statistic +
                                    "\"");
    SourceRegistry::instance().get(sourceId);
    if (samples < 2)
        throw std::invalid_argument("cell statistic: samples must be >= 2, got " +
                                    std::to_string(samples));
}

CellResult explainCellStatistic(const ModelPtr &model, const cv::Mat &image,
                                const std::string &methodId, const Params &params, int target,
                                cv::Size frame, const std::shared_ptr<const Dataset> &references,
                                const CellStatistic &statistic, const JobContext &ctx)
{
    statistic.validate();
    if (statistic.statistic == "map")
        return explainCell(model, image, methodId, params, target, frame, references, ctx);
    CellResult cell;
    const Method &method = MethodRegistry::instance().get(methodId);
    const auto &source = SourceRegistry::instance().get(statistic.sourceId);
    for (const std::string &why :
         {method.whyNotApplicable(*model), source.whyNotApplicable(*model)})
        if (!why.empty()) {
            cell.error = why;
            return cell;
        }
    const auto start = std::chrono::steady_clock::now();
    try {
        InputGeometry geometry;
        UncertaintyRequest r;
        r.model = model;
        r.input = model->preprocess(image, &geometry);
        r.target = target;
        r.methodId = methodId;
        r.params = params;
        r.sourceId = statistic.sourceId;
        r.sourceParams = statistic.sourceParams;
        r.options.maxSamples = statistic.samples;
        r.options.keepMaps = 0;
        if (method.usesReferences() && references)
            r.references = drawReferences(*model, *references, 64, ctx.sub(0, 0.05));
        const auto result = explainUncertainty(r, ctx.sub(0.05, 1.0));
        cell.prediction = predictInput(*model, r.input);
        cell.target = result.target;
        cv::Mat map = statistic.statistic == "cv" ? result.cv.clone() : result.mean;
        cv::patchNaNs(map, 0.0);
        cell.signedMap = statistic.statistic == "mean" && result.signedMap;
        cell.map = mapToFrame(map, geometry, frame);
        cell.region = cropInFrame(geometry, frame);
        cell.geometry = geometry;
        cell.ok = true;
    } catch (const Cancelled &) {
        throw;
    } catch (const std::exception &e) {
        cell.error = e.what();
    }
    cell.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return cell;
}

} // namespace heatlens
