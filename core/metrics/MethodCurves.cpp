#include "core/metrics/MethodCurves.h"

#include "core/explain/ExplainJob.h"

#include <map>
#include <set>

namespace heatlens {

std::vector<CurveUpdate> methodCurves(const ModelPtr &model, const cv::Mat &image,
                                      const std::shared_ptr<const Dataset> &references, int target,
                                      const std::vector<CurveTask> &tasks, const JobContext &ctx)
{
    const torch::Tensor input = model->preprocess(image);
    std::map<std::string, cv::Mat> maps;
    std::set<std::string> failed;
    std::vector<CurveUpdate> results;
    const double n = double(tasks.size());
    for (size_t i = 0; i < tasks.size(); ++i) {
        const CurveTask &task = tasks[i];
        const JobContext sub = ctx.sub(double(i) / n, double(i + 1) / n, task.label);
        if (failed.count(task.methodKey))
            continue;
        cv::Mat map = task.map;
        if (map.empty())
            if (auto it = maps.find(task.mapKey); it != maps.end())
                map = it->second;
        double curveBegin = 0.0;
        if (map.empty()) {
            try {
                map = runExplain({model, image, task.methodId, task.params, target, references},
                                 sub.sub(0.0, 0.5))
                          .explanation.map;
            } catch (const Cancelled &) {
                throw;
            } catch (const std::exception &e) {
                // One comparison method failing must not take the others down.
                failed.insert(task.methodKey);
                CurveUpdate update;
                update.failedMethod = task.methodKey;
                update.failedName = task.name;
                update.error = e.what();
                sub.reportPartialResult(1.0, update);
                continue;
            }
            curveBegin = 0.5;
            maps[task.mapKey] = map;
            CurveUpdate update;
            update.mapKey = task.mapKey;
            update.map = map;
            sub.reportPartialResult(curveBegin, update);
        }
        const JobContext curveCtx = sub.sub(curveBegin, 1.0);
        auto images = std::make_shared<const CurveImages>(*model, input, map, task.options);
        CurveUpdate done;
        done.curveKey = task.curveKey;
        done.images = images;
        done.curve = perturbationCurve(
            *model, input, target, map, task.options, curveCtx, [&](const Curve &curve) {
                CurveUpdate update;
                update.curveKey = task.curveKey;
                update.curve = curve;
                update.images = images;
                curveCtx.reportPartialResult(
                    double(curve.fractions.size()) / double(task.options.steps + 1), update);
            });
        done.complete = true;
        sub.reportPartialResult(1.0, done);
        results.push_back(std::move(done));
    }
    return results;
}

} // namespace heatlens
