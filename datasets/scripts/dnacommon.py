"""FASTA and GenBank reading, reverse complement and deterministic FASTA.gz writing for the dataset builders.

Standard library only, so that the build needs nothing but Debian's python3 (and the zopfli tool for compression). Coordinates in headers are 1-based and
inclusive (as samtools regions): src=ACCESSION:START-END(STRAND), where STRAND is "+" when the window is written as it
reads on the source record and "-" when it was reverse-complemented.
"""

import gzip
import io
import os
import re
import subprocess

_COMPLEMENT = str.maketrans("ACGTNacgtn", "TGCANtgcan")
_ACGT_ONLY = re.compile(r"^[ACGT]+$")


def reverse_complement(seq):
    return seq.translate(_COMPLEMENT)[::-1]


def is_acgt(seq):
    return _ACGT_ONLY.match(seq) is not None


def open_text(path):
    if path.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="ascii")
    return open(path, "r", encoding="ascii")


def read_fasta(path):
    """Returns [(header_without_gt, SEQUENCE_UPPERCASE)] in file order."""
    records = []
    header = None
    chunks = []
    with open_text(path) as handle:
        for line in handle:
            line = line.rstrip("\r\n")
            if line.startswith(">"):
                if header is not None:
                    records.append((header, "".join(chunks).upper()))
                header = line[1:]
                chunks = []
            elif line:
                chunks.append(line.strip())
    if header is not None:
        records.append((header, "".join(chunks).upper()))
    return records


def accession_of(header):
    """NCBI accession from a header such as 'gi|208433976|ref|NC_011333.1| ...'; otherwise the first word."""
    fields = header.split("|")
    if len(fields) >= 4 and fields[0] == "gi":
        return fields[3]
    return header.split()[0]


def parse_genbank(path):
    """Parses a multi-record GenBank flat file.

    Returns a list of dicts: {"accession", "sequence", "features": [(kind, start0, end0, strand, qualifiers_text)]},
    where start0/end0 are the 0-based half-open span of the whole location (min to max of all its parts).
    """
    records = []
    record = None
    in_features = False
    in_origin = False
    feature = None
    seq_chunks = []

    def close_feature():
        if feature is not None and record is not None:
            record["raw_features"].append(feature)

    with open_text(path) as handle:
        for line in handle:
            line = line.rstrip("\n")
            if line.startswith("LOCUS"):
                record = {"accession": line.split()[1], "raw_features": []}
                seq_chunks = []
                in_features = in_origin = False
                feature = None
            elif line.startswith("VERSION") and record is not None:
                record["accession"] = line.split()[1]
            elif line.startswith("FEATURES"):
                in_features = True
            elif line.startswith("ORIGIN"):
                close_feature()
                feature = None
                in_features = False
                in_origin = True
            elif line.startswith("//"):
                record["sequence"] = "".join(seq_chunks).upper()
                records.append(record)
                record = None
                in_origin = False
            elif in_origin:
                seq_chunks.append("".join(line.split()[1:]))
            elif in_features and not line.startswith("     "):
                close_feature()  # a top-level keyword after the feature table (CONTIG, BASE COUNT)
                feature = None
                in_features = False
            elif in_features:
                if len(line) > 5 and line[5] != " ":
                    close_feature()
                    kind = line[5:21].strip()
                    feature = [kind, line[21:].strip(), ""]
                elif feature is not None:
                    text = line[21:].strip()
                    if text.startswith("/") or feature[2]:
                        feature[2] += text + "\n"
                    else:
                        feature[1] += text  # a location continued on the next line
    for record in records:
        features = []
        for kind, location, qualifiers in record.pop("raw_features"):
            numbers = [int(n) for n in re.findall(r"\d+", location)]
            if not numbers:
                raise ValueError("%s: feature %s has no coordinates in location %r" % (path, kind, location))
            strand = "-" if location.startswith("complement") else "+"
            features.append((kind, min(numbers) - 1, max(numbers), strand, qualifiers))
        record["features"] = features
    return records


def write_fasta_gz(path, entries):
    """Writes [(header, sequence)] as gzip, one sequence line per record.

    The deflate stream comes from zopfli (standard gzip that any gunzip or zlib reads, about 5% smaller than gzip -9;
    its header has mtime 0 and no file name, and its output depends only on the input and the iteration count).
    Writes to temporary files in the same folder, then renames the result into place.
    """
    os.makedirs(os.path.dirname(path), exist_ok=True)
    plain = path + ".txt.tmp"
    tmp = path + ".tmp"
    with open(plain, "wb") as raw:
        for header, seq in entries:
            raw.write((">" + header + "\n" + seq + "\n").encode("ascii"))
    with open(tmp, "wb") as out:
        subprocess.run(["zopfli", "--gzip", "--i15", "-c", plain], check=True, stdout=out)
    os.remove(plain)
    os.replace(tmp, path)


def tile(start, end, width, phase):
    """Non-overlapping windows [s, s+width) inside [start, end), the first at start + phase."""
    s = start + phase
    while s + width <= end:
        yield s
        s += width
