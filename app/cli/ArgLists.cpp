#include "ArgLists.h"

#include "core/explain/MethodRegistry.h"

#include <algorithm>
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

} // namespace heatlens::cli
