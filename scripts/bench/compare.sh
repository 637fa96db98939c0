#!/usr/bin/env bash
# Throughput of mambakit against its Python peer on one shape, measured in the same script.
#
#   scripts/bench/compare.sh forward --batch 2 --length 1024 --d-model 256 --layers 4 --d-state 16 --expand 2 --threads 2
#   scripts/bench/compare.sh train   (same flags)
#
# forward: `mambakit bench forward --json FLAGS` vs scripts/bench/torch_forward.py FLAGS (transformers, PyTorch path)
# train:   `mambakit bench train --json FLAGS`   vs scripts/bench/mambapy_train.py FLAGS (mambapy pscan + AdamW)
# Both must print one JSON object with "tokens_per_second" (the last line of stdout that starts with "{").
# The two alternate, REPETITIONS times each (default 3); medians and the ratio mambakit / peer are printed.
#
# Environment: MAMBAKIT_BIN (default .build/release/mambakit), PYTHON (default /opt/refvenv/bin/python),
# REPETITIONS (default 3), OMP_WAIT_POLICY for the peer (default PASSIVE: on this shared 2-core machine, with
# libgomp's default spinning, torch with 2 threads ran 10x slower than with PASSIVE whenever other processes
# were busy; idle, the two are close). The load average before and after is printed: it matters here. Build first: swift build -c release (-Xswiftc -target-cpu -Xswiftc native for speed).
set -euo pipefail

usage() { echo "usage: $0 forward|train [--batch B --length L --d-model D --layers N --d-state S --expand E --threads T --vocab V]" >&2; exit 64; }
[[ $# -ge 1 ]] || usage
mode=$1; shift
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
case "$mode" in
  forward) peer_script="$here/torch_forward.py"; peer_name="transformers forward" ;;
  train)   peer_script="$here/mambapy_train.py"; peer_name="mambapy train step" ;;
  *) usage ;;
esac
mambakit=${MAMBAKIT_BIN:-.build/release/mambakit}
python=${PYTHON:-/opt/refvenv/bin/python}
repetitions=${REPETITIONS:-3}
[[ -x "$mambakit" ]] || { echo "error: $mambakit is not an executable (set MAMBAKIT_BIN or build with swift build -c release)" >&2; exit 66; }
[[ -x "$python" ]] || { echo "error: $python not found (set PYTHON; see scripts/reference/README.md)" >&2; exit 66; }

# Prints tokens_per_second from the last JSON line of a command's stdout; fails loudly otherwise.
tokens_per_second() {
  local output
  if ! output=$("$@"); then echo "error: '$*' failed" >&2; return 1; fi
  grep '^{' <<<"$output" | tail -n 1 | "$python" -c 'import json, sys; print(json.load(sys.stdin)["tokens_per_second"])' \
    || { echo "error: no JSON with tokens_per_second from '$*':" >&2; echo "$output" >&2; return 1; }
}

export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (OMP_WAIT_POLICY=$OMP_WAIT_POLICY)" >&2
ours=(); peers=()
for ((i = 1; i <= repetitions; i++)); do
  ours+=("$(tokens_per_second "$mambakit" bench "$mode" --json "$@")")
  peers+=("$(tokens_per_second "$python" "$peer_script" --json "$@")")
  printf 'repetition %d: mambakit %.1f tokens/s, %s %.1f tokens/s\n' "$i" "${ours[-1]}" "$peer_name" "${peers[-1]}" >&2
done

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$python" - "$mode" "$peer_name" "${#ours[@]}" "${ours[@]}" "${peers[@]}" <<'PY'
import statistics, sys
mode, peer_name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
values = [float(v) for v in sys.argv[4:]]
ours, peers = values[:count], values[count:]
a, b = statistics.median(ours), statistics.median(peers)
print(f"{mode}: mambakit {a:.1f} tokens/s, {peer_name} {b:.1f} tokens/s (medians of {count}); ratio mambakit/peer {a / b:.2f}")
PY
