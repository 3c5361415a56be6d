#include "ArgLists.h"
#include "Args.h"
#include "Commands.h"

#include "core/io/AtomicFile.h"
#include "core/io/Csv.h"
#include "core/io/Npy.h"
#include "core/report/RunFolder.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <set>

namespace heatlens::cli {

namespace fs = std::filesystem;

namespace {

const char *kUsage = R"(usage: heatlens-cli merge DIR... --out DIR [--force]

Combines the shard folders of one dataset run (heatlens-cli explain, evaluate, compare,
uncertainty or interactions with --shard I/N, a Slurm array or a Kubernetes indexed job: DIR/shard-I-of-N) into
exactly the files of a single run. explain: the stacks of every method in image order, index.csv
with positions of the whole run, run.json, overlays. evaluate: per_image.csv, curves.csv,
run.json, summary.json with its means and intervals recomputed from the rows, the plots.
compare: cells.csv, pairs.csv, run.json, summary.json recomputed from the rows, the figures.
uncertainty and interactions: per_image.csv, summary.json recomputed from the rows, run.json and
the figures.
A DIR may be a shard folder or the folder holding them. Refuses shards of different options,
missing or repeated shards and unfinished ones, naming them.
  --force        replace a run already in --out
)";

struct ShardRun
{
    fs::path dir;
    nlohmann::json run;
    int index = 0, count = 1;
    size_t images = 0;
};

nlohmann::json readJson(const fs::path &path)
{
    std::ifstream in(path);
    try {
        return nlohmann::json::parse(in);
    } catch (const std::exception &e) {
        throw std::runtime_error(path.string() + ": not JSON (" + e.what() + ")");
    }
}

// The shard folders named, directly or as the shard-I-of-N folders inside a named folder.
std::vector<ShardRun> findShards(const std::vector<std::string> &dirs)
{
    static const std::regex shardName(R"(shard-\d+-of-\d+)");
    std::vector<fs::path> folders;
    for (const auto &d : dirs) {
        if (fs::exists(fs::path(d) / "run.json")) {
            folders.push_back(d);
            continue;
        }
        if (!fs::is_directory(d))
            throw UsageError(d + ": no such folder");
        std::vector<fs::path> inside;
        for (const auto &entry : fs::directory_iterator(d))
            if (entry.is_directory() &&
                std::regex_match(entry.path().filename().string(), shardName) &&
                fs::exists(entry.path() / "run.json"))
                inside.push_back(entry.path());
        if (inside.empty())
            throw UsageError(d + ": neither a shard folder (no run.json) nor a folder of them");
        std::sort(inside.begin(), inside.end());
        folders.insert(folders.end(), inside.begin(), inside.end());
    }
    std::vector<ShardRun> shards;
    for (const auto &folder : folders) {
        ShardRun s;
        s.dir = folder;
        s.run = readJson(folder / "run.json");
        const std::string format = s.run.value("format", "");
        if (format != "heatlens-explain-1" && format != "heatlens-uncertainty-1" &&
            format != "heatlens-interactions-1" && format != "heatlens-evaluation-1" &&
            format != "heatlens-comparison-1")
            throw UsageError((folder / "run.json").string() + ": a " +
                             (format.empty() ? std::string("unknown") : format) +
                             " run; merge combines the shards of heatlens-cli explain, "
                             "evaluate, compare, uncertainty and interactions runs");
        if (!s.run.contains("shard"))
            throw UsageError((folder / "run.json").string() + ": not a shard of a run");
        s.index = s.run["shard"].value("index", 0);
        s.count = s.run["shard"].value("count", 1);
        s.images = s.run.value("images", size_t(0));
        shards.push_back(std::move(s));
    }
    return shards;
}

// What every shard of one run has in common: its run.json without the shard's own fields.
nlohmann::json common(nlohmann::json run)
{
    run.erase("images");
    run.erase("shard");
    return run;
}

std::vector<std::vector<std::string>> indexRows(const fs::path &path, std::string &header)
{
    std::vector<std::vector<std::string>> rows;
    const auto lines = readLines(path.string());
    if (lines.empty())
        throw std::runtime_error(path.string() + ": missing or empty");
    header = lines.front().first;
    for (size_t i = 1; i < lines.size(); ++i)
        if (lines[i].second)
            if (auto fields = parseCsvLine(lines[i].first))
                rows.push_back(*fields);
    return rows;
}

} // namespace

