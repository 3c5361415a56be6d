#pragma once

#include <string>

namespace heatlens::test {

// A fresh empty directory under the build tree's tmp area, removed at process exit.
std::string makeTempDir(const std::string &prefix);

// Directory with models exported by Debian's python3-torch (see fixtures/make_fixtures.py).
std::string fixturesDir();

// True when the python fixtures were generated (python3-torch present at test time).
bool haveFixture(const std::string &name);

// Writes `bytes` to `path` (binary), throwing on failure.
void writeBytes(const std::string &path, const std::string &bytes);

} // namespace heatlens::test
