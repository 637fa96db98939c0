#!/usr/bin/python3
"""Simple baselines for the committed datasets: the accuracy that MambaKit's models must beat.

Usage: baselines.py [DATASETS_DIR]        (numpy, and sox on the PATH to decode FLAC)

Model: multinomial logistic regression with an L2 penalty, trained full-batch for a fixed number of Adam steps from
zero weights, on features standardised with the training mean and standard deviation. The penalty is picked from a
small grid on a validation part carved out of train by groups (DNA: 10-kb blocks of the source record, or the source
16S sequence; digits: the voice), never on test; the model is then refitted on all of train and scored once on test.

Features:
  DNA     k-mer frequencies for k = 4 and k = 6, each k-mer merged with its reverse complement (the windows are
          reverse-complemented at random, so strand carries no label information): 136 and 2080 features.
  digits  log-mel spectrogram (25 ms Hann window, 10 ms hop, 512-point FFT, 40 mel bands from 20 Hz to 8 kHz),
          mean and standard deviation of each band over time: 80 features.
          The other-rate test folders are scored twice: "naive" keeps the 16 kHz frame sizes in samples and the
          16 kHz filterbank whatever the file's rate; "rate-aware" sets frame sizes in seconds and the mel
          filterbank in Hz for the file's rate.
"""

import csv
import gzip
import itertools
import os
import re
import subprocess
import sys

import numpy as np

SEED = 7
LAMBDAS = [1e-4, 1e-3, 1e-2, 1e-1]
STEPS = 400
LEARNING_RATE = 0.05
DNA_TASKS = ["species4", "coding", "promoter", "human_worm", "16s_phylum"]


# ---------------------------------------------------------------------------------------------- logistic regression

def fit(X, y, classes, lam):
    """Full-batch Adam on the mean cross-entropy + lam/2 * |W|^2. X: [n, d] standardised, y: [n] ints."""
    n, d = X.shape
    W = np.zeros((d, classes), dtype=np.float32)
    b = np.zeros(classes, dtype=np.float32)
    mW, vW, mb, vb = np.zeros_like(W), np.zeros_like(W), np.zeros_like(b), np.zeros_like(b)
    onehot = np.eye(classes, dtype=np.float32)[y]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for t in range(1, STEPS + 1):
        logits = X @ W + b                       # [n, classes]
        logits -= logits.max(axis=1, keepdims=True)
        P = np.exp(logits)
        P /= P.sum(axis=1, keepdims=True)
        G = (P - onehot) / n                     # d loss / d logits
        gW = X.T @ G + lam * W                   # [d, classes]
        gb = G.sum(axis=0)
        for p, g, m, v in ((W, gW, mW, vW), (b, gb, mb, vb)):
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * g * g
            p -= LEARNING_RATE * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)
    return W, b


def accuracy(W, b, X, y):
    return float(np.mean(np.argmax(X @ W + b, axis=1) == y))


def standardise(train, *others):
    mu = train.mean(axis=0)
    sd = train.std(axis=0)
    sd[sd == 0] = 1.0
    return [((a - mu) / sd).astype(np.float32) for a in (train,) + others]  # float32: the fits are memory-bound


