#!/usr/bin/env bash
# CI smoke test of the fuzz harnesses (issue 8): builds all five without optimisation (quicker to compile) in
# .build-fuzz-smoke/, then runs each for FUZZ_SMOKE_SECONDS (default 10) from its seeds and the committed regression
# inputs (Fuzz/Regressions). Fails on any finding. About 2-3 minutes on a 2-core machine, most of it the build.
set -euo pipefail
cd "$(dirname "$0")/../.."
export FUZZ_BUILD=${FUZZ_BUILD:-$PWD/.build-fuzz-smoke}
export FUZZ_OPT=${FUZZ_OPT:--Onone}
seconds=${FUZZ_SMOKE_SECONDS:-10}
start=$(date +%s)
scripts/fuzz/build.sh
status=0
for harness in fasta safetensors config manifest audio; do
    scripts/fuzz/run.sh "$harness" "$seconds" || status=1
done
echo "fuzz smoke: $(( $(date +%s) - start )) s, $([ $status = 0 ] && echo "no findings" || echo "FINDINGS (see above)")"
exit $status
