#!/usr/bin/python3
"""Builds the five DNA classification tasks in datasets/dna/<task>/{train,test}.fa.gz from unpacked Debian packages.

Usage: build_dna.py WORK_DIR OUT_DIR   (WORK_DIR holds pkg/<package>/ as fetch_sources.sh leaves it)

Every task is split without leakage: by genome position (a boundary at 80% of each genome; no window crosses it), by
chromosome, or by source sequence (16S genera). Windows with any base other than A, C, G, T are dropped. Each written
window is reverse-complemented with probability 1/2 and records are shuffled, all from a per-task seeded
random.Random, so that two runs give the same bytes. Headers:
    >TASK-SPLIT-INDEX label=LABEL src=ACCESSION:START-END(STRAND)
with 1-based inclusive coordinates on the source record.
"""

import os
import random
import re
import sys

from dnacommon import (accession_of, is_acgt, parse_genbank, read_fasta, reverse_complement, tile,
                       write_fasta_gz)

TRAIN_FRACTION = 0.8


class Window:
    __slots__ = ("accession", "start", "end", "seq", "label")

    def __init__(self, accession, start, end, seq, label):
        self.accession, self.start, self.end, self.seq, self.label = accession, start, end, seq, label


def finish(task, split, windows, rng):
    """Shuffles, reverse-complements at random and formats [(header, sequence)]."""
    windows = list(windows)
    rng.shuffle(windows)
    out = []
    for i, w in enumerate(windows):
        strand = "-" if rng.random() < 0.5 else "+"
        seq = reverse_complement(w.seq) if strand == "-" else w.seq
        header = "%s-%s-%05d label=%s src=%s:%d-%d(%s)" % (task, split, i + 1, w.label, w.accession,
                                                          w.start + 1, w.end, strand)
        out.append((header, seq))
    return out


def positional_windows(records, width, label, rng, fraction=TRAIN_FRACTION):
    """Tiles the records of one genome (in file order, as one coordinate line) with non-overlapping windows.

    Returns (train, test): windows ending at or before fraction * total length, and windows starting at or after it.
    """
    total = sum(len(seq) for _, seq in records)
    boundary = int(total * fraction)
    train, test = [], []
    offset = 0
    for header, seq in records:
        accession = accession_of(header)
        phase = rng.randrange(width)
        for s in tile(0, len(seq), width, phase):
            piece = seq[s:s + width]
            if not is_acgt(piece):
                continue
            g0, g1 = offset + s, offset + s + width
            if g1 <= boundary:
                train.append(Window(accession, s, s + width, piece, label))
            elif g0 >= boundary:
                test.append(Window(accession, s, s + width, piece, label))
        offset += len(seq)
    return train, test


def sample(windows, count, rng, what):
    if len(windows) < count:
        raise SystemExit("%s: only %d windows available, %d wanted" % (what, len(windows), count))
    return rng.sample(windows, count)


def write_task(out_dir, task, train, test, rng):
    write_fasta_gz(os.path.join(out_dir, task, "train.fa.gz"), finish(task, "train", train, rng))
    write_fasta_gz(os.path.join(out_dir, task, "test.fa.gz"), finish(task, "test", test, rng))
    for split, ws in (("train", train), ("test", test)):
        counts = {}
        for w in ws:
            counts[w.label] = counts.get(w.label, 0) + 1
        print("%-12s %-5s %5d  %s" % (task, split, len(ws), " ".join("%s=%d" % kv for kv in sorted(counts.items()))))


def build_species4(work, out_dir):
    rng = random.Random(4001)
    base = os.path.join(work, "pkg/ragout-examples/usr/share/doc/ragout/examples")
    genomes = [("E_coli", "E.Coli/references/MG1655-K12.fasta.gz"),
               ("H_pylori", "H.Pylori/references/G27.fasta.gz"),
               ("S_aureus", "S.Aureus/references/N315.fasta.gz"),
               ("V_cholerae", "V.Cholerae/references/O395.fasta.gz")]
    train, test = [], []
    for label, rel in genomes:
        tr, te = positional_windows(read_fasta(os.path.join(base, rel)), 500, label, rng)
        train += sample(tr, 1250, rng, "species4 train " + label)
        test += sample(te, 250, rng, "species4 test " + label)
    write_task(out_dir, "species4", train, test, rng)


def overlaps_any(start, end, sorted_spans):
    """Whether [start, end) overlaps any span in a list sorted by start (spans may overlap each other)."""
    for s, e in sorted_spans:
        if s >= end:
            return False
        if e > start:
            return True
    return False


