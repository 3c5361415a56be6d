// Ensemble manifests: parse, or std::runtime_error naming the file; members are relative paths.
#include "FuzzTarget.h"

#include "core/model/EnsembleManifest.h"

#include <filesystem>
#include <stdexcept>

using namespace heatlens;

HEATLENS_FUZZ_TARGET(ensemble_manifest)
{
    const std::string path = fuzz::writeScratch("ensemble.json", data, size);
    try {
        const EnsembleManifest manifest = readEnsembleManifest(path);
        if (manifest.members.empty())
            fuzz::violated("a manifest without members was accepted");
        for (const auto &member : manifest.members)
            if (member.empty() || std::filesystem::path(member).is_absolute())
                fuzz::violated("an empty or absolute member path was accepted");
    } catch (const std::runtime_error &e) {
        fuzz::requireNamed(e, path);
    }
}
