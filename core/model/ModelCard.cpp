#include "core/model/ModelCard.h"

#include "core/io/AtomicFile.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace heatlens {

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string &source, const std::string &what)
{
    throw std::runtime_error("model card " + source + ": " + what);
}

// Conversions that check range as well as type: nlohmann's get<int>() of 1e300, or get<float>()
// of 1e300, is a cast out of range (undefined behaviour), not an error.
struct WrongValue
{
};

void convert(const json &v, std::string &out)
{
    if (!v.is_string())
        throw WrongValue{};
    out = v.get<std::string>();
}

void convert(const json &v, int &out)
{
    constexpr double kLimit = 2147483647.0;
    if (v.is_number_unsigned()) {
        if (v.get<uint64_t>() > uint64_t(kLimit))
            throw WrongValue{};
        out = int(v.get<uint64_t>());
        return;
    }
    if (v.is_number_integer()) {
        const auto wide = v.get<int64_t>();
        if (wide > int64_t(kLimit) || wide < -int64_t(kLimit))
            throw WrongValue{};
        out = int(wide);
        return;
    }
    if (!v.is_number_float())
        throw WrongValue{};
    const double d = v.get<double>();
    if (!(std::abs(d) <= kLimit) || d != std::floor(d))
        throw WrongValue{};
    out = int(d);
}

void convert(const json &v, float &out)
{
    if (!v.is_number())
        throw WrongValue{};
    const double d = v.get<double>();
    if (!(std::abs(d) <= double(std::numeric_limits<float>::max())))
        throw WrongValue{};
    out = float(d);
}

template<typename T> void convert(const json &v, std::vector<T> &out)
{
    if (!v.is_array())
        throw WrongValue{};
    out.assign(v.size(), T());
    for (size_t i = 0; i < v.size(); ++i)
        convert(v[i], out[i]);
}

template<typename T> void read(const json &j, const char *key, T &out, const std::string &source)
{
    if (!j.contains(key) || j.at(key).is_null())
        return;
    try {
        T value;
        convert(j.at(key), value);
        out = std::move(value);
    } catch (const WrongValue &) {
        fail(source, std::string("field \"") + key +
                         "\" has the wrong type or is out of range (got " + j.at(key).dump() + ")");
    }
}

void readInput(const json &j, ModelCard &card, const std::string &source)
{
    if (!j.contains("input"))
        return;
    const json &in = j.at("input");
    if (!in.is_object())
        fail(source, "\"input\" must be an object, got " + in.dump());
    read(in, "channels", card.inputChannels, source);
    if (in.contains("size")) {
        std::vector<int> size;
        read(in, "size", size, source);
        if (size.size() != 2 || size[0] <= 0 || size[1] <= 0)
            fail(source, "\"input.size\" must be [height, width], got " + in.at("size").dump());
        card.inputHeight = size[0];
        card.inputWidth = size[1];
    }
    read(in, "color_order", card.colorOrder, source);
    read(in, "mean", card.mean, source);
    read(in, "std", card.std, source);
    read(in, "resize", card.resize, source);
    read(in, "resize_shorter", card.resizeShorter, source);
}

void readTransformer(const json &j, ModelCard &card, const std::string &source)
{
    if (!j.contains("transformer"))
        return;
    const json &t = j.at("transformer");
    if (!t.is_object())
        fail(source, "\"transformer\" must be an object, got " + t.dump());
    read(t, "attention", card.attention, source);
    read(t, "cls_token", card.clsToken, source);
    if (t.contains("patch_grid")) {
        std::vector<int> grid;
        read(t, "patch_grid", grid, source);
        if (grid.size() != 2 || grid[0] <= 0 || grid[1] <= 0)
            fail(source, "\"transformer.patch_grid\" must be [rows, cols], got " +
                             t.at("patch_grid").dump());
        card.patchGridHeight = grid[0];
        card.patchGridWidth = grid[1];
    }
}

void readGroups(const json &j, ModelCard &card, const std::string &source)
{
    if (!j.contains("feature_groups"))
        return;
    const json &g = j.at("feature_groups");
    if (!g.is_object())
        fail(source, "\"feature_groups\" must be an object, got " + g.dump());
    std::vector<int> grid;
    read(g, "grid", grid, source);
    if (grid.size() != 2 || grid[0] <= 0 || grid[1] <= 0)
        fail(source, "\"feature_groups.grid\" must be [rows, cols], got " +
                         (g.contains("grid") ? g.at("grid").dump() : std::string("nothing")));
    card.groupGridRows = grid[0];
    card.groupGridCols = grid[1];
    std::vector<std::vector<int>> pairs;
    read(g, "pairs", pairs, source);
    const int groups = grid[0] * grid[1];
    for (const auto &p : pairs) {
        if (p.size() != 2 || p[0] < 0 || p[1] < 0 || p[0] >= groups || p[1] >= groups)
            fail(source, "\"feature_groups.pairs\" must list [a, b] group indices below " +
                             std::to_string(groups));
        card.groupPairs.emplace_back(p[0], p[1]);
    }
    read(g, "method", card.groupMethod, source);
}

