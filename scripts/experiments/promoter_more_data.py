#!/usr/bin/env python3
"""Builds a larger training set for the `promoter` task: every promoter and distal window of the training
chromosomes (chr2L, chr2R, chr3L), under the rules of datasets/scripts/build_dna.py (unique upstream regions, ACGT
only, distal windows overlapping a promoter window dropped), balanced by class and oriented at random, instead of the
2,500 + 2,500 the shipped task samples. The test chromosome (chr3R) is not read. Not shipped (about 1.4 MB gzip):
an experiment for "does the promoter task need more data?" (docs/dna.md).

    cd /tmp && apt-get download r-bioc-biostrings && dpkg -x r-bioc-biostrings_*.deb biostrings
    python3 scripts/experiments/promoter_more_data.py \
        /tmp/biostrings/usr/lib/R/site-library/Biostrings/extdata/dm3_upstream2000.fa.gz /tmp/promoter-more.fa.gz
"""
import gzip
import os
import random
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "datasets", "scripts"))
from dnacommon import is_acgt, read_fasta, reverse_complement  # noqa: E402

TRAIN_CHROMOSOMES = ("chr2L", "chr2R", "chr3L")
WIDTH = 250


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: promoter_more_data.py dm3_upstream2000.fa.gz OUT.fa.gz")
    source, out = sys.argv[1], sys.argv[2]
    regions = {}
    for header, seq in read_fasta(source):
        name, where = header.split()
        strand = {"f": "+", "r": "-"}[name.rsplit("_", 1)[1]]
        m = re.match(r"^([^:]+):(-?\d+)-(-?\d+)$", where)
        chrom, start1 = m.group(1), int(m.group(2))
        if chrom not in TRAIN_CHROMOSOMES or start1 < 1 or len(seq) != 2000:
            continue
        regions.setdefault((chrom, start1, strand), seq.upper())
    windows = {"promoter": {}, "distal": {}}
    for (chrom, start1, strand), seq in sorted(regions.items()):
        for label, lo in (("promoter", 2000 - WIDTH), ("distal", 0)):
            piece = seq[lo:lo + WIDTH]
            if not is_acgt(piece):
                continue
            if strand == "+":
                g0 = start1 - 1 + lo
            else:
                g0 = start1 - 1 + (2000 - lo - WIDTH)
                piece = reverse_complement(piece)
            windows[label].setdefault((chrom, g0), piece)
    promoter_starts = {}
    for chrom, g0 in windows["promoter"]:
        promoter_starts.setdefault(chrom, []).append(g0)
    pools = {"promoter": [], "distal": []}
    for label in pools:
        for (chrom, g0), piece in sorted(windows[label].items()):
            if label == "distal" and any(abs(g0 - p) < WIDTH for p in promoter_starts.get(chrom, [])):
                continue  # overlaps a promoter window of a neighbouring gene
            pools[label].append((chrom, g0, piece))
    rng = random.Random(20261129)
    count = min(len(pools["promoter"]), len(pools["distal"]))
    chosen = []
    for label in pools:
        rng.shuffle(pools[label])
        chosen += [(label,) + w for w in pools[label][:count]]
    rng.shuffle(chosen)
    with gzip.open(out, "wt") as f:
        for i, (label, chrom, g0, piece) in enumerate(chosen):
            flip = rng.random() < 0.5
            f.write(">promoter-more-%d label=%s src=%s:%d-%d(%s)\n%s\n"
                    % (i, label, chrom, g0 + 1, g0 + WIDTH, "-" if flip else "+",
                       reverse_complement(piece) if flip else piece))
    print("%s: %d windows (%d per class) from %d upstream regions" % (out, len(chosen), count, len(regions)))


if __name__ == "__main__":
    main()
