#pragma once

#include <functional>
#include <ostream>
#include <string>

namespace heatlens {

// Writes `path` through a temporary file in the same directory that is renamed over the target
// only once `write` has returned and the stream is flushed: an interrupted write never leaves a
// half-written file and never destroys the previous version. Throws std::runtime_error naming
// the path on failure.
void writeFileAtomically(const std::string &path, const std::function<void(std::ostream &)> &write);

void writeTextAtomically(const std::string &path, const std::string &text);

// A temporary path next to `path` (same directory, so rename() is atomic); used by writers
// that need a file name rather than a stream (e.g. torch::jit::Module::save).
std::string temporarySiblingPath(const std::string &path);

// Renames `from` over `to`; throws naming both on failure.
void commitTemporary(const std::string &from, const std::string &to);

} // namespace heatlens
