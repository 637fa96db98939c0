#!/usr/bin/env bash
# Speech-NextSample: train a raw-waveform next-sample model (mu-law, 256 codes) on the shipped real speech (8 kHz),
# report its test bits per sample beside what FLAC (`flac --best`) needs for the same 8-bit codes, and generate a
# few seconds through the recurrent step (with its real-time factor, on one core). Then the same 8 kHz model on the
# test recordings resampled to 16 kHz (sox `rate -v`, in the work folder): bits per sample with rate scaling (every Δ
# scaled by 8000 / 16000 and conv1d resampled in time) and without, beside FLAC on those 16 kHz codes.
#
#   Examples/Speech-NextSample/run.sh              # default run
#   STEPS=3 SECONDS_OUT=0.2 Examples/Speech-NextSample/run.sh   # CI: tiny settings
#
# Environment: STEPS (default 300), BATCH (8), LENGTH (2048), DMODEL (64), LAYERS (2), SECONDS_OUT (3), WORK,
# MAMBAKIT (binary; default: build the release product).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
steps="${STEPS:-300}"
batch="${BATCH:-8}"
length="${LENGTH:-2048}"
dmodel="${DMODEL:-64}"
layers="${LAYERS:-2}"
seconds="${SECONDS_OUT:-3}"
work="${WORK:-$(mktemp -d /tmp/speech-next-sample.XXXXXX)}"
mkdir -p "$work"
if [[ -z "${MAMBAKIT:-}" ]]; then
    swift build -c release --product mambakit >&2
    MAMBAKIT="$root/.build/release/mambakit"
fi
speech="$root/datasets/audio/speech"

echo "== training on $speech/train ($steps steps of $batch x $length samples) -> $work/model" >&2
"$MAMBAKIT" train --task next-sample --data "$speech/train/labels.tsv" --out "$work/model" --steps "$steps" \
    --batch "$batch" --length "$length" --d-model "$dmodel" --layers "$layers" >&2

echo "== test bits per sample" >&2
model_bits=$("$MAMBAKIT" eval --model "$work/model" --data "$speech/test/labels.tsv" --json --write-codes "$work/codes" \
    | python3 -c 'import json,sys; o=json.load(sys.stdin); print("%.4f %d" % (o["bits_per_sample"], o["count"]))')
read -r bits count <<< "$model_bits"

# FLAC on the same codes: each test recording's 8-bit mu-law codes as raw unsigned 8-bit PCM, `flac --best`.
# flac_bits DIR RATE prints "bits samples" for the .u8 files in DIR.
flac_bits() {
    local total_bytes=0 total_samples=0
    for codes in "$1"/*.u8; do
        flac --silent --best --no-padding --no-seektable --force-raw-format --endian=little --sign=unsigned --channels=1 \
            --bps=8 --sample-rate="$2" -f -o "${codes%.u8}.flac" "$codes"
        total_bytes=$((total_bytes + $(stat -c %s "${codes%.u8}.flac")))
        total_samples=$((total_samples + $(stat -c %s "$codes")))
    done
    python3 -c "print('%.4f %d' % ($total_bytes * 8 / $total_samples, $total_samples))"
}
read -r flac_bits total_samples <<< "$(flac_bits "$work/codes" 8000)"
bits_of() { python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["bits_per_sample"])'; }

echo "== the test recordings at 16 kHz (sox rate -v), with and without rate scaling" >&2
mkdir -p "$work/test-16000"
cp "$speech/test/labels.tsv" "$work/test-16000/"
for file in "$speech/test"/*.flac; do sox -D "$file" "$work/test-16000/$(basename "$file")" rate -v 16000; done
bits16=$("$MAMBAKIT" eval --model "$work/model" --data "$work/test-16000/labels.tsv" --json --write-codes "$work/codes16" | bits_of)
bits16_naive=$("$MAMBAKIT" eval --model "$work/model" --data "$work/test-16000/labels.tsv" --json --no-rate-scaling | bits_of)
read -r flac16_bits _ <<< "$(flac_bits "$work/codes16" 16000)"

echo "== generating $seconds s at 8 kHz and at 16 kHz (one thread)" >&2
"$MAMBAKIT" generate --model "$work/model" --seconds "$seconds" --temperature 1 --seed 1 --threads 1 \
    --out "$work/generated.wav" 2> "$work/generate.log" >/dev/null
"$MAMBAKIT" generate --model "$work/model" --seconds "$seconds" --temperature 1 --seed 1 --threads 1 --rate 16000 \
    --out "$work/generated-16000.wav" 2> "$work/generate-16000.log" >/dev/null
cat "$work/generate.log" "$work/generate-16000.log" >&2
rtf=$(sed -n 's/.*real-time factor \([0-9.]*\).*/\1/p' "$work/generate.log")
rate_sps=$(sed -n 's/.*(\([0-9]*\) samples\/s).*/\1/p' "$work/generate.log")
rtf16=$(sed -n 's/.*real-time factor \([0-9.]*\).*/\1/p' "$work/generate-16000.log")
rate16_sps=$(sed -n 's/.*(\([0-9]*\) samples\/s).*/\1/p' "$work/generate-16000.log")

printf '\n%-40s %s\n' "test bits per sample, Mamba (mu-law 256)" "$bits  ($count predicted samples)"
printf '%-40s %s\n' "test bits per sample, flac --best" "$flac_bits  ($total_samples samples, same 8-bit codes)"
printf '%-40s %s\n' "at 16 kHz (sox), rate scaling on / off" "$bits16 / $bits16_naive  (flac --best on those codes: $flac16_bits)"
printf '%-40s %s\n' "generation real-time factor (1 core)" "$rtf at the model's 8 kHz ($rate_sps samples/s); $rtf16 at 16 kHz with rate scaling ($rate16_sps samples/s); < 1: faster than real time"
printf '%-40s %s\n' "generated audio" "$work/generated.wav, $work/generated-16000.wav"
