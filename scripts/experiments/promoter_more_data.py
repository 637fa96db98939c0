#!/usr/bin/env python3
"""Builds a larger training set for the `promoter` task: every promoter and distal window of the training
chromosomes (chr2L, chr2R, chr3L), from datasets/scripts/build_dna.py's promoter_pools (unique upstream regions, ACGT
only, distal windows overlapping a promoter window dropped), balanced by class and oriented at random, instead of the
2,500 + 2,500 the shipped task samples. The test chromosome (chr3R) is left out. Not shipped (about 1.4 MB gzip):
an experiment for "does the promoter task need more data?" (docs/dna.md).

    cd /tmp && apt-get download r-bioc-biostrings && dpkg -x r-bioc-biostrings_*.deb biostrings
    python3 scripts/experiments/promoter_more_data.py \
        /tmp/biostrings/usr/lib/R/site-library/Biostrings/extdata/dm3_upstream2000.fa.gz /tmp/promoter-more.fa.gz
"""
import gzip
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "datasets", "scripts"))
from build_dna import promoter_pools  # noqa: E402
from dnacommon import reverse_complement  # noqa: E402

TRAIN_CHROMOSOMES = ("chr2L", "chr2R", "chr3L")
WIDTH = 250


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: promoter_more_data.py dm3_upstream2000.fa.gz OUT.fa.gz")
    source, out = sys.argv[1], sys.argv[2]
    regions, _, pools = promoter_pools(source, {chrom: "train" for chrom in TRAIN_CHROMOSOMES}, WIDTH)
    pools = {label: [(w.accession, w.start, w.seq) for w in pools[("train", label)]] for label in ("promoter", "distal")}
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
    print("%s: %d windows (%d per class) from %d upstream regions" % (out, len(chosen), count, regions))


if __name__ == "__main__":
    main()
