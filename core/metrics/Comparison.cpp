#include "core/metrics/Comparison.h"

#include "core/explain/MethodRegistry.h"
#include "core/jobs/BytesHeld.h"
#include "core/model/Preprocess.h"

#include <chrono>
#include <limits>
#include <stdexcept>

namespace heatlens {

CellResult explainCell(const ModelPtr &model, const cv::Mat &image, const std::string &methodId,
                       const Params &params, int target, cv::Size frame,
                       const std::shared_ptr<const Dataset> &references, const JobContext &ctx)
{
    CellResult cell;
    const Method &method = MethodRegistry::instance().get(methodId);
    if (const std::string why = method.whyNotApplicable(*model); !why.empty()) {
        cell.error = why;
        return cell;
    }
    if (target >= model->numClasses()) {
        cell.error = "class " + std::to_string(target) + " is out of range for " +
                     model->displayName() + " (" + std::to_string(model->numClasses()) +
                     " classes)";
        return cell;
    }
    const auto start = std::chrono::steady_clock::now();
    try {
        const ExplainOutcome outcome =
            runExplain({model, image, methodId, params, target, references}, ctx);
        cell.prediction = outcome.prediction;
        cell.target = outcome.explanation.target;
        cell.signedMap = outcome.explanation.signedMap;
        cell.layer = outcome.explanation.layer;
        cell.map = mapToFrame(outcome.explanation.map, outcome.geometry, frame);
        cell.region = cropInFrame(outcome.geometry, frame);
        cell.geometry = outcome.geometry;
        cell.ok = true;
    } catch (const Cancelled &) {
        throw;
    } catch (const std::exception &e) {
        cell.error = e.what();
    }
    cell.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return cell;
}

cv::Rect sharedRegion(const std::vector<const CellResult *> &cells, cv::Size frame)
{
    cv::Rect region(0, 0, frame.width, frame.height);
    for (const CellResult *cell : cells)
        if (cell && cell->ok)
            region &= cell->region;
    return region;
}

std::vector<Agreement> cellAgreement(const std::vector<const CellResult *> &cells,
                                     const AgreementOptions &options)
{
    cv::Size frame;
    for (const CellResult *cell : cells)
        if (cell && cell->ok)
            frame = cell->map.size();
    const cv::Rect region = sharedRegion(cells, frame);
    std::vector<cv::Mat> maps;
    for (const CellResult *cell : cells) {
        const bool usable = cell && cell->ok && region.area() > 0 && cell->map.size() == frame;
        maps.push_back(usable ? cell->map(region).clone() : cv::Mat());
    }
    return pairwiseAgreement(maps, options);
}

void validateComparison(const ComparisonOptions &options, const std::vector<ModelPtr> &models)
{
    if (models.empty())
        throw std::invalid_argument("a comparison needs at least one model");
    if (options.methods.empty())
        throw std::invalid_argument("a comparison needs at least one method");
    for (const auto &id : options.methods)
        MethodRegistry::instance().get(id); // throws naming the id and the known ones
    if (options.target != "label" && options.target != "first" && options.target != "own")
        throw std::invalid_argument("unknown target \"" + options.target +
                                    "\" (label, first or own)");
    if (models.size() * options.methods.size() < 2)
        throw std::invalid_argument("a comparison needs at least two cells: two models or two "
                                    "methods");
    validateAgreement(options.agreement);
    if (options.maxSide < 7)
        throw std::invalid_argument("the comparison frame must be at least 7 pixels a side, got " +
                                    std::to_string(options.maxSide));
    for (const auto &model : models)
        if (model->numClasses() != models.front()->numClasses())
            throw std::invalid_argument(model->displayName() + " has " +
                                        std::to_string(model->numClasses()) + " classes but " +
                                        models.front()->displayName() + " has " +
                                        std::to_string(models.front()->numClasses()) +
                                        ": their explanations of one class cannot be compared");
}

ImageComparison compareImage(const std::vector<ModelPtr> &models, const Sample &sample,
                             size_t index, const ComparisonOptions &options,
                             const std::shared_ptr<const Dataset> &references,
                             const JobContext &ctx)
{
    ImageComparison result;
    result.index = index;
    result.id = sample.id;
    result.label = sample.label;
    const cv::Size frame = comparisonFrame(sample.image.size(), options.maxSide);
    int shared = -1; // the class every model explains, unless "own"
    if (options.target == "label" && sample.label >= 0)
        shared = sample.label;
    else if (options.target != "own")
        shared = predictInput(*models.front(), models.front()->preprocess(sample.image)).predicted;
    const size_t total = models.size() * options.methods.size();
    for (size_t m = 0; m < models.size(); ++m)
        for (size_t k = 0; k < options.methods.size(); ++k) {
            const std::string &id = options.methods[k];
            auto it = options.params.find(id);
            const size_t at = result.cells.size();
            const JobContext sub =
                ctx.sub(double(at) / double(total), double(at + 1) / double(total),
                        models[m]->displayName() + " / " + id);
            result.cells.push_back(explainCell(models[m], sample.image, id,
                                               it == options.params.end() ? Params() : it->second,
                                               shared, frame, references, sub));
        }
    std::vector<const CellResult *> cells;
    for (const auto &cell : result.cells)
        cells.push_back(&cell);
    result.pairs = cellAgreement(cells, options.agreement);
    return result;
}

std::vector<std::string> comparisonGroups(const ImageComparison &image, size_t cellA, size_t cellB,
                                          const Model &labels)
{
    std::vector<std::string> groups = {"all"};
    if (image.label < 0)
        return groups;
    groups.push_back("class:" + labels.label(image.label));
    const bool a = image.cells[cellA].prediction.predicted == image.label;
    const bool b = image.cells[cellB].prediction.predicted == image.label;
    groups.push_back(a && b ? "correct" : (!a && !b ? "incorrect" : "mixed"));
    return groups;
}

std::vector<PairSummary> summariseComparisons(const std::vector<ImageComparison> &images,
                                              const std::vector<ModelPtr> &models,
                                              size_t methodCount)
{
    const size_t cells = models.size() * methodCount;
    const size_t pairs = cells * (cells - (cells > 0 ? 1 : 0)) / 2;
    // pair -> group -> metric -> values
    std::vector<std::map<std::string, std::map<std::string, std::vector<double>>>> values(pairs);
    for (const auto &image : images) {
        if (image.cells.size() != cells || image.pairs.size() != pairs)
            throw std::invalid_argument("image " + image.id + " was compared with another grid");
        for (size_t i = 0; i < cells; ++i)
            for (size_t j = i + 1; j < cells; ++j) {
                const size_t p = pairIndex(i, j, cells);
                if (!image.cells[i].ok || !image.cells[j].ok)
                    continue;
                for (const auto &group : comparisonGroups(image, i, j, *models.front()))
                    for (const auto &metric : agreementMetrics())
                        values[p][group][metric].push_back(image.pairs[p].value(metric));
            }
    }
    std::vector<PairSummary> out(pairs);
    for (size_t p = 0; p < pairs; ++p)
        for (const auto &[group, metrics] : values[p])
            for (const auto &[metric, list] : metrics)
                out[p][group][metric] = summarise(list);
    return out;
}

size_t bytesHeld(const CellResult &cell)
{
    return sizeof(CellResult) + bytesHeld(cell.map) + bytesHeld(cell.prediction) +
           bytesHeld(cell.error) + bytesHeld(cell.layer);
}

GridAgreement gridAgreement(const std::vector<const CellResult *> &cells, int columns,
                            const AgreementOptions &options, const JobContext &ctx)
{
    if (columns <= 0 || cells.size() % size_t(columns) != 0)
        throw std::invalid_argument("gridAgreement: " + std::to_string(cells.size()) +
                                    " cells do not form rows of " + std::to_string(columns));
    GridAgreement out;
    out.pairs = cellAgreement(cells, options);
    ctx.throwIfCancelled();
    auto combine = [&](auto keep) {
        std::vector<cv::Mat> maps;
        for (size_t i = 0; i < cells.size(); ++i)
            if (cells[i]->ok && keep(int(i)))
                maps.push_back(cells[i]->map);
        return maps.empty() ? Consensus{} : consensusMaps(maps, options);
    };
    for (int c = 0; c < columns; ++c)
        out.consensus.push_back(combine([&](int i) { return i % columns == c; }));
    out.consensus.push_back(combine([](int) { return true; }));
    return out;
}

} // namespace heatlens
