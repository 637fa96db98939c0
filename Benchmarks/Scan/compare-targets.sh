#!/bin/sh
# Builds the scan benchmark for several MAMBAKIT_TARGET_CPU values (default: haswell native) and runs them in
# alternation, ROUNDS times (default 3), so that every setting sees the same machine load.
# Usage (from Benchmarks/Scan): ./compare-targets.sh [cpu ...]    e.g. ./compare-targets.sh haswell native
set -eu
cd "$(dirname "$0")"
targets="${*:-haswell native}"
rounds="${ROUNDS:-3}"
for cpu in $targets; do
    MAMBAKIT_TARGET_CPU="$cpu" swift build -c release --scratch-path ".build-$cpu" >/dev/null
done
round=1
while [ "$round" -le "$rounds" ]; do
    for cpu in $targets; do
        echo "=== $cpu round $round ($(uptime | sed 's/.*load/load/'))"
        ".build-$cpu/release/ScanBenchmark" --repeats 15 --reference-repeats 3
    done
    round=$((round + 1))
done
