#!/usr/bin/env bash
# Heatlens set-up on Debian 12: installs what is missing, builds, trains the demo model once,
# then either opens the viewer on the demo data ("run") or runs the whole test suite ("test").
#   ./setup.sh run     ./setup.sh test     (as root, or with sudo available)
# Hardening modes, each in its own build folder:
#   ./setup.sh asan           the whole suite under AddressSanitizer + UBSan (build-asan)
#   ./setup.sh tsan           the JobRunner, thread and widget tests under ThreadSanitizer
#                             (build-tsan; the demo zoo is trained by the normal build)
#   ./setup.sh fuzz [SECONDS] libFuzzer on every parser of user files, SECONDS each (default
#                             180), growing the corpus kept in tests/data/fuzz (build-fuzz)
set -euo pipefail
cd "$(dirname "$0")"

MODE="${1:-run}"
case "$MODE" in
  asan) DEFAULT_BUILD_DIR=build-asan ;;
  fuzz) DEFAULT_BUILD_DIR=build-fuzz ;;
  tsan) DEFAULT_BUILD_DIR=build-tsan ;;
  *) DEFAULT_BUILD_DIR=build ;;
esac
BUILD_DIR="${HEATLENS_BUILD_DIR:-$DEFAULT_BUILD_DIR}"
PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libopenblas0-pthread
  qt6-base-dev qt6-svg-dev libqcustomplot-dev libqcustomplot2.1-qt6
  libopencv-dev libopencv-contrib-dev nlohmann-json3-dev zlib1g-dev
  dataset-fashion-mnist
  python3-torch python3-torchvision python3-numpy
  xvfb xauth fonts-dejavu-core
)
[ "$MODE" = fuzz ] && PACKAGES+=(clang libclang-rt-14-dev)
[ "$MODE" = test ] && PACKAGES+=(clang-format python3 slurm-wlm munge) # munge, slurm: the cluster test

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
  local options=(-DHEATLENS_WERROR="$werror") type="${HEATLENS_BUILD_TYPE:-Release}"
  case "$MODE" in
    asan) options+=(-DHEATLENS_SANITIZE=ON) type=Release ;;
    tsan) options+=(-DHEATLENS_TSAN=ON) type=Release ;;
    fuzz) options+=(-DHEATLENS_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++) type=RelWithDebInfo ;;
  esac
  if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$type" "${options[@]}" >/dev/null
  else
    cmake "$BUILD_DIR" "${options[@]}" >/dev/null
  fi
  log "building in $BUILD_DIR (first build takes several minutes on 2 cores)"
  cmake --build "$BUILD_DIR" -j "$(nproc)" "$@"
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

# Sanitizer runs: stop at the first error with a stack; LibTorch and Qt are not instrumented, so
# container-overflow checks (which need every vector user instrumented) are off, and leaks are
# reported only for Heatlens' own allocations (tests/sanitizers/lsan.supp). LeakSanitizer's own
# tracer crashes (SIGSEGV) at the exit of the launched programs (heatlens-cli loads its program
# with dlopen), so the end-to-end tests, which run heatlens-cli, run without leak checks.
run_asan_tests() {
  local asan="detect_container_overflow=0:abort_on_error=1:detect_stack_use_after_return=0"
  export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  log "running the test suite under AddressSanitizer + UBSan (leaks checked in-process)"
  local status=0
  ASAN_OPTIONS="$asan" QT_QPA_PLATFORM=offscreen ctest --test-dir "$BUILD_DIR" \
    --output-on-failure -j 2 --timeout 2400 -E '^cli_' || status=1
  log "the end-to-end tests under AddressSanitizer + UBSan (no leak checks)"
  ASAN_OPTIONS="$asan:detect_leaks=0" QT_QPA_PLATFORM=offscreen ctest --test-dir "$BUILD_DIR" \
    --output-on-failure -j 2 --timeout 2400 -R '^cli_' || status=1
  return $status
}

