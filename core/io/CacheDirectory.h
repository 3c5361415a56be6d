#pragma once

#include <string>

namespace heatlens {

// Heatlens' own cache folder: $XDG_CACHE_HOME/heatlens, else $HOME/.cache/heatlens (the demo
// zoo and the inference-copy choices live below it).
std::string heatlensCacheDirectory();

} // namespace heatlens
