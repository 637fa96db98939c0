#!/usr/bin/env bash
# Checks `mambakit inspect --json` against independent tools on files made here:
# soxi (sample rate, channels, frames) and sox's stat (peak) for audio; zcat | grep -c '>' for gzipped FASTA.
# Usage: scripts/check_inspect.sh [MAMBAKIT_BINARY]   (default .build/release/mambakit, else .build/debug/mambakit)
set -euo pipefail
bin=${1:-}
if [ -z "$bin" ]; then
    for b in .build/release/mambakit .build/debug/mambakit; do [ -x "$b" ] && bin=$b && break; done
fi
[ -x "$bin" ] || { echo "check_inspect: no mambakit binary (swift build first)" >&2; exit 2; }
command -v soxi >/dev/null || { echo "check_inspect: needs sox (apt-get install -y sox)" >&2; exit 2; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fail=0

sox -R -n -r 44100 -c 2 -b 24 "$work/stereo24.wav" synth 1.5 sine 440 sine 660 gain -3
sox -R -n -r 48000 -c 1 -b 16 "$work/tone.flac" synth 0.7 sine 1000 gain -6
sox -R -n -r 8000 -c 1 -b 16 "$work/mono8k.wav" synth 2.25 pinknoise gain -12
sox -R -n -r 16000 -c 1 -e floating-point -b 32 "$work/float.wav" synth 0.5 sine 300 gain -1

printf '%-14s %-28s %-28s %s\n' file "soxi (rate ch frames)" "inspect (rate ch frames)" verdict
for f in stereo24.wav tone.flac mono8k.wav float.wav; do
    p="$work/$f"
    want="$(soxi -r "$p") $(soxi -c "$p") $(soxi -s "$p")"
    got=$("$bin" inspect --json "$p" | python3 -c 'import json,sys; o=json.loads(sys.stdin.readline()); print(o["sample_rate"], o["channels"], o["frames"])')
    verdict=ok; [ "$want" = "$got" ] || { verdict=MISMATCH; fail=1; }
    printf '%-14s %-28s %-28s %s\n' "$f" "$want" "$got" "$verdict"
    # Peak: sox's "Maximum amplitude" / "Minimum amplitude" over all channels.
    speak=$(sox "$p" -n stat 2>&1 | awk '/Maximum amplitude/{mx=$3} /Minimum amplitude/{mn=$3} END{if(-mn>mx)mx=-mn; print mx}')
    ipeak=$("$bin" inspect --json "$p" | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["peak"])')
    python3 - "$f" "$speak" "$ipeak" <<'PY' || fail=1
import sys
name, s, i = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
ok = abs(s - i) <= 1e-4
print(f"{name:14s} peak sox {s:.6f} inspect {i:.6f} {'ok' if ok else 'MISMATCH'}")
sys.exit(0 if ok else 1)
PY
done

# A multi-member gzipped FASTA of several records: cat a.gz b.gz.
python3 - "$work" <<'PY'
import gzip, random, sys
rng = random.Random(7)
for name, n in (("a", 37), ("b", 55)):
    with gzip.open(f"{sys.argv[1]}/{name}.fa.gz", "wt") as f:
        for i in range(n):
            seq = "".join(rng.choice("ACGT") for _ in range(rng.randint(50, 400)))
            f.write(f">{name}{i} label={rng.choice('xyz')}\n")
            for j in range(0, len(seq), 60): f.write(seq[j:j+60] + "\n")
PY
cat "$work/a.fa.gz" "$work/b.fa.gz" > "$work/multi.fa.gz"
want=$(zcat "$work/multi.fa.gz" | grep -c '>')
wantbases=$(zcat "$work/multi.fa.gz" | grep -v '>' | tr -d '\n' | wc -c)
got=$("$bin" inspect --json "$work/multi.fa.gz" | python3 -c 'import json,sys; o=json.loads(sys.stdin.readline()); print(o["records"], o["bases"])')
verdict=ok; [ "$want $wantbases" = "$got" ] || { verdict=MISMATCH; fail=1; }
printf '%-14s %-28s %-28s %s\n' multi.fa.gz "zcat: $want records $wantbases bases" "inspect: $got" "$verdict"
exit $fail
