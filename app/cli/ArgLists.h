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

} // namespace heatlens::cli
