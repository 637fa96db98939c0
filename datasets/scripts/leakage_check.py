#!/usr/bin/python3
"""Leakage check for the committed datasets.

DNA: for each task, the number of distinct 50-mers of the test set that also occur in the train set, on either strand
(each 50-mer is taken in canonical form: the lesser of itself and its reverse complement), and how many test
sequences contain at least one of them. A positional or by-chromosome split leaves only sequence that is truly
repeated in the genome (transposons, rRNA operons, paralogous genes) or conserved (16S rRNA).
Audio: no voice of the digit test split in train, no speech prompt in both splits, no identical clip in both.

Usage: leakage_check.py [DATASETS_DIR]   (prints a Markdown table; exit status 1 if an audio check fails)
"""

import csv
import gzip
import hashlib
import os
import sys

K = 50
TASKS = ["species4", "coding", "promoter", "human_worm", "16s_phylum"]
_COMPLEMENT = str.maketrans("ACGT", "TGCA")


def read_fasta_gz(path):
    seqs, chunks = [], None
    with gzip.open(path, "rt", encoding="ascii") as f:
        for line in f:
            line = line.strip()
            if line.startswith(">"):
                if chunks is not None:
                    seqs.append("".join(chunks))
                chunks = []
            elif line:
                chunks.append(line)
    if chunks is not None:
        seqs.append("".join(chunks))
    return seqs


def canonical_kmers(seq):
    rc = seq.translate(_COMPLEMENT)[::-1]
    n = len(seq)
    for i in range(n - K + 1):
        a = seq[i:i + K]
        b = rc[n - K - i:n - i]
        yield a if a < b else b


def dna_row(root, task):
    train = set()
    for seq in read_fasta_gz(os.path.join(root, "dna", task, "train.fa.gz")):
        train.update(canonical_kmers(seq))
    test_seqs = read_fasta_gz(os.path.join(root, "dna", task, "test.fa.gz"))
    shared, test_all, hit_seqs = set(), set(), 0
    for seq in test_seqs:
        kmers = set(canonical_kmers(seq))
        test_all |= kmers
        common = kmers & train
        if common:
            hit_seqs += 1
            shared |= common
    return len(train), len(test_all), len(shared), hit_seqs, len(test_seqs)


def read_tsv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def audio_checks(root):
    failures = []
    digits = os.path.join(root, "audio", "digits")
    train = read_tsv(os.path.join(digits, "train", "labels.tsv"))
    test = read_tsv(os.path.join(digits, "test", "labels.tsv"))
    both = sorted(set(r["voice"] for r in train) & set(r["voice"] for r in test))
    if both:
        failures.append("digit voices in both train and test: %s" % ", ".join(both))
    # espeak voice names are VARIANT-ACCENT; a variant must not be on both sides under two accents either.
    variants = [set(r["voice"].split("-")[1] for r in rows if r["engine"] == "espeak-ng") for rows in (train, test)]
    if variants[0] & variants[1]:
        failures.append("espeak variants in both splits: %s" % ", ".join(sorted(variants[0] & variants[1])))
    speech = os.path.join(root, "audio", "speech")
    s_train = read_tsv(os.path.join(speech, "train", "labels.tsv"))
    s_test = read_tsv(os.path.join(speech, "test", "labels.tsv"))
    both = sorted(set(r["source"] for r in s_train) & set(r["source"] for r in s_test))
    if both:
        failures.append("speech prompts in both splits: %s" % ", ".join(both))
    for kind, tr, te, base in (("digit", train, test, digits), ("speech", s_train, s_test, speech)):
        h_train = set(sha(os.path.join(base, "train", r["file"])) for r in tr)
        dup = [r["file"] for r in te if sha(os.path.join(base, "test", r["file"])) in h_train]
        if dup:
            failures.append("%s test clips identical to a train clip: %s" % (kind, ", ".join(dup)))
    summary = ("digits: %d train voices, %d test voices, none shared; speech: %d train prompts, %d test prompts, none "
               "shared; no test clip identical to a train clip" % (len(set(r["voice"] for r in train)),
                                                                len(set(r["voice"] for r in test)),
                                                                len(s_train), len(s_test)))
    return failures, summary


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    print("| task | distinct 50-mers in train | in test | shared | test sequences with a shared 50-mer |")
    print("|---|---:|---:|---:|---:|")
    for task in TASKS:
        n_train, n_test, n_shared, hits, n_seqs = dna_row(root, task)
        print("| %s | %d | %d | %d (%.2f%%) | %d of %d |" % (task, n_train, n_test, n_shared,
                                                          100.0 * n_shared / max(1, n_test), hits, n_seqs))
    failures, summary = audio_checks(root)
    for f in failures:
        print("FAIL: " + f)
    if failures:
        sys.exit(1)
    print()
    print("Audio: " + summary)


if __name__ == "__main__":
    main()
