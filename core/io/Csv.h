#pragma once

#include <optional>
#include <string>
#include <vector>

namespace heatlens {

// RFC 4180 fields: quoted (with doubled quotes) only when they contain a comma, a quote or a
// line break, so ordinary values stay readable.
std::string csvField(const std::string &text);
std::string csvLine(const std::vector<std::string> &fields); // without the line break
// A number as a field: shortest round-trip form; empty for NaN (what pandas reads as NaN).
std::string csvNumber(double value);

// The fields of one line (no line break), or nullopt when a quote is left open (a line cut by
// an interrupted write).
std::optional<std::vector<std::string>> parseCsvLine(const std::string &line);

} // namespace heatlens
