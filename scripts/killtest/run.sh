#!/usr/bin/env bash
# Kill safety of `mambakit train` (issue 8): kills a small DNA language-model run with SIGKILL at random moments (one
# in five during start-up, the others during training, where a checkpoint is saved every 2 steps),
# TRIALS times (default 50), resuming it after each kill. After every kill:
#   - checkpoints/latest names a complete checkpoint (it exists, unless the kill came before the first save),
#   - that checkpoint loads as a model (`mambakit debug forward` on it),
#   - its step never goes backwards,
#   - the next `--resume` starts and trains (it is the next trial; a resume that fails is a failure).
# Then SIGINT: the run saves a checkpoint at the step reached and exits with status 130 ("interrupted at step N").
#
#   scripts/killtest/run.sh [TRIALS]     # environment: MAMBAKIT (binary; default: a release build, built if missing)
#
# Prints one line per trial and "kill test: P/TRIALS passed"; exits 1 when any trial failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
TRIALS=${1:-50}
if [ -z "${MAMBAKIT:-}" ]; then
    swift build -c release --product mambakit >/dev/null || exit 1
    MAMBAKIT=$PWD/.build/release/mambakit
fi
# The tool would re-execute itself to set the OpenBLAS kernels; set them here so the pid killed is the trainer's.
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}

work=$(mktemp -d "${TMPDIR:-/tmp}/mambakit-killtest.XXXXXX")
trap 'rm -rf "$work"' EXIT
run="$work/run"
# 120 records of 500 bases from the shipped data: the corpus loads in a few milliseconds.
zcat datasets/dna/species4/train.fa.gz | head -n 240 > "$work/data.fa"
[ -s "$work/data.fa" ] || { echo "kill test: cannot read datasets/dna/species4/train.fa.gz" >&2; exit 1; }
printf '7 8 9 10 7 8 9 10\n' > "$work/tokens.txt"
# Checkpoints every 2 steps (a save every few hundred milliseconds), so kills often land inside a save.
args=(train --task lm --data "$work/data.fa" --output "$run" --length 64 --batch 2 --d-model 16 --layers 2
      --d-state 4 --steps 1000000 --warmup 10 --checkpoint-every 2 --keep 2 --validate-every 0 --threads 1)

latest_step() {
    local name
    name=$(cat "$run/checkpoints/latest" 2>/dev/null) || { echo -1; return; }
    echo $((10#${name#step-}))
}

passed=0
saves=0
previous=-1
for trial in $(seq 1 "$TRIALS"); do
    resume=()
    [ -f "$run/checkpoints/latest" ] && resume=(--resume)
    partials_before=$(ls -a "$run/checkpoints" 2>/dev/null | grep '^\.step-' || true)
    "$MAMBAKIT" "${args[@]}" "${resume[@]}" >"$work/out.log" 2>"$work/err.log" &
    pid=$!
    # A random moment: one kill in five during start-up (0.05-0.5 s: reading the data, loading the checkpoint),
    # the others 0-1.5 s after training started (its "training ..." line), when a save runs every few steps.
    # Timed from that line rather than from the start, so the kills land in training even on a loaded machine.
    if [ $((RANDOM % 5)) = 0 ]; then
        delay=$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.05 + 0.45 * r / 32767 }')
        when="${delay} s after the start"
    else
        for _ in $(seq 1 600); do
            grep -q '^training ' "$work/err.log" 2>/dev/null && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        delay=$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 1.5 * r / 32767 }')
        when="${delay} s into training"
    fi
    sleep "$delay"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    status=$?
    # A new hidden partial folder means the kill landed inside a save (the next save removes it).
    inside=""
    partials_after=$(ls -a "$run/checkpoints" 2>/dev/null | grep '^\.step-' || true)
    if [ -n "$(comm -13 <(echo "$partials_before") <(echo "$partials_after") | grep .)" ]; then
        inside=", inside a save"
        saves=$((saves + 1))
    fi
    problem=""
    if [ "$status" != 137 ]; then
        problem="exited with status $status before the kill: $(tail -1 "$work/err.log")"
    elif [ -f "$run/checkpoints/latest" ]; then
        step=$(latest_step)
        folder="$run/checkpoints/$(cat "$run/checkpoints/latest")"
        if [ "$step" -lt "$previous" ]; then
            problem="latest went back from step $previous to $step"
        elif ! "$MAMBAKIT" debug forward --model "$folder" --tokens "$work/tokens.txt" --out "$work/logits.safetensors" \
                >/dev/null 2>"$work/load.log"; then
            problem="checkpoint $folder does not load: $(tail -1 "$work/load.log")"
        elif [ ! -f "$folder/optimizer.safetensors" ] || [ ! -f "$folder/trainer_state.json" ]; then
            problem="checkpoint $folder lacks the optimizer state or trainer_state.json"
        fi
        previous=$step
    elif [ "$previous" -ge 0 ]; then
        problem="checkpoints/latest disappeared"
    fi
    if [ -z "$problem" ]; then
        passed=$((passed + 1))
        echo "trial $trial: killed ${when}${inside}${resume:+ (resumed)}, latest step $(latest_step): ok"
    else
        echo "trial $trial: killed ${when}${inside}${resume:+ (resumed)}: FAILED: $problem"
    fi
done

# SIGINT: the run saves where it is and exits with 130.
"$MAMBAKIT" "${args[@]}" --resume >"$work/out.log" 2>"$work/err.log" &
pid=$!
for _ in $(seq 1 600); do grep -q '^training ' "$work/err.log" 2>/dev/null && break; sleep 0.05; done
sleep 1
before=$(latest_step)
kill -INT "$pid"
wait "$pid"
status=$?
after=$(latest_step)
if [ "$status" = 130 ] && grep -q "^interrupted at step $after" "$work/out.log" && [ "$after" -gt "$before" ] \
    && "$MAMBAKIT" debug forward --model "$run/checkpoints/$(cat "$run/checkpoints/latest")" --tokens "$work/tokens.txt" \
        --out "$work/logits.safetensors" >/dev/null 2>&1; then
    echo "SIGINT: exit status 130, checkpoint saved at step $after (latest was $before): ok"
    sigint=ok
else
    echo "SIGINT: FAILED: status $status, latest $before -> $after, output: $(cat "$work/out.log") $(tail -1 "$work/err.log")"
    sigint=failed
fi
echo "kill test: $passed/$TRIALS passed ($saves kills inside a save), final step $(latest_step); SIGINT $sigint"
[ "$passed" = "$TRIALS" ] && [ "$sigint" = ok ]
