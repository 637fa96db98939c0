#!/usr/bin/env bash
# DNA-Pretrain-Finetune: next-base language modelling on the promoter task's training sequences (labels ignored; no
# other data, nothing downloaded), then a classifier fine-tuned from that backbone, compared with the same classifier
# trained from scratch with the same settings and budget. Prints bits per base and both test accuracies.
#
#   Examples/DNA-Pretrain-Finetune/run.sh             # default run (2 minutes on 2 idle cores)
#   STEPS=3 Examples/DNA-Pretrain-Finetune/run.sh     # CI: tiny settings
#
# Environment: TASK (default promoter), STEPS (tiny mode), LM_EPOCHS (2), EPOCHS (classifier epochs, 3), SEED (1),
# THREADS, WORK (output folder), MAMBAKIT (binary; default: build the release product).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
task="${TASK:-promoter}"
data="$root/datasets/dna/$task"
work="${WORK:-$(mktemp -d /tmp/dna-pretrain.XXXXXX)}"
mkdir -p "$work"
if [[ -z "${MAMBAKIT:-}" ]]; then
    swift build -c release --product mambakit >&2
    MAMBAKIT="$root/.build/release/mambakit"
fi
threads=()
[[ -n "${THREADS:-}" ]] && threads=(--threads "$THREADS")
seed="${SEED:-1}"
if [[ -n "${STEPS:-}" ]]; then
    shape=(--d-model 16 --layers 1 --d-state 4)
    lm_budget=(--steps "$STEPS")
    budget=(--steps "$STEPS" --batch 8 --eval-every "$STEPS")
else
    shape=(--d-model 64 --layers 2)
    lm_budget=(--epochs "${LM_EPOCHS:-2}")
    budget=(--epochs "${EPOCHS:-3}")
fi

echo "== pre-training: next-base model on the sequences of $data/train.fa.gz" >&2
"$MAMBAKIT" train --task lm --data "$data/train.fa.gz" --output "$work/lm" --length 256 --batch 32 --lr 3e-3 \
    --warmup 50 --validate-every 0 --checkpoint-every 0 --seed "$seed" "${shape[@]}" "${lm_budget[@]}" "${threads[@]}" >&2
bits_before=$("$MAMBAKIT" eval --model "$work/lm" --data "$data/test.fa.gz" --length 256 --json "${threads[@]}" \
    | python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["bits_per_base"])')

echo "== fine-tuning a classifier from the pre-trained backbone" >&2
"$MAMBAKIT" train --task classify --data "$data/train.fa.gz" --out "$work/finetuned" --init-from "$work/lm" \
    --seed "$seed" "${budget[@]}" "${threads[@]}" >&2
echo "== the same classifier from scratch" >&2
"$MAMBAKIT" train --task classify --data "$data/train.fa.gz" --out "$work/scratch" --seed "$seed" \
    "${shape[@]}" "${budget[@]}" "${threads[@]}" >&2

accuracy() { "$MAMBAKIT" eval --model "$1" --data "$data/test.fa.gz" --json "${threads[@]}" \
    | python3 -c 'import json,sys; o=json.load(sys.stdin); print("%.4f %.4f %d" % (o["accuracy"], o["mcc"], o["count"]))'; }
read -r fine_acc fine_mcc count < <(accuracy "$work/finetuned")
read -r scratch_acc scratch_mcc _ < <(accuracy "$work/scratch")
echo
echo "task $task; next-base model: $bits_before bits per base on the $count test sequences (2 bits = uniform)"
printf '%-28s %9s %7s\n' "classifier" "accuracy" "MCC"
printf '%-28s %9s %7s\n' "from scratch" "$scratch_acc" "$scratch_mcc"
printf '%-28s %9s %7s\n' "fine-tuned from next-base" "$fine_acc" "$fine_mcc"
