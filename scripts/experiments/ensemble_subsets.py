#!/usr/bin/env python3
"""Test accuracy of every ensemble that can be formed from a set of trained DNA classifiers: the numbers behind the
"Ensembles" tables of docs/dna.md. Not used by the tests or the examples.

Each input is a `mambakit predict` TSV of the same test file (id, label, p_CLASS...); an ensemble of k of them
averages their probability columns, which is what `mambakit ensemble` does. For every k, the script prints the mean,
lowest and highest test accuracy over all subsets of k inputs, and how many test records every input gets wrong.
Standard library only.

    for s in 1 2 3 4 5 6; do
        mambakit train --task classify --data datasets/dna/16s_phylum/train.fa.gz --out m$s --seed $s --split-seed 1 \\
            --epochs 15 --crop-augment 0.5 --conv-kernel 8 --threads 1
        mambakit predict --model m$s datasets/dna/16s_phylum/test.fa.gz --out m$s.tsv
    done
    python3 scripts/experiments/ensemble_subsets.py --test datasets/dna/16s_phylum/test.fa.gz m*.tsv
"""
import argparse
import gzip
import itertools
import re
import statistics
import sys


def labels_of(path):
    """Record id -> label from the label= field of each FASTA header."""
    opener = gzip.open if path.endswith(".gz") else open
    labels = {}
    with opener(path, "rt") as handle:
        for number, line in enumerate(handle, 1):
            if line.startswith(">"):
                match = re.search(r"label=(\S+)", line)
                if not match:
                    sys.exit(f"{path}:{number}: expected label=CLASS in the header, found {line.strip()!r}")
                labels[line[1:].split()[0]] = match.group(1)
    return labels


def read_predictions(path):
    """(ids, class names, probability rows) of a `mambakit predict` TSV."""
    with open(path) as handle:
        header = handle.readline().rstrip("\n").split("\t")
        if header[:2] != ["id", "label"] or not all(h.startswith("p_") for h in header[2:]):
            sys.exit(f"{path}:1: expected the header id, label, p_CLASS..., found {header}")
        ids, rows = [], []
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            ids.append(fields[0])
            rows.append([float(x) for x in fields[2:]])
    return ids, [h[2:] for h in header[2:]], rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--test", required=True, help="the labelled test FASTA(.gz) the predictions are of")
    parser.add_argument("predictions", nargs="+", help="mambakit predict TSVs, one per model")
    args = parser.parse_args()
    truth = labels_of(args.test)
    ids, classes, first = read_predictions(args.predictions[0])
    tables = [first]
    for path in args.predictions[1:]:
        other_ids, other_classes, rows = read_predictions(path)
        if other_ids != ids or other_classes != classes:
            sys.exit(f"{path}: expected the records and classes of {args.predictions[0]}, found others")
        tables.append(rows)
    targets = [classes.index(truth[i]) for i in ids]

    def accuracy(members):
        correct = 0
        for r, target in enumerate(targets):
            sums = [sum(tables[m][r][c] for m in members) for c in range(len(classes))]
            correct += max(range(len(classes)), key=sums.__getitem__) == target
        return correct / len(targets)

    n = len(tables)
    for k in range(1, n + 1):
        scores = [accuracy(subset) for subset in itertools.combinations(range(n), k)]
        line = f"k={k}: mean {statistics.mean(scores):.4f}, lowest {min(scores):.3f}, highest {max(scores):.3f}"
        if k == 1:
            line += " (" + ", ".join(f"{s:.3f}" for s in scores) + ")"
        print(line)
    wrong_everywhere = sum(all(max(range(len(classes)), key=t[r].__getitem__) != target for t in tables)
                           for r, target in enumerate(targets))
    print(f"{wrong_everywhere} of {len(targets)} test records are wrong in every model")


if __name__ == "__main__":
    main()
