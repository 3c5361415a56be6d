#pragma once

#include <string>
#include <utility>
#include <vector>

namespace heatlens {

// What resumable dataset runs (evaluate, uncertainty) share: a folder whose run.json says what
// was run, and append-only CSV files whose cut last line an interruption may leave.

// Creates `dir` when missing. Returns true when it holds a run.json equal (as JSON) to
// `runJson`: the run resumes. Otherwise writes run.json and returns false; throws
// std::runtime_error naming run.json and the first differing option when it describes another
// run, unless `startOver`.
bool openRunFolder(const std::string &dir, const std::string &runJson, bool startOver);

// The lines of a file, each with whether it ended with a line break (a last line without one
// was cut by an interruption). Empty when the file cannot be read.
std::vector<std::pair<std::string, bool>> readLines(const std::string &path);

// Appends `text` and flushes; throws std::runtime_error naming the file on failure.
void appendText(const std::string &path, const std::string &text);

// A CSV number field: NaN when empty or not a number.
double parseNumber(const std::string &field);

} // namespace heatlens
