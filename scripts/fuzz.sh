#!/usr/bin/env bash
# Runs the parser fuzz targets (fuzz/, cargo-fuzz + libFuzzer) on the stable toolchain.
#   scripts/fuzz.sh [SECONDS] [TARGET...]    default: 15 seconds each, every target
#   FUZZ_SANITIZER=address scripts/fuzz.sh 600   the same with AddressSanitizer
# The committed seeds (fuzz/corpus/<target>) are read, never written: what a run discovers goes
# to fuzz/target/corpus/<target>, so longer runs by hand keep their progress without touching
# git. A crash leaves its input in fuzz/artifacts/<target>/ and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-15}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(ids text form upload import_csv import_xlsx); fi

# cargo-fuzz passes nightly-only flags (sanitizers, -Z options); RUSTC_BOOTSTRAP lets stable
# rustc take them, so CI needs no nightly toolchain.
export RUSTC_BOOTSTRAP=1
fuzz_target_dir=${CARGO_TARGET_DIR:+$CARGO_TARGET_DIR/fuzz}
fuzz_target_dir=${fuzz_target_dir:-$PWD/fuzz/target}
# No sanitizer by default: the code under test is safe Rust, so AddressSanitizer mostly costs
# build time and speed; panics, aborts, memory limits and timeouts are caught either way.
# FUZZ_SANITIZER=address scripts/fuzz.sh ... for runs that also check the dependencies' unsafe code.
build=(--fuzz-dir fuzz --target-dir "$fuzz_target_dir" --sanitizer "${FUZZ_SANITIZER:-none}")

cargo fuzz build "${build[@]}" 2>&1 | tail -n 3
status=0
for t in "${targets[@]}"; do
  work="fuzz/target/corpus/$t"
  log="fuzz/target/$t.log"
  mkdir -p "$work"
  printf '\n== fuzz %s (%s s)\n' "$t" "$seconds"
  # -rss_limit_mb / -malloc_limit_mb: an input that makes a parser allocate without bound fails.
  if cargo fuzz run "${build[@]}" "$t" "$work" "fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 >"$log" 2>&1; then
    grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb)' "$log" || true
  else
    status=1
    tail -n 40 "$log"
    echo "fuzz target $t failed; the input is in fuzz/artifacts/$t/ (full log: $log)"
  fi
done
exit $status
