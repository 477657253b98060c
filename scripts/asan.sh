#!/usr/bin/env bash
# Builds the shim with AddressSanitizer and UndefinedBehaviorSanitizer into libs/build-asan/ (the
# normal build in libs/build/ is left alone) and runs the shim's own tests against it: test/native
# and test/fec by default, or the vitest files given as arguments.
#
#   bash scripts/asan.sh                      # test/native test/fec
#   bash scripts/asan.sh test/serve/net.test.ts
#
# Node itself is not instrumented, so libasan is preloaded; leak detection is off (V8 and
# libraries loaded for the whole process keep memory on purpose). Any sanitizer report fails the
# run (halt_on_error), and the reports are kept in libs/build-asan/reports/.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build-asan
mkdir -p "libs/$build/reports"
[ -f "libs/$build/config.mk" ] || cp libs/build/config.mk "libs/$build/config.mk" 2>/dev/null || touch "libs/$build/config.mk"
flags='-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined'
CFLAGS="$flags" LDFLAGS="-fsanitize=address,undefined" nice make -s -C libs BUILD="$build" -j2

libasan=$(gcc -print-file-name=libasan.so)
libubsan=$(gcc -print-file-name=libubsan.so)
[ -f "$libasan" ] || { echo "asan.sh: libasan.so not found (install gcc's libasan)" >&2; exit 1; }

npm run build --silent
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(test/native test/fec)
rm -f "libs/$build/reports/"*
status=0
LUMEN_SHIM="$PWD/libs/$build/liblumen.so" \
  LD_PRELOAD="$libasan:$libubsan" \
  ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:log_path=$PWD/libs/$build/reports/asan" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$PWD/libs/$build/reports/ubsan" \
  npx vitest run --no-file-parallelism "${targets[@]}" || status=$?
if compgen -G "libs/$build/reports/*" >/dev/null; then
  echo "asan.sh: sanitizer reports:" >&2
  cat "libs/$build/reports/"* >&2
  status=1
fi
exit $status
