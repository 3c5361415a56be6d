#include "core/model/EnsembleManifest.h"

#include "core/io/AtomicFile.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace heatlens {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

[[noreturn]] void fail(const std::string &source, const std::string &what)
{
    throw std::runtime_error("ensemble manifest " + source + ": " + what);
}

} // namespace

std::string ensembleManifestPath(const std::string &path)
{
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        auto manifest = fs::path(path) / kEnsembleManifestName;
        return fs::exists(manifest, ec) ? manifest.string() : std::string();
    }
    if (fs::path(path).filename() == kEnsembleManifestName && fs::exists(path, ec))
        return path;
    return {};
}

EnsembleManifest parseEnsembleManifest(const std::string &text, const std::string &source)
{
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception &e) { // parse_error, or out_of_range for 1e999
        fail(source, std::string("not valid JSON (") + e.what() + ")");
    }
    EnsembleManifest m;
    try {
        if (!j.is_object() || j.value("format", std::string()) != "heatlens-ensemble")
            fail(source, "not a Heatlens ensemble (\"format\" must be \"heatlens-ensemble\")");
        const int version = j.value("version", 1);
        if (version < 1 || version > EnsembleManifest::kVersion)
            fail(source, "unsupported version " + std::to_string(version));
        m.name = j.value("name", std::string());
        m.description = j.value("description", std::string());
    } catch (const json::exception &e) {
        fail(source, std::string("\"format\", \"version\", \"name\" and \"description\" must be "
                                 "a string, a whole number, a string and a string (") +
                         e.what() + ")");
    }
    try {
        m.members = j.at("members").get<std::vector<std::string>>();
    } catch (const json::exception &) {
        fail(source, "\"members\" must be a list of model file names");
    }
    if (m.members.empty())
        fail(source, "\"members\" is empty");
    for (const auto &member : m.members)
        if (member.empty() || member.find('\0') != std::string::npos ||
            fs::path(member).is_absolute())
            fail(source, "member \"" + member + "\" must be a path relative to the folder");
    return m;
}

EnsembleManifest readEnsembleManifest(const std::string &manifestPath)
{
    std::ifstream in(manifestPath, std::ios::binary);
    if (!in)
        fail(manifestPath, "cannot be read");
    std::stringstream buffer;
    buffer << in.rdbuf();
    return parseEnsembleManifest(buffer.str(), manifestPath);
}

void writeEnsembleManifest(const std::string &dir, const EnsembleManifest &manifest)
{
    json j;
    j["format"] = "heatlens-ensemble";
    j["version"] = EnsembleManifest::kVersion;
    j["name"] = manifest.name;
    if (!manifest.description.empty())
        j["description"] = manifest.description;
    j["members"] = manifest.members;
    fs::create_directories(dir);
    writeTextAtomically((fs::path(dir) / kEnsembleManifestName).string(), j.dump(2) + "\n");
}

} // namespace heatlens
