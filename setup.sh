#!/usr/bin/env bash
# Heatlens set-up on Debian 12: installs what is missing, builds, trains the demo model once,
# then either opens the viewer on the demo data ("run") or runs the whole test suite ("test").
#   ./setup.sh run     ./setup.sh test     (as root, or with sudo available)
set -euo pipefail
cd "$(dirname "$0")"

MODE="${1:-run}"
BUILD_DIR="${HEATLENS_BUILD_DIR:-build}"
PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libopenblas0-pthread
  qt6-base-dev libqcustomplot-dev libqcustomplot2.1-qt6
  libopencv-dev libopencv-contrib-dev nlohmann-json3-dev zlib1g-dev
  dataset-fashion-mnist
  python3-torch python3-torchvision python3-numpy
  xvfb xauth fonts-dejavu-core
)

log() { printf '\033[1m[heatlens]\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

build() {
  # ccache: hit across clones of the tree (CI builds a fresh clone each time), and cache the
  # translation units that use precompiled headers (all of ours), which it refuses by default.
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
  export CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"
  local werror=OFF
  [ "${CI:-}" = "true" ] && werror=ON
  if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${HEATLENS_BUILD_TYPE:-Release}" \
      -DHEATLENS_WERROR="$werror" >/dev/null
  else
    cmake "$BUILD_DIR" -DHEATLENS_WERROR="$werror" >/dev/null
  fi
  log "building in $BUILD_DIR (first build takes several minutes on 2 cores)"
  cmake --build "$BUILD_DIR" -j "$(nproc)"
}

prepare_demo() {
  log "demo models (trained once, then cached)"
  "$BUILD_DIR/app/heatlens-cli" zoo
}

run_viewer() {
  if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    log "no display found: run this from a desktop session, or try: xvfb-run ./setup.sh run"
    exit 1
  fi
  exec "$BUILD_DIR/app/heatlens" --demo --method saliency
}

run_tests() {
  log "running the test suite"
  QT_QPA_PLATFORM=offscreen ctest --test-dir "$BUILD_DIR" --output-on-failure -j 2 \
    --timeout 1200
}

install_missing
build
prepare_demo
case "$MODE" in
  run) run_viewer ;;
  test) run_tests ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac
