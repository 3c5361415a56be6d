#pragma once

#include "Args.h"

#include "core/explain/Params.h"
#include "core/model/Model.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace heatlens::cli {

// Option values shared by the dataset commands (evaluate, compare).

// Which part of a dataset run this process does: --shard I/N; else a Slurm array task
// (SLURM_ARRAY_TASK_ID, of SLURM_ARRAY_TASK_COUNT tasks or of the array's
// SLURM_ARRAY_TASK_MIN..MAX); else a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, of --shards N
// or HEATLENS_SHARDS tasks); else the whole run (0 of 1). Throws UsageError naming the option or
// variable that is malformed or out of range.
struct Shard
{
    int index = 0, count = 1;
    std::string from; // "--shard", "Slurm array", "Kubernetes indexed job", "" (whole run)
};
Shard shardOf(const Args &args);
// The shard's contiguous part of a run's images: positions [I n / N, (I + 1) n / N).
std::vector<size_t> shardPart(const std::vector<size_t> &indices, const Shard &shard);
// Where the shard writes: --out itself for a whole run, else --out/shard-I-of-N (so that N
// tasks given one --out never share files); heatlens-cli merge combines them.
std::string shardFolder(const std::string &out, const Shard &shard);

// "a,b,,c" -> {"a", "b", "c"}.
std::vector<std::string> splitList(const std::string &text);

// "0,5,10-19" -> the listed dataset indices in order; throws UsageError naming an item that is
// not an index or range in [0, size - 1], or when nothing is listed.
std::vector<size_t> parseIndices(const std::string &text, size_t size);

// The images a command runs on: --indices when given, else the first --limit images (default
// `defaultLimit`) of a dataset of `size`; throws UsageError for a limit below 1.
std::vector<size_t> selectedIndices(const Args &args, size_t size, int defaultLimit);

// The --param method.name=value options, per method id: every value parsed against the method's
// declaration (the registry throws naming an unknown method, resolveParams a bad value); throws
// UsageError for an item that is not method.name=value.
std::map<std::string, Params> parseMethodParams(const std::vector<std::string> &items);

// Items "<owner>.name=value" of option --<option>, each parsed against specsOf(id) (which
// throws naming an unknown id): the --param of methods and the --source-param of sources.
std::map<std::string, Params>
parseDottedParams(const std::vector<std::string> &items, const std::string &option,
                  const std::string &owner,
                  const std::function<std::vector<ParamSpec>(const std::string &)> &specsOf);

// A class given as a label of `model` or an index; throws UsageError naming both otherwise.
int parseTarget(const std::string &text, const Model &model);

// --index given for an image (a number) and for an interaction index (a name) alike, as the
// interactions and figure commands take it: the image's (-1 when none), the index's name ("" when
// none).
int imageIndex(const Args &args);
std::string indexName(const Args &args);

} // namespace heatlens::cli