void validate(const ModelCard &card, const std::string &source)
{
    if (card.formatVersion < 1 || card.formatVersion > ModelCard::kFormatVersion)
        fail(source, "unsupported format_version " + std::to_string(card.formatVersion) +
                         " (this Heatlens reads 1.." + std::to_string(ModelCard::kFormatVersion) +
                         ")");
    static const std::vector<std::string> families{"cnn", "vit", "groups", "ensemble", "other"};
    if (std::find(families.begin(), families.end(), card.family) == families.end())
        fail(source,
             "\"family\" must be cnn, vit, groups, ensemble or other, got \"" + card.family + "\"");
    if (card.inputChannels != 0 && card.inputChannels != 1 && card.inputChannels != 3)
        fail(source,
             "\"input.channels\" must be 1 or 3, got " + std::to_string(card.inputChannels));
    if (card.colorOrder != "rgb" && card.colorOrder != "bgr")
        fail(source, "\"input.color_order\" must be rgb or bgr, got \"" + card.colorOrder + "\"");
    if (card.resize != "stretch" && card.resize != "center-crop")
        fail(source,
             "\"input.resize\" must be stretch or center-crop, got \"" + card.resize + "\"");
    if (card.mean.size() != card.std.size())
        fail(source, "\"input.mean\" and \"input.std\" must have the same length");
    for (float s : card.std)
        if (!(s > 0.0f))
            fail(source, "\"input.std\" values must be positive, got " + std::to_string(s));
}

std::vector<std::string> readLabelsFile(const std::string &path, const std::string &source)
{
    std::ifstream in(path);
    if (!in)
        fail(source, "cannot read labels_file " + path);
    std::vector<std::string> labels;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (!line.empty())
            labels.push_back(line);
    }
    return labels;
}

} // namespace

ModelCard parseModelCard(const std::string &text, const std::string &source)
{
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception &e) { // parse_error, or out_of_range for 1e999
        fail(source, std::string("not valid JSON (") + e.what() + ")");
    }
    if (!j.is_object())
        fail(source, "top level must be a JSON object");
    ModelCard card;
    read(j, "format_version", card.formatVersion, source);
    read(j, "name", card.name, source);
    read(j, "family", card.family, source);
    read(j, "description", card.description, source);
    readInput(j, card, source);
    read(j, "labels", card.labels, source);
    read(j, "labels_file", card.labelsFile, source);
    read(j, "cam_layer", card.camLayer, source);
    readTransformer(j, card, source);
    readGroups(j, card, source);
    validate(card, source);
    if (card.labels.empty() && !card.labelsFile.empty()) {
        auto dir = std::filesystem::path(source).parent_path();
        card.labels = readLabelsFile((dir / card.labelsFile).string(), source);
    }
    return card;
}

std::optional<ModelCard> readModelCard(const std::string &path)
{
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return std::nullopt;
    std::ifstream in(path, std::ios::binary);
    if (!in)
        fail(path, "cannot be read");
    std::stringstream buffer;
    buffer << in.rdbuf();
    return parseModelCard(buffer.str(), path);
}

std::string modelCardToJson(const ModelCard &card)
{
    json j;
    j["format_version"] = card.formatVersion;
    j["name"] = card.name;
    j["family"] = card.family;
    if (!card.description.empty())
        j["description"] = card.description;
    json in;
    in["channels"] = card.inputChannels;
    if (card.inputHeight > 0 && card.inputWidth > 0) // 0 x 0: unknown, probed at load
        in["size"] = {card.inputHeight, card.inputWidth};
    in["color_order"] = card.colorOrder;
    in["mean"] = card.mean;
    in["std"] = card.std;
    in["resize"] = card.resize;
    if (card.resizeShorter > 0)
        in["resize_shorter"] = card.resizeShorter;
    j["input"] = in;
    j["labels"] = card.labels;
    if (!card.camLayer.empty())
        j["cam_layer"] = card.camLayer;
    if (card.family == "vit" || !card.attention.empty() || card.patchGridHeight > 0) {
        json t;
        t["attention"] = card.attention;
        t["cls_token"] = card.clsToken;
        if (card.patchGridHeight > 0 && card.patchGridWidth > 0)
            t["patch_grid"] = {card.patchGridHeight, card.patchGridWidth};
        j["transformer"] = t;
    }
    if (card.groupGridRows > 0) {
        json g;
        g["grid"] = {card.groupGridRows, card.groupGridCols};
        json pairs = json::array();
        for (const auto &[a, b] : card.groupPairs)
            pairs.push_back({a, b});
        g["pairs"] = pairs;
        if (!card.groupMethod.empty())
            g["method"] = card.groupMethod;
        j["feature_groups"] = g;
    }
    return j.dump(2) + "\n";
}

std::string cardPathFor(const std::string &modelPath)
{
    return std::filesystem::path(modelPath).replace_extension(".json").string();
}

} // namespace heatlens
