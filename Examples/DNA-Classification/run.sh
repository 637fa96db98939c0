#!/usr/bin/env bash
# DNA-Classification: train a Mamba classifier on each shipped DNA task (datasets/dna/<task>/train.fa.gz, labels in
# the headers; model selection on a validation split carved from train), evaluate it once on the task's test split,
# and print the table against the k-mer logistic-regression baselines of datasets/README.md.
#
#   Examples/DNA-Classification/run.sh              # default run (about 12 minutes on 2 cores)
#   STEPS=3 Examples/DNA-Classification/run.sh      # CI: tiny settings (a few steps, a tiny model)
#
# Environment: TASKS (default: all five), STEPS (tiny mode: this many steps per task), SEED (1), THREADS (all cores),
# WORK (output folder, default a temporary one), MAMBAKIT (binary; default: build the release product).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
tasks="${TASKS:-species4 coding promoter human_worm 16s_phylum}"
work="${WORK:-$(mktemp -d /tmp/dna-classification.XXXXXX)}"
mkdir -p "$work"
if [[ -z "${MAMBAKIT:-}" ]]; then
    swift build -c release --product mambakit >&2
    MAMBAKIT="$root/.build/release/mambakit"
fi
threads=()
[[ -n "${THREADS:-}" ]] && threads=(--threads "$THREADS")

# Per-task training length: the same model and optimizer everywhere (the defaults of `mambakit train --task
# classify`); the epochs set how many bases each task trains on within the time budget (species4's records are twice
# as long as the others'; 16s_phylum needs the most passes).
epochs_for() {
    case "$1" in
        species4) echo 1.5 ;;
        coding) echo 3 ;;
        promoter) echo 4 ;;
        human_worm) echo 3 ;;
        16s_phylum) echo 5 ;;
        *) echo 4 ;;
    esac
}

results="$work/results.tsv"
: > "$results"
for task in $tasks; do
    data="$root/datasets/dna/$task"
    if [[ -n "${STEPS:-}" ]]; then
        settings=(--steps "$STEPS" --batch 8 --d-model 16 --layers 1 --d-state 4 --eval-every "$STEPS")
    else
        settings=(--epochs "$(epochs_for "$task")")
    fi
    echo "== $task: training on $data/train.fa.gz -> $work/$task" >&2
    start=$(date +%s)
    "$MAMBAKIT" train --task classify --data "$data/train.fa.gz" --out "$work/$task" --seed "${SEED:-1}" \
        "${settings[@]}" "${threads[@]}" >&2
    seconds=$(( $(date +%s) - start ))
    "$MAMBAKIT" eval --model "$work/$task" --data "$data/test.fa.gz" --json "${threads[@]}" > "$work/$task.eval.json"
    printf '%s\t%s\t%s\n' "$task" "$seconds" "$work/$task.eval.json" >> "$results"
done

python3 - "$results" <<'PY'
import json, sys
baselines = {  # datasets/README.md: test accuracy of k-mer logistic regression
    "species4": (0.945, 0.960), "coding": (0.931, 0.930), "promoter": (0.711, 0.684),
    "human_worm": (0.910, 0.937), "16s_phylum": (0.784, 0.975),
}
print()
print("%-12s %6s %9s %7s %9s %9s %6s %8s" % ("task", "test", "accuracy", "MCC", "4-mer LR", "6-mer LR", "beats", "train s"))
for line in open(sys.argv[1]):
    task, seconds, path = line.rstrip("\n").split("\t")
    o = json.load(open(path))
    four, six = baselines.get(task, (float("nan"), float("nan")))
    print("%-12s %6d %9.4f %7.4f %9.3f %9.3f %6s %8s" % (task, o["count"], o["accuracy"], o["mcc"], four, six,
                                                        "yes" if o["accuracy"] > six else "no", seconds))
PY
