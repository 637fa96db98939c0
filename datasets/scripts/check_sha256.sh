#!/usr/bin/env bash
# Verifies that the committed dataset files match datasets/SHA256SUMS, and that every file under dna/ and audio/
# is listed there (and every listed file exists). The two folders that scripts/make_rates.sh builds (listed in
# SHA256SUMS.generated, checked by that script) are not committed. Exit status 0 only when all hold. Needs coreutils only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! sha256sum --check --quiet --strict SHA256SUMS; then
  echo "check_sha256.sh: some dataset files differ from SHA256SUMS (see above)" >&2
  exit 1
fi
unlisted="$(comm -23 <(find dna audio -type f -not -path "audio/digits/test-22050/*" -not -path "audio/digits/test-44100/*" | LC_ALL=C sort) <(awk '{ print $2 }' SHA256SUMS | LC_ALL=C sort))"
if [ -n "$unlisted" ]; then
  echo "check_sha256.sh: files under datasets/ that SHA256SUMS does not list:" >&2
  echo "$unlisted" >&2
  exit 1
fi
echo "check_sha256.sh: $(wc -l < SHA256SUMS) dataset files match SHA256SUMS"