def select_and_score(Xtr, ytr, groups, tests, classes):
    """Picks lambda on a group-held-out validation fifth of train; refits on all of train; scores each test set.

    tests: list of (X, y). Returns (lambda, validation accuracy, [test accuracies]).
    """
    rng = np.random.default_rng(SEED)
    unique = np.array(sorted(set(groups)))
    held = set(rng.choice(unique, size=max(1, len(unique) // 5), replace=False).tolist())
    is_val = np.array([g in held for g in groups])
    fit_X, val_X = standardise(Xtr[~is_val], Xtr[is_val])
    best = None
    for lam in LAMBDAS:
        W, b = fit(fit_X, ytr[~is_val], classes, lam)
        acc = accuracy(W, b, val_X, ytr[is_val])
        if best is None or acc > best[1]:
            best = (lam, acc)
    lam = best[0]
    scaled = standardise(Xtr, *[X for X, _ in tests])
    W, b = fit(scaled[0], ytr, classes, lam)
    return lam, best[1], [accuracy(W, b, X, y) for X, (_, y) in zip(scaled[1:], tests)]


# ---------------------------------------------------------------------------------------------------------------- DNA

def read_fasta_gz(path):
    """[(label, group, sequence)] from headers '>ID label=L src=ACC:START-END(S)'."""
    out = []
    with gzip.open(path, "rt", encoding="ascii") as f:
        header = None
        for line in f:
            line = line.strip()
            if line.startswith(">"):
                header = line
            elif line:
                m = re.search(r"label=(\S+) src=(\S+):(\d+)-(\d+)\(", header)
                if m is None:
                    raise SystemExit("%s: header without label= and src=: %s" % (path, header))
                acc, start = m.group(2), int(m.group(3))
                group = acc if acc.startswith("gi_") else "%s:%d" % (acc, start // 10000)
                out.append((m.group(1), group, line))
    return out


def kmer_index(k):
    """Maps every k-mer to the column of its canonical form (the lesser of it and its reverse complement)."""
    comp = {"A": "T", "C": "G", "G": "C", "T": "A"}
    columns, index = {}, {}
    for kmer in ("".join(p) for p in itertools.product("ACGT", repeat=k)):
        rc = "".join(comp[c] for c in reversed(kmer))
        canon = min(kmer, rc)
        if canon not in columns:
            columns[canon] = len(columns)
        index[kmer] = columns[canon]
    return index, len(columns)


def kmer_features(seqs, k):
    index, width = kmer_index(k)
    X = np.zeros((len(seqs), width))
    for i, s in enumerate(seqs):
        row = X[i]
        for j in range(len(s) - k + 1):
            row[index[s[j:j + k]]] += 1
        row /= max(1, len(s) - k + 1)
    return X


def dna_baselines(root):
    rows = []
    for task in DNA_TASKS:
        train = read_fasta_gz(os.path.join(root, "dna", task, "train.fa.gz"))
        test = read_fasta_gz(os.path.join(root, "dna", task, "test.fa.gz"))
        labels = sorted(set(l for l, _, _ in train))
        ytr = np.array([labels.index(l) for l, _, _ in train])
        yte = np.array([labels.index(l) for l, _, _ in test])
        groups = [g for _, g, _ in train]
        for k in (4, 6):
            Xtr = kmer_features([s for _, _, s in train], k)
            Xte = kmer_features([s for _, _, s in test], k)
            lam, val, (acc,) = select_and_score(Xtr, ytr, groups, [(Xte, yte)], len(labels))
            rows.append((task, "%d-mer" % k, len(labels), lam, val, acc))
            print("%-11s %d-mer  classes=%d lambda=%g  validation=%.3f  test=%.3f" % (task, k, len(labels), lam,
                                                                                     val, acc), flush=True)
    return rows


# ------------------------------------------------------------------------------------------------------------- digits

def read_audio(path):
    """Mono int16 samples of any file sox reads, as float in [-1, 1)."""
    raw = subprocess.run(["sox", path, "-t", "raw", "-e", "signed-integer", "-b", "16", "-c", "1", "-"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0


def mel_filterbank(n_fft, rate, bands=40, fmin=20.0, fmax=8000.0):
    """[bands, n_fft/2+1] triangular filters, equally spaced on the HTK mel scale."""
    def mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def hz(m):
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    fmax = min(fmax, rate / 2.0)
    edges = hz(np.linspace(mel(fmin), mel(fmax), bands + 2))
    freqs = np.arange(n_fft // 2 + 1) * rate / n_fft
    fb = np.zeros((bands, len(freqs)))
    for i in range(bands):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        fb[i] = np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0.0, None)
    return fb


def logmel_stats(x, rate):
    """Mean and std over time of the log-mel spectrogram: [80]. Frame sizes follow `rate` (25 ms, 10 ms hop)."""
    win = int(round(0.025 * rate))
    hop = int(round(0.010 * rate))
    n_fft = 1
    while n_fft < win:
        n_fft *= 2
    if len(x) < win:
        x = np.pad(x, (0, win - len(x)))
    frames = 1 + (len(x) - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(frames)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(win), n=n_fft)) ** 2      # [frames, n_fft/2+1]
    logmel = np.log(spec @ mel_filterbank(n_fft, rate).T + 1e-10)          # [frames, 40]
    return np.concatenate([logmel.mean(axis=0), logmel.std(axis=0)])


def read_labels(folder):
    with open(os.path.join(folder, "labels.tsv"), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def digit_baselines(root):
    base = os.path.join(root, "audio", "digits")
    sets = {}
    for folder in sorted(os.listdir(base)):
        rows = read_labels(os.path.join(base, folder))
        audio = [(read_audio(os.path.join(base, folder, r["file"])), int(r["sample_rate"])) for r in rows]
        y = np.array([int(r["label"]) for r in rows])
        naive = np.array([logmel_stats(x, 16000) for x, _ in audio])          # 16 kHz framing whatever the rate
        aware = np.array([logmel_stats(x, rate) for x, rate in audio])
        sets[folder] = (rows, y, naive, aware)
    rows, ytr, Xtr, _ = sets["train"]
    groups = [r["voice"] for r in rows]
    others = [f for f in sets if f.startswith("test-")]
    tests = [(sets["test"][2], sets["test"][1])]
    for f in others:
        tests.append((sets[f][2], sets[f][1]))
        tests.append((sets[f][3], sets[f][1]))
    # The 16 kHz test clips that also exist at the other rates, for a like-for-like comparison (a separate row only
    # when the other rates hold a subset; the committed build has every test clip at every rate).
    subset_files = set(r["file"] for r in sets[others[0]][0]) if others else set()
    mask = np.array([r["file"] in subset_files for r in sets["test"][0]])
    partial = 0 < mask.sum() < len(mask)
    if partial:
        tests.append((sets["test"][2][mask], sets["test"][1][mask]))
    lam, val, accs = select_and_score(Xtr, ytr, groups, tests, 10)
    result = [("test (16000 Hz)", len(sets["test"][1]), accs[0])]
    for i, f in enumerate(others):
        n = len(sets[f][1])
        result.append(("%s naive" % f, n, accs[1 + 2 * i]))
        result.append(("%s rate-aware" % f, n, accs[2 + 2 * i]))
    if partial:
        result.append(("test (16000 Hz), same clips as test-*", int(mask.sum()), accs[-1]))
    print("digits log-mel  lambda=%g  validation=%.3f" % (lam, val))
    for name, n, acc in result:
        print("  %-40s n=%4d  accuracy=%.3f" % (name, n, acc))
    return lam, val, result


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    dna_baselines(root)
    digit_baselines(root)


if __name__ == "__main__":
    main()
