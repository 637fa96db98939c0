#!/usr/bin/env bash
# Runs one fuzz harness for a given time.
#
#   scripts/fuzz/run.sh HARNESS SECONDS [libFuzzer options...]
#
# HARNESS: fasta, safetensors, config, manifest or audio (Fuzz/Harnesses). The harness is built first when missing
# (scripts/fuzz/build.sh). Inputs: the seeds (scripts/fuzz/seeds.py, rebuilt each run), the committed regression
# inputs (Fuzz/Regressions/HARNESS) and the corpus grown by earlier runs (.build-fuzz/corpus/HARNESS, where new
# inputs go). A finding is written to .build-fuzz/findings/HARNESS/ and the script exits 1; the log is in
# .build-fuzz/logs/. The last line printed is "HARNESS: N executions in S s (R/s), corpus C, findings F".
#
# Limits per input: 10 s, 256 MB per allocation (-malloc_limit_mb: a reader that trusts a size field and allocates
# for it is a finding), 2 GB resident in all.
set -euo pipefail
cd "$(dirname "$0")/../.."
harness=${1:?usage: scripts/fuzz/run.sh HARNESS SECONDS [libFuzzer options...]}
seconds=${2:?usage: scripts/fuzz/run.sh HARNESS SECONDS [libFuzzer options...]}
shift 2
OUT=${FUZZ_BUILD:-$PWD/.build-fuzz}
binary="$OUT/fuzz-$harness"
[ -x "$binary" ] || scripts/fuzz/build.sh "$harness"
scripts/fuzz/build.sh "$harness" >/dev/null 2>&1 || scripts/fuzz/build.sh "$harness"   # rebuild if sources changed

seeds="$OUT/seeds"
[ -d "$seeds/$harness" ] && [ "$seeds/$harness" -nt scripts/fuzz/seeds.py ] || { rm -rf "$seeds"; python3 scripts/fuzz/seeds.py "$seeds"; }
corpus="$OUT/corpus/$harness"
findings="$OUT/findings/$harness"
mkdir -p "$corpus" "$findings" "$OUT/logs"
inputs=("$corpus" "$seeds/$harness")
[ -d "Fuzz/Regressions/$harness" ] && inputs+=("Fuzz/Regressions/$harness")
log="$OUT/logs/$harness-$(date +%Y%m%d-%H%M%S).log"

# Swift's crash backtracer would stop the process for 30 s per finding (and hangs under ptrace limits); libFuzzer
# and ASan print their own reports.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=0:handle_abort=1}
status=0
"$binary" -max_total_time="$seconds" -max_len=65536 -timeout=10 -malloc_limit_mb=256 -rss_limit_mb=2048 \
    -artifact_prefix="$findings/" -print_final_stats=1 "$@" "${inputs[@]}" >"$log" 2>&1 || status=$?

executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
found=$(find "$findings" -type f | wc -l)
if [ "$status" != 0 ]; then
    echo "fuzz $harness: FAILED (exit $status); log $log" >&2
    grep -E 'ERROR|Fatal error|invariant broken|Test unit written' "$log" | head -20 >&2 || true
fi
echo "$harness: ${executions:-?} executions in $seconds s, corpus $(ls "$corpus" | wc -l), findings $found (log $log)"
exit "$status"
