#!/usr/bin/python3
"""Writes datasets/NOTICE: for every committed data file, the Debian package(s) and version(s) it was built from, the
path(s) inside them, the accession or origin, and the licence from the package's debian/copyright file.

Usage: make_notice.py DATASETS_DIR WORK_DIR
Versions: of the unpacked data packages (WORK_DIR/pkg/<name>.version) and of the installed tools (dpkg-query).
"""

import csv
import os
import subprocess
import sys

# id: (package, path inside the package, origin / accession, licence as debian/copyright gives it for that path)
SOURCES = {
    "ecoli": ("ragout-examples", "/usr/share/doc/ragout/examples/E.Coli/references/MG1655-K12.fasta.gz",
              "Escherichia coli K-12 substr. MG1655 chromosome (one record named K-12-MG1655; the file carries no "
              "accession)",
              "BSD-3-clause (Files: *), Copyright 2013-2018 Mikhail Kolmogorov, Joel Armstrong and others"),
    "hpylori": ("ragout-examples", "/usr/share/doc/ragout/examples/H.Pylori/references/G27.fasta.gz",
                "Helicobacter pylori G27 chromosome, NC_011333.1",
                "BSD-3-clause (Files: *), Copyright 2013-2018 Mikhail Kolmogorov, Joel Armstrong and others"),
    "saureus": ("ragout-examples", "/usr/share/doc/ragout/examples/S.Aureus/references/N315.fasta.gz",
                "Staphylococcus aureus subsp. aureus N315 chromosome, NC_002745.2",
                "BSD-3-clause (Files: *), Copyright 2013-2018 Mikhail Kolmogorov, Joel Armstrong and others"),
    "vcholerae": ("ragout-examples", "/usr/share/doc/ragout/examples/V.Cholerae/references/O395.fasta.gz",
                  "Vibrio cholerae O395 chromosomes I and II, CP001235.1 and CP001236.1",
                  "BSD-3-clause (Files: *), Copyright 2013-2018 Mikhail Kolmogorov, Joel Armstrong and others"),
    "leptospira": ("any2fasta-examples", "/usr/share/doc/any2fasta/examples/test.gbk.gz",
                   "Leptospira kirschneri str. H1 whole-genome shotgun contigs NZ_AHMY02000001.1 to "
                   "NZ_AHMY02000075.1 (RefSeq assembly GCF_000243915.1) with their CDS annotation",
                   "GPL-3 (Files: *), Copyright 2014-2018 Torsten Seemann"),
    "dm3": ("r-bioc-biostrings", "/usr/lib/R/site-library/Biostrings/extdata/dm3_upstream2000.fa.gz",
            "Drosophila melanogaster (UCSC dm3) 2000-bp regions upstream of RefSeq transcripts (NM_*), chr2L, "
            "chr2R, chr3L, chr3R used",
            "Artistic-2.0 (Files: *), Copyright 2006-2016 H. Pages, R. Gentleman, P. Aboyoun and S. DebRoy"),
    "human": ("plast-example", "/usr/share/doc/plast-example/db/sapiens_1Mo.fa.gz",
              "Homo sapiens unplaced genomic scaffolds, 15 TPA records GJ063650.1 to GJ063664.1 (about 1 Mb)",
              "AGPL-3 (Files: *), Copyright 2009-2015 Van Hoa Nguyen"),
    "worm": ("samtools-test", "/usr/share/samtools/test/mpileup/ce.fa",
             "Caenorhabditis elegans chromosome excerpts CHROMOSOME_I (1,009,800 bp) and the first 5,000 bp of "
             "II, III, IV, V, X (MtDNA not used)",
             "Expat (Files: *), Copyright 2008-2016 Genome Research Ltd."),
    "16s": ("r-bioc-dada2", "/usr/lib/R/site-library/dada2/extdata/ten_16s.100.fa.gz",
            "16S rRNA gene sequences (records gi_*, taxonomy in the headers); the four largest phyla used",
            "LGPL-3 (Files: *), Copyright 2019 Benjamin Callahan"),
    "espeak": ("espeak-ng", "/usr/bin/espeak-ng and /usr/lib/x86_64-linux-gnu/espeak-ng-data/ (package espeak-ng-data)",
               "speech synthesized by this project with espeak-ng: English accents and the voice variants of "
               "espeak-ng-data/voices/!v; parameters in the labels.tsv beside each clip",
               "GPL-3+ (espeak-ng and espeak-ng-data), Copyright 2005-2016 Jonathan Duddington, Reece H. Dunn "
               "and others"),
    "ked": ("festvox-kdlpc16k", "/usr/share/festival/voices/english/ked_diphone/ (run by festival)",
            "speech synthesized by this project with festival's voice_ked_diphone (American English male diphone "
            "voice, CSTR); parameters in labels.tsv",
            "CSTR licence (free use and distribution; modifications marked, authors named), Copyright 1997 "
            "Centre for Speech Technology Research, University of Edinburgh; festival itself under the same terms"),
    "slt": ("festvox-us-slt-hts", "/usr/share/festival/voices/us/cmu_us_slt_arctic_hts/ (run by festival)",
            "speech synthesized by this project with festival's voice_cmu_us_slt_arctic_hts (CMU ARCTIC speaker slt, "
            "HTS); parameters in labels.tsv",
            "EST-2003 (Files: *), Copyright 2003 Carnegie Mellon University; festival under the CSTR licence"),
    "asterisk-fr": ("asterisk-core-sounds-fr-wav", "/usr/share/asterisk/sounds/fr_CA_f_June/",
                    "recorded French (Canada) prompts read by June Wallack; the exact file is named per clip below",
                    "CC-BY-SA-3.0 (Files: fr-*), Copyright 2006-2008 June Wallack"),
    "asterisk-it": ("asterisk-core-sounds-it-wav", "/usr/share/asterisk/sounds/it_IT_m_Carlo/",
                    "recorded Italian prompts read by Carlo Flora; the exact file is named per clip below",
                    "CC-BY-3.0 (Files: it-*), Copyright 2012 Carlo Flora"),
    "alsa": ("alsa-utils", "/usr/share/sounds/alsa/",
             "recorded speech test sounds shipped with alsa-utils, converted losslessly from WAV to FLAC",
             "GPL-2 (Files: *), Copyright 1998-2022 Jaroslav Kysela and others"),
}

