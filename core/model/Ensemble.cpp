#include "core/model/Ensemble.h"

#include "core/io/AtomicFile.h"
#include "core/model/ModuleBuilder.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace heatlens {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

[[noreturn]] void fail(const std::string &path, const std::string &what)
{
    throw std::runtime_error("ensemble manifest " + path + ": " + what);
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

EnsembleManifest readEnsembleManifest(const std::string &manifestPath)
{
    std::ifstream in(manifestPath, std::ios::binary);
    if (!in)
        fail(manifestPath, "cannot be read");
    std::stringstream buffer;
    buffer << in.rdbuf();
    json j;
    try {
        j = json::parse(buffer.str());
    } catch (const json::parse_error &e) {
        fail(manifestPath, std::string("not valid JSON (") + e.what() + ")");
    }
    if (!j.is_object() || j.value("format", std::string()) != "heatlens-ensemble")
        fail(manifestPath, "not a Heatlens ensemble (\"format\" must be \"heatlens-ensemble\")");
    EnsembleManifest m;
    try {
        const int version = j.value("version", 1);
        if (version < 1 || version > EnsembleManifest::kVersion)
            fail(manifestPath, "unsupported version " + std::to_string(version));
        m.name = j.value("name", std::string());
        m.description = j.value("description", std::string());
        m.members = j.at("members").get<std::vector<std::string>>();
    } catch (const json::exception &) {
        fail(manifestPath, "\"members\" must be a list of model file names");
    }
    if (m.members.empty())
        fail(manifestPath, "\"members\" is empty");
    for (const auto &member : m.members)
        if (member.empty() || fs::path(member).is_absolute())
            fail(manifestPath, "member \"" + member + "\" must be a path relative to the folder");
    return m;
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

torch::jit::Module composeEnsemble(const std::vector<torch::jit::Module> &members)
{
    if (members.empty())
        throw std::invalid_argument("an ensemble needs at least one member");
    auto cu = std::make_shared<torch::jit::CompilationUnit>();
    auto net = builder::makeModule(cu, "HeatlensEnsemble");
    net.register_module("members", builder::moduleList(cu, members));
    std::ostringstream src;
    src.precision(17);
    src << "def member_logits(self, x):\n    return torch.stack([";
    for (size_t i = 0; i < members.size(); ++i)
        src << builder::item("members", i) << ".forward(x), ";
    src << "], 0)\n\n"
        << "def forward(self, x):\n"
        << "    logp = torch.log_softmax(self.member_logits(x), 2)\n"
        << "    return torch.logsumexp(logp, 0) - " << std::log(double(members.size())) << "\n";
    net.define(src.str());
    net.eval();
    return net;
}

} // namespace heatlens
