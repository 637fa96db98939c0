#!/usr/bin/python3
"""Does position inside the window carry label information beyond k-mer composition? A check for docs/dna.md.

Logistic regression (datasets/scripts/baselines.py: the same fit, penalty grid, group-held-out validation fifth and
standardisation) on k-mer counts taken per segment: the window is cut into S equal segments and each k-mer is
counted in the segment where it starts. The windows are reverse-complemented at random, so the features are the sum
of the window's counts and its reverse complement's (segment s of the reverse complement is the mirror of segment
S-1-s): they do not depend on the orientation, as a model with RC averaging. S = 1 is whole-window composition.
A positional head would only pay off where these features beat S = 1.

Usage: positional_kmers.py TASK K,S [K,S ...]      e.g.  positional_kmers.py promoter 4,1 3,1 3,5 4,3 4,5 2,10 2,25
Needs numpy; minutes per setting.
"""
import itertools
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "datasets", "scripts"))
import baselines  # noqa: E402

COMPLEMENT = str.maketrans("ACGT", "TGCA")


def segment_counts(sequence, k, segments, index):
    """Frequencies of each k-mer in each of `segments` equal parts, times `segments` (a segment's counts / its size)."""
    width = 4 ** k
    out = np.zeros(segments * width)
    starts = len(sequence) - k + 1
    for j in range(starts):
        out[min(segments - 1, j * segments // starts) * width + index[sequence[j:j + k]]] += 1
    return out * segments / max(1, starts)


def features(records, k, segments):
    index = {"".join(p): i for i, p in enumerate(itertools.product("ACGT", repeat=k))}
    return np.array([segment_counts(s, k, segments, index)
                     + segment_counts(s.translate(COMPLEMENT)[::-1], k, segments, index) for _, _, s in records])


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "datasets", "dna", sys.argv[1])
    train = baselines.read_fasta_gz(os.path.join(root, "train.fa.gz"))
    test = baselines.read_fasta_gz(os.path.join(root, "test.fa.gz"))
    labels = sorted({label for label, _, _ in train})
    y_train = np.array([labels.index(label) for label, _, _ in train])
    y_test = np.array([labels.index(label) for label, _, _ in test])
    groups = [group for _, group, _ in train]
    for spec in sys.argv[2:]:
        k, segments = (int(v) for v in spec.split(","))
        x_train, x_test = features(train, k, segments), features(test, k, segments)
        lam, val, (acc,) = baselines.select_and_score(x_train, y_train, groups, [(x_test, y_test)], len(labels))
        print("k=%d segments=%d features=%d penalty=%g validation=%.3f test=%.3f"
              % (k, segments, x_train.shape[1], lam, val, acc), flush=True)


if __name__ == "__main__":
    main()
