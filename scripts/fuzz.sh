#!/usr/bin/env bash
# Coverage-guided fuzzing of the shim's C code that reads network or producer data, with
# libFuzzer (Debian's clang and libclang-rt-dev) under AddressSanitizer and UBSan. The targets
# are libs/fuzz/fuzz_*.c; each is built into libs/build-fuzz/ with the shim sources it covers.
#
#   bash scripts/fuzz.sh                 # every target, 10^6 executions each
#   bash scripts/fuzz.sh rs enet         # some targets
#   RUNS=100000 bash scripts/fuzz.sh     # fewer executions
#   bash scripts/fuzz.sh --replay        # no libFuzzer: each harness built with gcc and
#                                        # libs/fuzz/driver.c under ASan/UBSan, run once over its
#                                        # regressions and seed corpus (what the suite runs)
#   bash scripts/fuzz.sh --coverage rs   # line and branch coverage of the shim sources over the
#                                        # corpus a fuzz run grew (clang source-based coverage)
#
# The corpus of each target grows in libs/build-fuzz/corpus/<target>/ (seeded from
# libs/fuzz/corpus/<target>/); a crash is written to libs/build-fuzz/crash-<target>-*, reported,
# and fails the run: fix it, then keep the input in libs/fuzz/regressions/<target>/ (the suite
# replays those, test/fuzz/regressions.test.ts). Needs: clang libclang-rt-dev (install with
# `apt-get install -y --no-install-recommends clang libclang-rt-dev`; the suite does not).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-1000000}
out=libs/build-fuzz
replay=0
coverage=0
if [ "${1:-}" = --coverage ]; then
  coverage=1
  shift
fi
if [ "${1:-}" = --replay ]; then
  replay=1
  shift
  out=${FUZZ_REPLAY_DIR:-libs/build-fuzz/replay}
fi
mkdir -p "$out"
[ $replay = 1 ] || command -v clang >/dev/null || { echo "fuzz.sh: clang not found: apt-get install -y --no-install-recommends clang libclang-rt-dev" >&2; exit 2; }

ffmpeg_pc=$(sed -n 's/^FFMPEG_PKG_CONFIG_PATH := //p' libs/build/config.mk 2>/dev/null || true)
[ "$ffmpeg_pc" = system ] && ffmpeg_pc=
pc() { PKG_CONFIG_PATH="$ffmpeg_pc${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" pkg-config "$@"; }

# target -> the shim sources it links, the pkg-config packages they need
declare -A sources=(
  [rs]="src/rs.c"
  [packetize]="src/packetize.c src/gcm.c src/rs.c"
  [enet]="src/enet_guard.c"
  [portal]=""
  [pipewire]="src/pw_common.c"
)
declare -A packages=(
  [rs]=""
  [packetize]="libcrypto"
  [enet]="libenet"
  [portal]="dbus-1"
  [pipewire]="libpipewire-0.3"
)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(rs packetize enet portal pipewire)

