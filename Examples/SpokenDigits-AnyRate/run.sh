#!/usr/bin/env bash
# SpokenDigits-AnyRate: train a digit classifier at 16 kHz on the shipped training voices, then evaluate it on the
# shipped test voices at 8, 16, 22.05, 44.1 and 48 kHz (the files as they are, never resampled), with and without
# rate scaling, and print the table.
#
#   Examples/SpokenDigits-AnyRate/run.sh            # default run (a few minutes on 2 cores)
#   STEPS=5 Examples/SpokenDigits-AnyRate/run.sh    # CI: tiny settings
#
# Environment: STEPS (default 300), SEED (2), BATCH (16), WORK (output folder, default a temporary one), MAMBAKIT (binary;
# default: build the release product).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
steps="${STEPS:-300}"
batch="${BATCH:-16}"
work="${WORK:-$(mktemp -d /tmp/spoken-digits.XXXXXX)}"
mkdir -p "$work"
if [[ -z "${MAMBAKIT:-}" ]]; then
    swift build -c release --product mambakit >&2
    MAMBAKIT="$root/.build/release/mambakit"
fi
digits="$root/datasets/audio/digits"

echo "== training at 16 kHz on $(($(wc -l < "$digits/train/labels.tsv") - 1)) clips ($steps steps) -> $work/model" >&2
"$MAMBAKIT" train --data "$digits/train/labels.tsv" --out "$work/model" --steps "$steps" --batch "$batch" \
    --seed "${SEED:-2}" >&2

# The 30 clips of test-RATE are also in test/ at 16 kHz: a manifest of those, for a like-for-like 16 kHz row.
python3 - "$digits" "$work/test-16000-subset.tsv" <<'PY'
import os, sys
digits, out = sys.argv[1], sys.argv[2]
names = [line.split("\t")[0] for line in open(os.path.join(digits, "test-8000", "labels.tsv")).read().splitlines()[1:]]
labels = {}
for line in open(os.path.join(digits, "test", "labels.tsv")).read().splitlines()[1:]:
    fields = line.split("\t")
    labels[fields[0]] = fields[1]
with open(out, "w") as f:
    f.write("file\tlabel\n")
    for name in names:
        f.write(os.path.relpath(os.path.join(digits, "test", name), os.path.dirname(out)) + "\t" + labels[name] + "\n")
PY

accuracy() {  # model data [flags...] -> accuracy
    "$MAMBAKIT" eval --model "$work/model" --data "$@" --json \
        | python3 -c 'import json,sys; o=json.load(sys.stdin); print("%.4f %d" % (o["accuracy"], o["count"]))'
}
printf '\n%-10s %-6s %-22s %-22s\n' "rate (Hz)" "clips" "accuracy, rate scaling" "accuracy, no scaling"
read -r all16 n16 < <(accuracy "$digits/test/labels.tsv")
printf '%-10s %-6s %-22s %-22s\n' "16000" "$n16" "$all16" "(same: trained rate)"
for rate in 8000 16000s 22050 44100 48000; do
    if [[ "$rate" == "16000s" ]]; then data="$work/test-16000-subset.tsv"; label="16000*"; else data="$digits/test-$rate/labels.tsv"; label="$rate"; fi
    read -r scaled n < <(accuracy "$data")
    read -r naive _ < <(accuracy "$data" --no-rate-scaling)
    printf '%-10s %-6s %-22s %-22s\n' "$label" "$n" "$scaled" "$naive"
done
echo "(* the 30 test clips that the other rates hold, at 16 kHz; first row: all 100 test clips)"
