#!/usr/bin/env bash
# Builds datasets/audio/digits/test-22050 and test-44100 (every 16 kHz test clip resampled with sox, exactly as
# build_audio.py does for the committed test-8000 and test-48000) and checks the result against
# datasets/SHA256SUMS.generated: they are made here rather than committed to keep datasets/ under 10 MB.
# Needs sox and flac (apt-get install -y sox flac). Skips a rate whose folder already matches. About 20-40 s.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
for tool in sox soxi flac; do
  command -v "$tool" >/dev/null || { echo "make_rates.sh: needs $tool (apt-get install -y sox flac)" >&2; exit 1; }
done
FLAC=(flac --silent --force -8 --lax -l 32 -e -A "subdivide_tukey(6)" --no-padding --no-seektable)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for rate in 22050 44100; do
  folder="audio/digits/test-$rate"
  if grep " $folder/" SHA256SUMS.generated | sha256sum --check --quiet --status 2>/dev/null; then continue; fi
  rm -rf "$folder.tmp" && mkdir -p "$folder.tmp"
  {
    IFS= read -r header && printf '%s\n' "$header"
    while IFS=$'\t' read -r file label word voice engine pitch speed _rate _samples; do
      sox -R -D "audio/digits/test/$file" -b 16 "$tmp/resample.wav" rate -v "$rate"
      "${FLAC[@]}" -o "$folder.tmp/$file" "$tmp/resample.wav" >/dev/null
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$file" "$label" "$word" "$voice" "$engine" "$pitch" "$speed" \
        "$rate" "$(soxi -s "$folder.tmp/$file")"
    done
  } < audio/digits/test/labels.tsv > "$tmp/labels.tsv"
  mv "$tmp/labels.tsv" "$folder.tmp/labels.tsv"
  rm -rf "$folder" && mv "$folder.tmp" "$folder"
done
if ! grep -E " audio/digits/test-(22050|44100)/" SHA256SUMS.generated | sha256sum --check --quiet --strict; then
  echo "make_rates.sh: the built clips differ from SHA256SUMS.generated (another sox or flac version?)" >&2
  exit 1
fi
echo "make_rates.sh: audio/digits/test-22050 and test-44100 built and match SHA256SUMS.generated"