def build_coding(work, out_dir):
    rng = random.Random(4002)
    path = os.path.join(work, "pkg/any2fasta-examples/usr/share/doc/any2fasta/examples/test.gbk.gz")
    records = parse_genbank(path)
    width = 200
    total = sum(len(r["sequence"]) for r in records)
    boundary = int(total * TRAIN_FRACTION)
    pools = {("train", "coding"): [], ("test", "coding"): [], ("train", "intergenic"): [], ("test", "intergenic"): []}
    annotated = ("gene", "CDS", "tRNA", "rRNA", "ncRNA", "tmRNA", "misc_RNA")
    offset = 0
    for r in records:
        seq = r["sequence"]
        spans = sorted((s, e) for kind, s, e, _, _ in r["features"] if kind in annotated)
        cds = [(s, e) for kind, s, e, _, q in r["features"] if kind == "CDS" and "/pseudo" not in q]

        def put(label, s):
            piece = seq[s:s + width]
            if not is_acgt(piece):
                return
            g0, g1 = offset + s, offset + s + width
            split = "train" if g1 <= boundary else ("test" if g0 >= boundary else None)
            if split is not None:
                pools[(split, label)].append(Window(r["accession"], s, s + width, piece, label))

        seen = set()
        for s, e in cds:
            for w in tile(s, e, width, rng.randrange(width)):
                if w not in seen:  # CDSs of one gene model may share a stretch
                    seen.add(w)
                    put("coding", w)
        # Intergenic stretches: the gaps between the union of all annotated features.
        cursor = 0
        gaps = []
        for s, e in spans:
            if s > cursor:
                gaps.append((cursor, s))
            cursor = max(cursor, e)
        if cursor < len(seq):
            gaps.append((cursor, len(seq)))
        for s, e in gaps:
            # Intergenic windows are rarer than coding ones: tile with a stride of a quarter window, so that
            # windows overlap within a gap (always on one side of the split).
            w = s
            while w + width <= e:
                assert not overlaps_any(w, w + width, spans)
                put("intergenic", w)
                w += width // 4
        offset += len(seq)
    for key, ws in sorted(pools.items()):
        print("coding pool %s %s: %d windows" % (key[0], key[1], len(ws)))
    train = sample(pools[("train", "coding")], 2500, rng, "coding train coding")
    train += sample(pools[("train", "intergenic")], 2500, rng, "coding train intergenic")
    test = sample(pools[("test", "coding")], 500, rng, "coding test coding")
    test += sample(pools[("test", "intergenic")], 500, rng, "coding test intergenic")
    write_task(out_dir, "coding", train, test, rng)


PROMOTER_SOURCE = "pkg/r-bioc-biostrings/usr/lib/R/site-library/Biostrings/extdata/dm3_upstream2000.fa.gz"
PROMOTER_SPLITS = {"chr2L": "train", "chr2R": "train", "chr3L": "train", "chr3R": "test"}


def promoter_pools(path, split_of, width=250):
    """Every promoter and distal window of the chromosomes in split_of: returns (unique regions, distal windows
    dropped, {(split, label): [Window]} in (chromosome, start) order). Used by build_promoter and by
    scripts/experiments/promoter_more_data.py."""
    # Unique upstream regions: several transcripts share one start; key (chrom, start, strand).
    regions = {}
    for header, seq in read_fasta(path):
        name, where = header.split()
        strand = {"f": "+", "r": "-"}[name.rsplit("_", 1)[1]]
        m = re.match(r"^([^:]+):(-?\d+)-(-?\d+)$", where)
        if m is None:
            raise SystemExit("%s: cannot read the region in header %r" % (path, header))
        chrom, start1, end1 = m.group(1), int(m.group(2)), int(m.group(3))
        if chrom not in split_of or start1 < 1:
            continue  # other chromosomes, or a region running off the chromosome start
        if len(seq) != 2000 or end1 - start1 + 1 != 2000:
            raise SystemExit("%s: %s is not a 2000-bp region" % (path, header))
        regions.setdefault((chrom, start1, strand), seq)
    # The file gives each region in transcript orientation: the start site follows its last base. On the minus strand
    # the written sequence is the reverse complement of chrom:start1-end1, so its last base is genome position start1.
    windows = {"promoter": {}, "distal": {}}
    for (chrom, start1, strand), seq in sorted(regions.items()):
        for label, lo in (("promoter", 2000 - width), ("distal", 0)):
            piece = seq[lo:lo + width]
            if not is_acgt(piece):
                continue
            if strand == "+":
                g0 = start1 - 1 + lo
            else:
                g0 = start1 - 1 + (2000 - lo - width)
                piece = reverse_complement(piece)  # stored as it reads on the + strand; finish() re-orients it
            windows[label].setdefault((chrom, g0), piece)
    # A distal window that overlaps any promoter window (of a neighbouring gene) would carry the other label's signal.
    promoter_spans = {}
    for (chrom, g0) in windows["promoter"]:
        promoter_spans.setdefault(chrom, []).append((g0, g0 + width))
    for spans in promoter_spans.values():
        spans.sort()
    pools = {(s, l): [] for s in ("train", "test") for l in ("promoter", "distal")}
    dropped = 0
    for label in ("promoter", "distal"):
        for (chrom, g0), piece in sorted(windows[label].items()):
            if label == "distal" and overlaps_any(g0, g0 + width, promoter_spans.get(chrom, [])):
                dropped += 1
                continue
            pools[(split_of[chrom], label)].append(Window(chrom, g0, g0 + width, piece, label))
    return len(regions), dropped, pools


