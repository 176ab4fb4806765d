#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/, ASan+UBSan+coverage) and runs each for a
# bounded time, two at a time (CI has 2 cores). Fails on the first crash, leak, timeout or
# sanitizer report; the input that did it is kept in build-fuzz/artifacts/.
#   FUZZ_SECONDS  seconds per target (default 15: 6 targets, 2 in parallel -> about 45 s)
set -euo pipefail
top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${FUZZ_SECONDS:-15}"
b="$top/build-fuzz"
targets=(link_decoder_fuzz firmware_commands_fuzz host_messages_fuzz stack_folder_fuzz slide_fuzz
  ome_tiff_fuzz)

if [ ! -f "$b/CMakeCache.txt" ]; then
  cmake -S "$top" -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DPOLSCAN_FUZZ=ON -DPOLSCAN_FIRMWARE_IMAGE=OFF
fi
cmake --build "$b" --parallel "$(nproc)" --target polscan_fuzzers

mkdir -p "$b/artifacts"
run() {
  local t="$1" work="$b/corpus-work/$1"
  mkdir -p "$work"
  # New inputs go to the scratch corpus (first directory); the checked-in seeds stay as they are.
  if "$b/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$b/artifacts/$t-" -print_final_stats=1 \
      "$work" "$top/fuzz/corpus/$t" >"$b/$t.log" 2>&1; then
    echo "polscan: fuzz $t: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$b/$t.log" \
      | grep -o '[0-9]*$') runs in ${seconds} s, no crash"
  else
    echo "polscan: fuzz $t FAILED; log $b/$t.log, input in $b/artifacts/:" >&2
    grep -E 'ERROR|SUMMARY|runtime error' "$b/$t.log" | head -5 >&2
    return 1
  fi
}
status=0
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  pids=()
  for t in "${targets[@]:i:2}"; do
    run "$t" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
done
exit "$status"
