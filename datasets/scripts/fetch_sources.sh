#!/usr/bin/env bash
# Fetches the Debian data packages named in packages.lock (kind "data") at their pinned versions and unpacks each
# into datasets/.work/pkg/<name>/ without installing it (dpkg-deb -x), so that the R packages do not pull in R.
# Falls back to the candidate version, with a warning, when the pinned one is no longer in the archive.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="${DATASETS_WORK:-$here/../.work}"
mkdir -p "$work/debs" "$work/pkg"
cd "$work/debs"

grep -v '^#' "$here/packages.lock" | awk '$3 == "data" { print $1, $2 }' | while read -r name version; do
  if [ -d "$work/pkg/$name" ] && [ -f "$work/pkg/$name.version" ]; then
    continue
  fi
  rm -f "${name}"_*.deb
  if ! apt-get download "$name=$version" >/dev/null 2>&1; then
    echo "warning: $name=$version is not available; using the candidate version" >&2
    apt-get download "$name" >/dev/null
  fi
  deb="$(ls "${name}"_*.deb | head -n 1)"
  rm -rf "$work/pkg/$name.tmp"
  mkdir -p "$work/pkg/$name.tmp"
  dpkg-deb -x "$deb" "$work/pkg/$name.tmp"
  rm -rf "$work/pkg/$name"
  mv "$work/pkg/$name.tmp" "$work/pkg/$name"
  dpkg-deb -f "$deb" Version > "$work/pkg/$name.version"
  got="$(cat "$work/pkg/$name.version")"
  if [ "$got" != "$version" ]; then
    echo "warning: $name unpacked at version $got, packages.lock pins $version: outputs may differ" >&2
  fi
done
