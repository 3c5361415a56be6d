#pragma once

#include "core/explain/Params.h"
#include "core/jobs/Progress.h"
#include "core/metrics/Faithfulness.h"

#include <opencv2/core/mat.hpp>

#include <memory>
#include <string>
#include <vector>

namespace heatlens {

class Dataset;

// The deletion and insertion curves of several methods on one image and target, the Curves
// tab's computation (and a script's): each task's map is given, or made here by a registered
// method or control (the seeded random ranking) with its parameters; maps are shared between the
// tasks of one map key (deletion and insertion of one method explain it once). Streams, as partial
// results of type CurveUpdate, every map once made and every curve batch by batch.
struct CurveTask
{
    std::string curveKey;  // names the curve (RequestKey with the curve options)
    std::string mapKey;    // names the map: tasks with the same key share it
    std::string methodKey; // names the method entry: a failing one is tried once
    std::string methodId;  // a method or control, run with params when `map` is empty
    Params params;
    cv::Mat map; // given (input resolution); empty: made here
    CurveOptions options;
    std::string name;  // for messages: "Grad-CAM"
    std::string label; // progress prefix: "Grad-CAM deletion"
};

struct CurveUpdate
{
    std::string mapKey; // a map was made
    cv::Mat map;
    std::string curveKey; // a curve so far, or complete
    Curve curve;
    std::shared_ptr<const CurveImages> images;
    bool complete = false;
    std::string failedMethod; // methodKey of a method that cannot explain the image
    std::string failedName;
    std::string error;
};

// The complete curves in task order (curves of a failed method are left out, its failure
// reported once as a partial CurveUpdate). Cancelled propagates.
std::vector<CurveUpdate> methodCurves(const ModelPtr &model, const cv::Mat &image,
                                      const std::shared_ptr<const Dataset> &references, int target,
                                      const std::vector<CurveTask> &tasks, const JobContext &ctx);

} // namespace heatlens