def build_promoter(work, out_dir):
    rng = random.Random(4003)
    regions, dropped, pools = promoter_pools(os.path.join(work, PROMOTER_SOURCE), PROMOTER_SPLITS)
    print("promoter: %d unique regions, %d distal windows dropped for overlapping a promoter window"
          % (regions, dropped))
    for key, ws in sorted(pools.items()):
        print("promoter pool %s %s: %d windows" % (key[0], key[1], len(ws)))
    train = sample(pools[("train", "promoter")], 2500, rng, "promoter train promoter")
    train += sample(pools[("train", "distal")], 2500, rng, "promoter train distal")
    test = sample(pools[("test", "promoter")], 500, rng, "promoter test promoter")
    test += sample(pools[("test", "distal")], 500, rng, "promoter test distal")
    write_task(out_dir, "promoter", train, test, rng)


def build_human_worm(work, out_dir):
    rng = random.Random(4004)
    human = read_fasta(os.path.join(work, "pkg/plast-example/usr/share/doc/plast-example/db/sapiens_1Mo.fa.gz"))
    worm = read_fasta(os.path.join(work, "pkg/samtools-test/usr/share/samtools/test/mpileup/ce.fa"))
    worm = [(h, s) for h, s in worm if h.split()[0] != "CHROMOSOME_MtDNA"]  # nuclear DNA only
    train, test = [], []
    for label, records in (("human", human), ("worm", worm)):
        tr, te = positional_windows(records, 300, label, rng)
        train += sample(tr, 2500, rng, "human_worm train " + label)
        test += sample(te, 500, rng, "human_worm test " + label)
    write_task(out_dir, "human_worm", train, test, rng)


def build_16s_phylum(work, out_dir):
    rng = random.Random(4005)
    path = os.path.join(work, "pkg/r-bioc-dada2/usr/lib/R/site-library/dada2/extdata/ten_16s.100.fa.gz")
    entries = []
    for header, seq in read_fasta(path):
        name, tax = header.split(";", 1)
        ranks = dict(part.split(":", 1) for part in tax[len("tax="):].rstrip(";").split(","))
        entries.append((name, ranks["p"], ranks["g"], seq))
    by_phylum = {}
    for e in entries:
        by_phylum[e[1]] = by_phylum.get(e[1], 0) + 1
    phyla = sorted(by_phylum, key=lambda p: (-by_phylum[p], p))[:4]
    print("16s_phylum: phyla %s" % ", ".join("%s=%d" % (p, by_phylum[p]) for p in phyla))
    # Split by genus, within each phylum: whole genera go to test until it holds about 20% of the sequences, so that
    # no source sequence (nor a near-identical sibling from the same genus) is on both sides.
    train, test = [], []
    for phylum in phyla:
        members = [e for e in entries if e[1] == phylum]
        genera = sorted(set(e[2] for e in members))
        rng.shuffle(genera)
        test_genera, count = set(), 0
        for g in genera:
            if count >= (1 - TRAIN_FRACTION) * len(members):
                break
            test_genera.add(g)
            count += sum(1 for e in members if e[2] == g)
        for split, pool, wanted in (("train", train, 1250), ("test", test, 250)):
            sources = [e for e in members if (e[2] in test_genera) == (split == "test")]
            made = 0
            while made < wanted:
                name, _, genus, seq = sources[rng.randrange(len(sources))]
                length = rng.randint(150, 250)
                if len(seq) < length:
                    continue
                s = rng.randrange(len(seq) - length + 1)
                piece = seq[s:s + length]
                if not is_acgt(piece):
                    continue
                pool.append(Window(name, s, s + length, piece, phylum))
                made += 1
            print("16s_phylum %s %s: %d source sequences in %d genera" % (
                phylum, split, len(sources), len(set(e[2] for e in sources))))
    write_task(out_dir, "16s_phylum", train, test, rng)


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    work, out_dir = sys.argv[1], sys.argv[2]
    build_species4(work, out_dir)
    build_coding(work, out_dir)
    build_promoter(work, out_dir)
    build_human_worm(work, out_dir)
    build_16s_phylum(work, out_dir)


if __name__ == "__main__":
    main()