san='-fsanitize=address,undefined -fno-sanitize-recover=undefined'
status=0
for t in "${targets[@]}"; do
  [ -n "${sources[$t]+x}" ] || { echo "fuzz.sh: no target '$t' (rs packetize enet portal pipewire)" >&2; exit 2; }
  pkgs="${packages[$t]} libavcodec libavutil"
  flags="-O1 -g -fno-omit-frame-pointer -std=gnu11 -Ilibs/include -Ilibs/src $(pc --cflags $pkgs)"
  srcs="libs/fuzz/fuzz_$t.c libs/src/core.c libs/src/handles.c"
  for s in ${sources[$t]}; do srcs="$srcs libs/$s"; done
  libs_=$(pc --libs $pkgs)
  if [ $replay = 1 ]; then
    # shellcheck disable=SC2086
    gcc $flags $san libs/fuzz/driver.c $srcs -o "$out/replay_$t" $libs_ -lpthread -lm
    inputs=()
    for d in "libs/fuzz/regressions/$t" "libs/fuzz/corpus/$t"; do
      [ -d "$d" ] && for f in "$d"/*; do [ -f "$f" ] && inputs+=("$f"); done
    done
    if ASAN_OPTIONS="detect_leaks=0:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" "$out/replay_$t" "${inputs[@]}" >"$out/replay_$t.log" 2>&1; then
      echo "fuzz.sh: replay $t: $(tail -1 "$out/replay_$t.log")"
    else
      echo "fuzz.sh: replay $t FAILED:" >&2
      head -40 "$out/replay_$t.log" >&2
      status=1
    fi
    continue
  fi
  if [ $coverage = 1 ]; then
    # shellcheck disable=SC2086
    clang $flags -fprofile-instr-generate -fcoverage-mapping libs/fuzz/driver.c $srcs -o "$out/cov_$t" $libs_ -lpthread -lm
    rm -f "$out/cov_$t".profraw
    dirs=("$out/corpus/$t")
    [ -d "libs/fuzz/regressions/$t" ] && dirs+=("libs/fuzz/regressions/$t")
    find "${dirs[@]}" -type f | xargs -r env LLVM_PROFILE_FILE="$out/cov_$t.%p.profraw" "$out/cov_$t" >/dev/null
    llvm-profdata merge -sparse "$out/cov_$t".*.profraw -o "$out/cov_$t.profdata"
    rm -f "$out/cov_$t".*.profraw
    declare -A reported=([rs]="rs.c" [packetize]="packetize.c gcm.c rs.c" [enet]="enet.c enet_guard.c" [portal]="portal.c" [pipewire]="capture_pipewire.c")
    covered=""
    for s in ${reported[$t]}; do covered="$covered libs/src/$s"; done
    echo "fuzz.sh: coverage of $t over $(find "$out/corpus/$t" -type f | wc -l) corpus inputs:"
    # shellcheck disable=SC2086
    llvm-cov report "$out/cov_$t" -instr-profile="$out/cov_$t.profdata" $covered | sed 's/^/  /'
    continue
  fi
  echo "fuzz.sh: building $t" >&2
  # shellcheck disable=SC2086
  nice clang $flags -fsanitize=fuzzer $san $srcs -o "$out/fuzz_$t" $libs_ -lpthread -lm
  mkdir -p "$out/corpus/$t" "libs/fuzz/corpus/$t"
  # a harness with a seed writer (-DLUMEN_FUZZ_SEEDS) fills an empty seed corpus with well-formed inputs
  if grep -q LUMEN_FUZZ_SEEDS "libs/fuzz/fuzz_$t.c" && [ -z "$(ls -A "libs/fuzz/corpus/$t")" ]; then
    # shellcheck disable=SC2086
    clang $flags -DLUMEN_FUZZ_SEEDS $srcs -o "$out/seeds_$t" $libs_ -lpthread -lm
    "$out/seeds_$t" "libs/fuzz/corpus/$t"
  fi
  [ -d "libs/fuzz/corpus/$t" ] && cp -n "libs/fuzz/corpus/$t/"* "$out/corpus/$t/" 2>/dev/null || true
  [ -d "libs/fuzz/regressions/$t" ] && cp -n "libs/fuzz/regressions/$t/"* "$out/corpus/$t/" 2>/dev/null || true
  log="$out/fuzz_$t.log"
  echo "fuzz.sh: running $t for $runs executions (log: $log)" >&2
  if ! ASAN_OPTIONS="detect_leaks=0:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
      nice "$out/fuzz_$t" -runs="$runs" -max_len=4096 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$out/crash-$t-" "$out/corpus/$t" >"$log" 2>&1; then
    echo "fuzz.sh: $t CRASHED:" >&2
    grep -A30 "ERROR\|runtime error\|deadly signal" "$log" | head -60 >&2
    status=1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  final=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
  echo "fuzz.sh: $t: ${execs:-?} executions, ${rate:-?}/s; ${final:-no DONE line}"
done
exit $status