# The tests where threads meet: the JobRunner, the thread budget, and every widget test (each
# runs jobs on the runner's worker and takes their results on the GUI thread). LibTorch, OpenMP
# and Qt are not instrumented; their internals are ignored (ignore_noninstrumented_modules), and
# every hand-off of ours goes through a std::mutex TSan sees (JobRunner::post).
TSAN_TESTS=(
  job_runner_supersedes_cancels_and_skips_a_key_in_flight
  threads_follow_the_cpu_budget_and_reach_the_worker
  main_window_shows_heatmap_for_demo_model
  curves_panel_plots_deletion_and_insertion_for_the_explanation
  sanity_view_shows_randomisation_steps_and_verdict
  compare_grid_fills_every_cell_and_shows_agreement
  viewer_stays_responsive_and_bounded
)

prepare_tsan() {
  # The zoo is trained by the normal build: an instrumented trainer would take hours.
  (MODE=test BUILD_DIR=build && build --target heatlens-cli && prepare_demo)
  build --target "${TSAN_TESTS[@]/#/test_}"
}

run_tsan_tests() {
  local pattern
  pattern="^($(IFS='|'; echo "${TSAN_TESTS[*]}"))\$"
  log "running the JobRunner, thread and widget tests under ThreadSanitizer"
  TSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/tsan.supp:ignore_noninstrumented_modules=1:second_deadlock_stack=1:halt_on_error=1" \
    QT_QPA_PLATFORM=offscreen ctest --test-dir "$BUILD_DIR" --output-on-failure -j 2 \
    --timeout 2400 -R "$pattern"
}

# Each fuzzer runs SECONDS on its kept corpus, two at a time; what it learns is merged back into
# tests/data/fuzz/<target>/ (only inputs that add coverage) and every crashing input is saved
# there as crash-*, which the normal suite replays (parsers_survive_their_fuzz_corpus).
run_fuzzers() {
  local seconds="${1:-180}" failed=() pids=() names=()
  for fuzzer in "$BUILD_DIR"/tests/fuzz/fuzz_*; do
    local name="${fuzzer##*/fuzz_}"
    local kept="tests/data/fuzz/$name"
    local work="$BUILD_DIR/corpus/$name"
    mkdir -p "$work" "$kept"
    log "fuzzing $name for ${seconds}s"
    "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$kept/" "$work" "$kept" >"$BUILD_DIR/fuzz-$name.log" 2>&1 &
    pids+=($!) names+=("$name")
    if [ ${#pids[@]} -ge "$(nproc)" ]; then
      wait "${pids[0]}" || failed+=("${names[0]}")
      pids=("${pids[@]:1}") names=("${names[@]:1}")
    fi
  done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || failed+=("${names[$i]}"); done
  for fuzzer in "$BUILD_DIR"/tests/fuzz/fuzz_*; do
    local name="${fuzzer##*/fuzz_}"
    "$fuzzer" -merge=1 "tests/data/fuzz/$name" "$BUILD_DIR/corpus/$name" \
      >"$BUILD_DIR/merge-$name.log" 2>&1 || true
    grep -h -E "stat::number_of_executed_units|stat::peak_rss_mb|cov: " \
      "$BUILD_DIR/fuzz-$name.log" | tail -n 3 | sed "s/^/  $name: /"
  done
  if [ ${#failed[@]} -gt 0 ]; then
    log "crashes in: ${failed[*]} (inputs saved as tests/data/fuzz/<target>/crash-*; logs in $BUILD_DIR)"
    exit 1
  fi
  log "no crashes"
}

# Static checks of the tree, before the (long) build: core's layer order and no Qt in core
# (.ci/check-layers), and every C++ file formatted as .clang-format says.
check_tree() {
  log "checking core's layer order"
  python3 .ci/check-layers
  log "checking the format of every C++ file"
  local files
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    files=$(git ls-files '*.cpp' '*.h')
  else
    files=$(find app core ui tests -name '*.cpp' -o -name '*.h')
  fi
  # shellcheck disable=SC2086  # one word per file name; ours have no spaces
  clang-format --dry-run --Werror $files
}

install_missing
case "$MODE" in
  run) build; prepare_demo; run_viewer ;;
  test) check_tree; build; prepare_demo; run_tests ;;
  asan) build; prepare_demo; run_asan_tests ;;
  tsan) prepare_tsan; run_tsan_tests ;;
  fuzz) build --target heatlens_fuzzers; run_fuzzers "${2:-180}" ;;
  *) echo "usage: $0 run|test|asan|tsan|fuzz [seconds]" >&2; exit 2 ;;
esac
