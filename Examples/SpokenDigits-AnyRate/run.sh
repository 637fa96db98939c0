#!/usr/bin/env bash
# SpokenDigits-AnyRate: train a digit classifier at 16 kHz on the shipped training voices, then evaluate it on the
# shipped test voices at 8, 16, 22.05, 44.1 and 48 kHz (the files as they are, never resampled), with and without
# rate scaling, and print the table. Every rate holds the same 100 test clips (datasets/audio/digits/test-RATE are
# the 16 kHz clips of test/ resampled with sox), so the rows compare like with like.
#
#   Examples/SpokenDigits-AnyRate/run.sh                    # default run (5-10 minutes on 2 busy cores)
#   STEPS=3 BATCH=4 Examples/SpokenDigits-AnyRate/run.sh    # CI: tiny settings
#
# Environment: STEPS (default 300), BATCH (16), SEED (1), DMODEL (64), LAYERS (2), THREADS (default all cores), WORK
# (output folder, default a temporary one), MAMBAKIT (binary; default: build the release product). Training shows a
# progress line (step, loss, accuracy, throughput, time left); evaluation prints one line per rate. The other model
# settings are `mambakit train`'s defaults (docs/audio.md gives the measurements behind them).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
steps="${STEPS:-300}"
batch="${BATCH:-16}"
seed="${SEED:-1}"
work="${WORK:-$(mktemp -d /tmp/spoken-digits.XXXXXX)}"
mkdir -p "$work"
if [[ -z "${MAMBAKIT:-}" ]]; then
    swift build -c release --product mambakit >&2
    MAMBAKIT="$root/.build/release/mambakit"
fi
threads=()
if [[ -n "${THREADS:-}" ]]; then threads=(--threads "$THREADS"); fi
shape=(--d-model "${DMODEL:-64}" --layers "${LAYERS:-2}")
digits="$root/datasets/audio/digits"
# The 22.05 and 44.1 kHz test sets are built from the shipped 16 kHz clips (sox, flac), not committed.
"$root/datasets/scripts/make_rates.sh" >&2
start=$(date +%s)

echo "== training at 16 kHz on $(($(wc -l < "$digits/train/labels.tsv") - 1)) clips ($steps steps of $batch, seed $seed) -> $work/model" >&2
"$MAMBAKIT" train --data "$digits/train/labels.tsv" --out "$work/model" --steps "$steps" --batch "$batch" \
    --seed "$seed" "${shape[@]}" "${threads[@]}" >&2

accuracy() {  # data [flags...] -> "accuracy count"
    "$MAMBAKIT" eval --model "$work/model" --data "$@" --json "${threads[@]}" \
        | python3 -c 'import json,sys; o=json.load(sys.stdin); print("%.3f %d" % (o["accuracy"], o["count"]))'
}
echo "== evaluating on the test voices at 5 rates, with and without rate scaling" >&2
rows=()
read -r base n16 < <(accuracy "$digits/test/labels.tsv")
echo "   16000 Hz: $base" >&2
for rate in 8000 22050 44100 48000; do
    read -r scaled n < <(accuracy "$digits/test-$rate/labels.tsv")
    read -r naive _ < <(accuracy "$digits/test-$rate/labels.tsv" --no-rate-scaling)
    echo "   $rate Hz: $scaled (no scaling: $naive)" >&2
    rows+=("$rate $n $scaled $naive")
done

points() { python3 -c "import sys; print('%+.1f' % (100 * (float(sys.argv[1]) - float(sys.argv[2]))))" "$1" "$2"; }
printf '\n%-9s %-6s %-21s %-21s\n' "rate (Hz)" "clips" "rate scaling" "no rate scaling"
printf '%-9s %-6s %-21s %-21s\n' "16000" "$n16" "$base" "(trained rate)"
for row in "${rows[@]}"; do
    read -r rate n scaled naive <<< "$row"
    printf '%-9s %-6s %-21s %-21s\n' "$rate" "$n" "$scaled ($(points "$scaled" "$base") pt)" "$naive ($(points "$naive" "$base") pt)"
done
echo "(accuracy on the same test clips at each rate; in brackets: points against 16 kHz; $(($(date +%s) - start)) s)"
