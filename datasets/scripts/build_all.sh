#!/usr/bin/env bash
# Rebuilds every committed file under datasets/ from Debian packages, then NOTICE and SHA256SUMS.
#
# Usage: datasets/scripts/build_all.sh [--full] [--no-install]
#   --full        also build the full digit and speech sets (every voice, every prompt) into datasets/full/,
#                 which .gitignore keeps out of the repository
#   --no-install  do not call apt-get; fail if a tool is missing
#
# Needs Debian 12 (bookworm) and root for apt-get. Deterministic: two runs give identical bytes (see README.md).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
work="$root/.work"
py=/usr/bin/python3
full=0
install=1
for arg in "$@"; do
  case "$arg" in
    --full) full=1 ;;
    --no-install) install=0 ;;
    *) echo "build_all.sh: unknown argument '$arg' (expected --full or --no-install)" >&2; exit 2 ;;
  esac
done

mapfile -t tools < <(grep -v '^#' "$here/packages.lock" | awk '$3 == "tool" { print $1 }')
missing=()
for t in "${tools[@]}"; do
  dpkg-query -W -f '${Status}' "$t" 2>/dev/null | grep -q 'install ok installed' || missing+=("$t")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$install" = 0 ]; then
    echo "build_all.sh: missing Debian packages: ${missing[*]}" >&2
    exit 1
  fi
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
grep -v '^#' "$here/packages.lock" | awk '$3 == "tool" { print $1, $2 }' | while read -r name version; do
  got="$(dpkg-query -W -f '${Version}' "$name" 2>/dev/null || true)"
  if [ "$got" != "$version" ]; then
    echo "warning: $name is at version '$got', packages.lock pins $version: synthesized audio may differ" >&2
  fi
done

DATASETS_WORK="$work" "$here/fetch_sources.sh"
cd "$here"
"$py" build_dna.py "$work" "$root/dna"
"$py" build_audio.py "$work" "$root"
if [ "$full" = 1 ]; then
  "$py" build_audio.py "$work" "$root/full" --full
fi
"$py" make_notice.py "$root" "$work"
cd "$root"
find dna audio -type f | LC_ALL=C sort | xargs sha256sum > SHA256SUMS.tmp
mv SHA256SUMS.tmp SHA256SUMS
echo "build_all.sh: $(wc -l < SHA256SUMS) files; run scripts/check_sha256.sh to compare with the committed sums"
