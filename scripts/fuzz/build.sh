#!/usr/bin/env bash
# Builds the libFuzzer harnesses in Fuzz/Harnesses, outside SwiftPM: the reader modules (MambaTensor, MambaAudio,
# MambaGenomics, MambaBackbone) are compiled from Sources/ with coverage instrumentation and AddressSanitizer
# (swiftc -sanitize=fuzzer,address), then each harness is linked with libFuzzer's main. Not part of `swift build`.
#
#   scripts/fuzz/build.sh [HARNESS...]     # default: all; binaries in $FUZZ_BUILD (default .build-fuzz/)
#
# Environment: FUZZ_BUILD (output folder), FUZZ_OPT (-O by default; -Onone builds faster), FUZZ_STATIC=1 links the
# Swift runtime statically (for a machine without Swift).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=${FUZZ_BUILD:-$ROOT/.build-fuzz}
OPT=${FUZZ_OPT:--O}
mkdir -p "$OUT"

HARNESSES=(${@:-fasta safetensors config manifest audio})

# The C libraries: module maps from Sources/C*, headers and libraries from pkg-config.
CFLAGS=()
for flag in $(pkg-config --cflags openblas sndfile zlib); do CFLAGS+=(-Xcc "$flag"); done
LIBS=($(pkg-config --libs-only-L openblas sndfile zlib) -lopenblas -lsndfile -lz)
SANITIZE=(-sanitize=fuzzer,address)
# Line tables are enough for sanitizer reports; full -g makes the driver add a module-wrap job whose object
# collides with -o in unoptimised builds.
COMMON=(-swift-version 6 -parse-as-library "$OPT" -gline-tables-only "${SANITIZE[@]}" -I "$OUT"
        -I Sources/CBLAS -I Sources/CZlib -I Sources/CSndFile "${CFLAGS[@]}")

# module name -> objects; rebuilt when any of its sources is newer than its object.
build_module() {
    local name=$1
    local object="$OUT/$name.o"
    if [ -f "$object" ] && [ -z "$(find "Sources/$name" -name '*.swift' -newer "$object" | head -1)" ] \
        && [ ! "$ROOT/scripts/fuzz/build.sh" -nt "$object" ]; then
        return
    fi
    echo "fuzz build: $name" >&2
    swiftc "${COMMON[@]}" -module-name "$name" -wmo -emit-module -emit-module-path "$OUT/$name.swiftmodule" \
        -c -o "$object" $(find "Sources/$name" -name '*.swift' | sort)
}

needs() {  # harness -> modules it links
    case $1 in
        fasta) echo "MambaGenomics" ;;
        manifest) echo "MambaGenomics MambaAudio" ;;
        audio) echo "MambaAudio" ;;
        safetensors|config) echo "MambaTensor MambaBackbone" ;;
        *) echo "unknown harness '$1' (expected fasta, safetensors, config, manifest or audio)" >&2; exit 1 ;;
    esac
}

source_of() {
    case $1 in
        fasta) echo FuzzFASTA ;; safetensors) echo FuzzSafeTensors ;; config) echo FuzzConfig ;;
        manifest) echo FuzzManifest ;; audio) echo FuzzAudio ;;
    esac
}

STATIC=()
if [ "${FUZZ_STATIC:-0}" = 1 ]; then STATIC=(-static-stdlib); fi

for harness in "${HARNESSES[@]}"; do
    modules=$(needs "$harness")
    objects=()
    for module in $modules; do build_module "$module"; objects+=("$OUT/$module.o"); done
    echo "fuzz build: fuzz-$harness" >&2
    swiftc "${COMMON[@]}" "${STATIC[@]}" -module-name "Fuzz_$harness" \
        Fuzz/Harnesses/Support.swift "Fuzz/Harnesses/$(source_of "$harness").swift" "${objects[@]}" \
        "${LIBS[@]}" -o "$OUT/fuzz-$harness" 2> >(grep -v "Cannot export local symbol" >&2)
done