int runMerge(const std::vector<std::string> &argv)
{
    std::vector<std::string> dirs, options;
    for (size_t i = 0; i < argv.size(); ++i) {
        if (argv[i] == "--out" && i + 1 < argv.size()) {
            options.push_back(argv[i]);
            options.push_back(argv[++i]);
        } else if (argv[i].rfind("--", 0) == 0) {
            options.push_back(argv[i]);
        } else {
            dirs.push_back(argv[i]);
        }
    }
    Args args(options, {"out"}, {"force", "help"});
    if (args.has("help")) {
        std::cout << kUsage;
        return 0;
    }
    const std::string out = args.required("out");
    if (dirs.empty())
        throw UsageError("give the shard folders to merge (or the folder holding them)");
    auto shards = findShards(dirs);
    std::sort(shards.begin(), shards.end(),
              [](const ShardRun &a, const ShardRun &b) { return a.index < b.index; });
    const nlohmann::json shared = common(shards.front().run);
    const int count = shards.front().count;
    for (const auto &s : shards) {
        if (s.count != count || common(s.run) != shared) {
            std::string differs;
            for (const auto &[key, value] : shared.items())
                if (!common(s.run).contains(key) || common(s.run)[key] != value)
                    differs += (differs.empty() ? "" : ", ") + key;
            throw UsageError(s.dir.string() + " is a shard of another run than " +
                             shards.front().dir.string() + " (they differ in " +
                             (differs.empty() ? std::string("the shard count") : differs) + ")");
        }
    }
    for (int i = 0; i < count; ++i) {
        const auto n = std::count_if(shards.begin(), shards.end(),
                                     [&](const ShardRun &s) { return s.index == i; });
        if (n != 1)
            throw UsageError(
                "shard " + std::to_string(i) + " of " + std::to_string(count) +
                (n == 0 ? " is missing" : " is given " + std::to_string(n) + " times"));
    }
    if (fs::exists(fs::path(out) / "run.json") && !args.has("force"))
        throw UsageError((fs::path(out) / "run.json").string() +
                         " exists: choose another folder or --force");
    if (const std::string format = shared.value("format", ""); format != "heatlens-explain-1") {
        // Finished shards: a summary, and a row set for every image but the skipped ones.
        std::vector<std::string> folders;
        for (const auto &s : shards) {
            const fs::path summary = s.dir / "summary.json";
            if (!fs::exists(summary))
                throw UsageError(s.dir.string() + " is unfinished (no summary.json); run its "
                                                  "command again");
            const auto skipped = readJson(summary).value("skipped", std::vector<std::string>{});
            std::set<std::string> images;
            const char *rows = format == "heatlens-comparison-1" ? "cells.csv" : "per_image.csv";
            const auto lines = readLines((s.dir / rows).string());
            for (size_t i = 1; i < lines.size(); ++i)
                if (lines[i].second)
                    images.insert(lines[i].first.substr(0, lines[i].first.find(',')));
            if (images.size() + skipped.size() != s.images)
                throw UsageError(s.dir.string() + " is unfinished: " +
                                 std::to_string(images.size() + skipped.size()) + " of " +
                                 std::to_string(s.images) + " images; run its command again");
            folders.push_back(s.dir.string());
        }
        nlohmann::json whole = shared;
        fs::remove(fs::path(out) / "per_image.csv");
        if (format == "heatlens-evaluation-1" || format == "heatlens-comparison-1") {
            // The run.json of one process's run.
            size_t images = 0;
            for (const auto &s : shards)
                images += s.images;
            whole["images"] = images;
            whole["shard"] = {{"index", 0}, {"count", 1}, {"of_images", images}};
            fs::remove(fs::path(out) / "run.json");
            return format == "heatlens-evaluation-1"
                       ? mergeEvaluation(folders, whole.dump(2) + "\n", out)
                       : mergeComparison(folders, whole.dump(2) + "\n", out);
        }
        whole.erase("selection"); // a whole run names no selection
        return format == "heatlens-uncertainty-1"
                   ? mergeUncertainty(folders, whole.dump(2) + "\n", out)
                   : mergeInteractions(folders, whole.dump(2) + "\n", out);
    }
    // Every shard finished: as many rows as images.
    std::string header;
    std::vector<std::vector<std::vector<std::string>>> rows;
    for (const auto &s : shards) {
        std::string h;
        rows.push_back(indexRows(s.dir / "index.csv", h));
        if (!header.empty() && h != header)
            throw UsageError((s.dir / "index.csv").string() + ": other columns than " +
                             (shards.front().dir / "index.csv").string());
        header = h;
        if (rows.back().size() != s.images)
            throw UsageError(s.dir.string() +
                             " is unfinished: " + std::to_string(rows.back().size()) + " of " +
                             std::to_string(s.images) + " images; run its command again");
    }
    fs::create_directories(out);
    const auto methods = shared.at("methods").get<std::vector<std::string>>();
    size_t images = 0;
    for (const auto &s : shards)
        images += s.images;
    // The stacks, shard after shard in image order: one map in memory at a time.
    for (const auto &method : methods) {
        std::unique_ptr<NpyStackFile> merged;
        size_t position = 0;
        for (const auto &s : shards) {
            const std::string part = (s.dir / (method + ".npy")).string();
            for (size_t k = 0; k < s.images; ++k, ++position) {
                const cv::Mat map = readNpyStackMap(part, k);
                if (!merged) {
                    fs::remove(fs::path(out) / (method + ".npy"));
                    merged = std::make_unique<NpyStackFile>(
                        (fs::path(out) / (method + ".npy")).string(), images, map.rows, map.cols);
                }
                merged->write(position, map);
            }
        }
    }
    // index.csv with the whole run's positions.
    std::string text = header + "\n";
    size_t offset = 0;
    for (size_t i = 0; i < shards.size(); ++i) {
        auto part = rows[i];
        std::sort(part.begin(), part.end(), [](const auto &a, const auto &b) {
            return std::stoull(a.front()) < std::stoull(b.front());
        });
        for (auto &row : part) {
            row.front() = std::to_string(offset + std::stoull(row.front()));
            text += csvLine(row) + "\n";
        }
        offset += shards[i].images;
    }
    writeTextAtomically((fs::path(out) / "index.csv").string(), text);
    if (shared.value("overlays", false)) {
        fs::create_directories(fs::path(out) / "overlays");
        for (const auto &s : shards)
            for (const auto &entry : fs::directory_iterator(s.dir / "overlays"))
                fs::copy_file(entry.path(), fs::path(out) / "overlays" / entry.path().filename(),
                              fs::copy_options::overwrite_existing);
    }
    // The run.json of a single run over the same images.
    nlohmann::json run = shared;
    run["images"] = images;
    run["shard"] = {{"index", 0}, {"count", 1}, {"of_images", images}};
    writeTextAtomically((fs::path(out) / "run.json").string(), run.dump(2) + "\n");
    std::cout << "merged " << count << " shards, " << images << " images, into " << out << "\n";
    return 0;
}

} // namespace heatlens::cli
