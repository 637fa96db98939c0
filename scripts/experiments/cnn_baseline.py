#!/usr/bin/env python3
"""A convolutional baseline for the shipped DNA tasks (PyTorch, CPU): how far a conventional neural model gets on the
same training data, to put MambaKit's numbers and the issue bars in context. Not used by the tests or the examples.

Model: one-hot bases, Conv1d(4->128, 15) + ReLU + dropout 0.2, Conv1d(128->128, 9) + ReLU, global max and mean
pooling, linear head. AdamW (lr 1e-3, weight decay 0.01), batch 64, reverse-complement augmentation (each batch flipped
with probability 1/2) and reverse-complement averaging at evaluation. The epoch is chosen on a stratified 10%
validation split of the training file (seeded), never on the test file; the best test accuracy over all epochs is
printed too, marked as optimistic (it peeks at the test set).

    /opt/refvenv/bin/python scripts/experiments/cnn_baseline.py --task promoter --epochs 15
    /opt/refvenv/bin/python scripts/experiments/cnn_baseline.py --task promoter --train bigger.fa.gz --epochs 8
"""
import argparse
import gzip
import json
import random
import sys

import torch
import torch.nn as nn


def read_labelled(path):
    seqs, labels, label = [], [], None
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        for line in f:
            line = line.strip()
            if line.startswith(">"):
                label = line.split("label=", 1)[1].split()[0]
            elif line:
                seqs.append(line.upper())
                labels.append(label)
    return seqs, labels


def one_hot(seqs):
    index = {"A": 0, "C": 1, "G": 2, "T": 3}
    length = max(len(s) for s in seqs)
    x = torch.zeros(len(seqs), 4, length)
    for i, s in enumerate(seqs):
        for j, c in enumerate(s):
            if c in index:
                x[i, index[c], j] = 1
    return x


def reverse_complement(x):
    return x.flip(1).flip(2)  # channel order A C G T -> T G C A is the complement; flip(2) reverses


class Net(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.features = nn.Sequential(nn.Conv1d(4, 128, 15, padding=7), nn.ReLU(), nn.Dropout(0.2),
                                      nn.Conv1d(128, 128, 9, padding=4), nn.ReLU())
        self.head = nn.Linear(256, classes)

    def forward(self, x):
        h = self.features(x)
        return self.head(torch.cat([h.max(2).values, h.mean(2)], 1))


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        p = model(x).softmax(1) + model(reverse_complement(x)).softmax(1)
    return (p.argmax(1) == y).float().mean().item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", required=True)
    ap.add_argument("--train", help="training FASTA (default datasets/dna/TASK/train.fa.gz)")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    train_seqs, train_labels = read_labelled(args.train or "datasets/dna/%s/train.fa.gz" % args.task)
    test_seqs, test_labels = read_labelled("datasets/dna/%s/test.fa.gz" % args.task)
    names = sorted(set(train_labels))
    by_class = {n: [i for i, l in enumerate(train_labels) if l == n] for n in names}
    held = set()
    for n in names:
        members = by_class[n][:]
        rng.shuffle(members)
        held.update(members[: len(members) // 10])
    fit = [i for i in range(len(train_seqs)) if i not in held]
    val = sorted(held)
    x_all, y_all = one_hot(train_seqs), torch.tensor([names.index(l) for l in train_labels])
    x_fit, y_fit, x_val, y_val = x_all[fit], y_all[fit], x_all[val], y_all[val]
    x_test, y_test = one_hot(test_seqs), torch.tensor([names.index(l) for l in test_labels])
    model = Net(len(names))
    opt = torch.optim.AdamW(model.parameters(), 1e-3, weight_decay=0.01)
    history = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(x_fit))
        for start in range(0, len(order), 64):
            batch = order[start:start + 64]
            x = x_fit[batch]
            if rng.random() < 0.5:
                x = reverse_complement(x)
            loss = nn.functional.cross_entropy(model(x), y_fit[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
        history.append((epoch, accuracy(model, x_val, y_val), accuracy(model, x_test, y_test)))
        print("epoch %d validation %.4f test %.4f" % history[-1], file=sys.stderr, flush=True)
    best = max(history, key=lambda h: (h[1], -h[0]))
    print(json.dumps({"task": args.task, "train_records": len(train_seqs), "epochs": args.epochs, "seed": args.seed,
                      "torch": torch.__version__, "selected_epoch": best[0], "validation_accuracy": best[1],
                      "test_accuracy": best[2], "best_test_accuracy_optimistic": max(h[2] for h in history)}))


if __name__ == "__main__":
    main()