DNA_SOURCES = {"species4": ["ecoli", "hpylori", "saureus", "vcholerae"], "coding": ["leptospira"],
               "promoter": ["dm3"], "human_worm": ["human", "worm"], "16s_phylum": ["16s"]}

TOOLS = ["espeak-ng", "espeak-ng-data", "festival", "festvox-kdlpc16k", "festvox-us-slt-hts", "sox", "flac",
         "zopfli", "python3"]


def version_of(package, work):
    path = os.path.join(work, "pkg", package + ".version")
    if os.path.exists(path):
        with open(path) as f:
            return f.read().strip()
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True)
    return out.stdout.strip() or "not installed"


def digit_sources(row):
    if row["engine"] == "espeak-ng":
        return ["espeak"]
    return ["ked"] if row["voice"] == "festival-ked" else ["slt"]


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    root, work = sys.argv[1], sys.argv[2]
    lines = []
    add = lines.append
    add("MambaKit datasets: where every file comes from")
    add("")
    add("Every file under dna/ and audio/ was built by scripts/build_all.sh from Debian 12 (bookworm) packages.")
    add("Each source below gives: the Debian package and version, the path inside it, the accession or origin,")
    add("and the licence that the package's debian/copyright file states for it. The files list at the end names,")
    add("for every file, the sources it was made from. Changes made: DNA windows cut out, upper-cased, some")
    add("reverse-complemented; speech and the alsa recordings converted losslessly from WAV to FLAC (samples")
    add("unchanged); digits synthesized, resampled, silence-trimmed and peak-normalised.")
    add("")
    add("Sources")
    add("-------")
    for key, (package, path, origin, licence) in SOURCES.items():
        add("[%s]" % key)
        add("  package: %s %s" % (package, version_of(package, work)))
        add("  path:    %s" % path)
        add("  origin:  %s" % origin)
        add("  licence: %s" % licence)
        add("")
    add("Tools that converted or synthesized the data, with the versions used:")
    add("  " + ", ".join("%s %s" % (t, version_of(t, work)) for t in TOOLS))
    add("")
    add("Files")
    add("-----")
    entries = []
    for task, keys in DNA_SOURCES.items():
        for split in ("train", "test"):
            entries.append(("dna/%s/%s.fa.gz" % (task, split), " ".join(keys)))
    digits = os.path.join(root, "audio", "digits")
    for folder in sorted(os.listdir(digits)):
        with open(os.path.join(digits, folder, "labels.tsv"), newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        used = []
        for row in rows:
            keys = digit_sources(row)
            entries.append(("audio/digits/%s/%s" % (folder, row["file"]), " ".join(keys)))
            used += [k for k in keys if k not in used]
        entries.append(("audio/digits/%s/labels.tsv" % folder, " ".join(sorted(used))))
    for split in ("train", "test"):
        folder = os.path.join(root, "audio", "speech", split)
        with open(os.path.join(folder, "labels.tsv"), newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        for row in rows:
            package, path = row["source"].split(":", 1)
            key = "asterisk-fr" if row["label"] == "fr" else "asterisk-it"
            entries.append(("audio/speech/%s/%s" % (split, row["file"]), "%s %s" % (key, path)))
        entries.append(("audio/speech/%s/labels.tsv" % split, "asterisk-fr asterisk-it"))
    for name in sorted(os.listdir(os.path.join(root, "audio", "alsa"))):
        entries.append(("audio/alsa/%s" % name, "alsa /usr/share/sounds/alsa/%s" % name))
    listed = set(e[0] for e in entries)
    for top in ("dna", "audio"):
        for dirpath, _, filenames in os.walk(os.path.join(root, top)):
            for name in filenames:
                rel = os.path.relpath(os.path.join(dirpath, name), root)
                if rel not in listed:
                    raise SystemExit("make_notice: %s has no source entry" % rel)
    width = max(len(e[0]) for e in entries)
    for path, keys in sorted(entries):
        add("%-*s  %s" % (width, path, keys))
    out = os.path.join(root, "NOTICE")
    with open(out + ".tmp", "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
