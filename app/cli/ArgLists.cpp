#include "ArgLists.h"

#include "core/explain/MethodRegistry.h"

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <sstream>

namespace heatlens::cli {

std::vector<std::string> splitList(const std::string &text)
{
    std::vector<std::string> items;
    std::stringstream s(text);
    std::string item;
    while (std::getline(s, item, ','))
        if (!item.empty())
            items.push_back(item);
    return items;
}

std::vector<size_t> parseIndices(const std::string &text, size_t size)
{
    std::vector<size_t> indices;
    for (const auto &item : splitList(text)) {
        try {
            const auto dash = item.find('-');
            size_t used = 0;
            const long first = std::stol(item.substr(0, dash), &used);
            long last = first;
            if (dash != std::string::npos)
                last = std::stol(item.substr(dash + 1), &used);
            if (first < 0 || last < first || size_t(last) >= size)
                throw std::out_of_range(item);
            for (long i = first; i <= last; ++i)
                indices.push_back(size_t(i));
        } catch (const std::exception &) {
            throw UsageError("--indices: \"" + item + "\" is not an index or range in [0, " +
                             std::to_string(size - 1) + "]");
        }
    }
    if (indices.empty())
        throw UsageError("--indices lists no image");
    return indices;
}

namespace {

int parseCount(const std::string &text, const std::string &what)
{
    try {
        size_t used = 0;
        const int value = std::stoi(text, &used);
        if (used == text.size())
            return value;
    } catch (const std::exception &) {
    }
    throw UsageError(what + ": \"" + text + "\" is not a whole number");
}

std::string environment(const char *name)
{
    const char *value = std::getenv(name);
    return value ? value : "";
}

} // namespace

Shard shardOf(const Args &args)
{
    Shard shard;
    if (args.has("shard")) {
        const std::string text = args.value("shard");
        const auto slash = text.find('/');
        if (slash == std::string::npos)
            throw UsageError("--shard expects I/N (shard I of N, from 0), got \"" + text + "\"");
        shard = {parseCount(text.substr(0, slash), "--shard"),
                 parseCount(text.substr(slash + 1), "--shard"), "--shard"};
    } else if (const std::string task = environment("SLURM_ARRAY_TASK_ID"); !task.empty()) {
        const int id = parseCount(task, "SLURM_ARRAY_TASK_ID");
        const std::string count = environment("SLURM_ARRAY_TASK_COUNT");
        const std::string lowest = environment("SLURM_ARRAY_TASK_MIN");
        const std::string highest = environment("SLURM_ARRAY_TASK_MAX");
        if (!lowest.empty() && !highest.empty()) {
            const int low = parseCount(lowest, "SLURM_ARRAY_TASK_MIN");
            shard = {id - low, parseCount(highest, "SLURM_ARRAY_TASK_MAX") - low + 1,
                     "Slurm array"};
        } else if (!count.empty()) {
            shard = {id, parseCount(count, "SLURM_ARRAY_TASK_COUNT"), "Slurm array"};
        } else {
            throw UsageError("SLURM_ARRAY_TASK_ID is set without SLURM_ARRAY_TASK_COUNT or "
                             "SLURM_ARRAY_TASK_MIN/MAX: give --shard I/N");
        }
    } else if (const std::string index = environment("JOB_COMPLETION_INDEX"); !index.empty()) {
        const std::string count =
            args.has("shards") ? args.value("shards") : environment("HEATLENS_SHARDS");
        if (count.empty())
            throw UsageError("JOB_COMPLETION_INDEX is set: give the job's completions as "
                             "--shards N (or HEATLENS_SHARDS)");
        shard = {parseCount(index, "JOB_COMPLETION_INDEX"),
                 parseCount(count, args.has("shards") ? "--shards" : "HEATLENS_SHARDS"),
                 "Kubernetes indexed job"};
    }
    if (shard.count < 1 || shard.index < 0 || shard.index >= shard.count)
        throw UsageError("shard " + std::to_string(shard.index) + " of " +
                         std::to_string(shard.count) + " (" + shard.from +
                         "): the index must be in [0, count - 1]");
    return shard;
}

std::vector<size_t> shardPart(const std::vector<size_t> &indices, const Shard &shard)
{
    const size_t n = indices.size();
    const size_t begin = n * size_t(shard.index) / size_t(shard.count);
    const size_t end = n * size_t(shard.index + 1) / size_t(shard.count);
    return {indices.begin() + long(begin), indices.begin() + long(end)};
}

std::string shardFolder(const std::string &out, const Shard &shard)
{
    if (shard.count == 1)
        return out;
    return out + "/shard-" + std::to_string(shard.index) + "-of-" + std::to_string(shard.count);
}

std::vector<size_t> selectedIndices(const Args &args, size_t size, int defaultLimit)
{
    if (args.has("indices"))
        return parseIndices(args.value("indices"), size);
    const int limit = args.intValue("limit", defaultLimit);
    if (limit < 1)
        throw UsageError("--limit must be at least 1, got " + args.value("limit"));
    std::vector<size_t> indices;
    for (size_t i = 0; i < std::min(size, size_t(limit)); ++i)
        indices.push_back(i);
    return indices;
}

std::map<std::string, Params>
parseDottedParams(const std::vector<std::string> &items, const std::string &option,
                  const std::string &owner,
                  const std::function<std::vector<ParamSpec>(const std::string &)> &specsOf)
{
    std::map<std::string, Params> params;
    for (const auto &item : items) {
        const auto dot = item.find('.'), eq = item.find('=');
        if (dot == std::string::npos || eq == std::string::npos || dot > eq)
            throw UsageError("--" + option + " expects " + owner + ".name=value, got \"" + item +
                             "\"");
        const std::string id = item.substr(0, dot);
        const std::string name = item.substr(dot + 1, eq - dot - 1);
        const auto parsed = resolveParams(specsOf(id), {{name, item.substr(eq + 1)}}, id);
        params[id].set(name, parsed.get(name));
    }
    return params;
}

std::map<std::string, Params> parseMethodParams(const std::vector<std::string> &items)
{
    return parseDottedParams(items, "param", "method", [](const std::string &id) {
        return MethodRegistry::instance().get(id).params();
    });
}

int parseTarget(const std::string &text, const Model &model)
{
    for (int c = 0; c < model.numClasses(); ++c)
        if (model.label(c) == text)
            return c;
    try {
        size_t used = 0;
        int c = std::stoi(text, &used);
        if (used == text.size() && c >= 0 && c < model.numClasses())
            return c;
    } catch (const std::exception &) {
    }
    throw UsageError("--target \"" + text + "\" is neither a label of " + model.displayName() +
                     " nor a class index in [0, " + std::to_string(model.numClasses() - 1) + "]");
}

namespace {

bool isNumber(const std::string &text)
{
    return !text.empty() && std::all_of(text.begin(), text.end(), ::isdigit);
}

} // namespace

int imageIndex(const Args &args)
{
    for (const auto &v : args.all("index"))
        if (isNumber(v))
            return std::stoi(v);
    return -1;
}

std::string indexName(const Args &args)
{
    for (const auto &v : args.all("index"))
        if (!isNumber(v))
            return v;
    return {};
}

} // namespace heatlens::cli
