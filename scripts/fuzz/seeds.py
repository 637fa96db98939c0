#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses into OUT/<harness>/ (standard library only).

Seeds come from the shipped data (heads of datasets/ files, re-compressed as gzip, multi-member gzip and BGZF), the
test fixtures (config.json, model.safetensors) and small hand-made files covering each format's features: CRLF and
comments in FASTA, quoted CSV manifests, every safetensors dtype, WAV/AIFF/FLAC at several widths and channel counts.

    scripts/fuzz/seeds.py OUT
"""
import gzip, json, math, os, struct, subprocess, sys, zlib

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
out = sys.argv[1]


def put(harness, name, data):
    folder = os.path.join(out, harness)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def bgzf(data, block=300):
    """BGZF: gzip members of at most `block` input bytes, each with the 'BC' extra field (SAM/BAM spec 4.1), then
    the empty end-of-file member."""
    members = []
    for start in range(0, len(data), block):
        members.append(data[start:start + block])
    members.append(b"")
    result = b""
    for chunk in members:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = c.compress(chunk) + c.flush()
        bsize = 12 + 6 + len(body) + 8 - 1 + 6  # total member size - 1
        header = struct.pack("<BBBBIBBH", 0x1F, 0x8B, 8, 4, 0, 0, 0xFF, 6) + b"BC" + struct.pack("<HH", 2, bsize)
        result += header + body + struct.pack("<II", zlib.crc32(chunk) & 0xFFFFFFFF, len(chunk))
    return result


# FASTA: heads of each DNA dataset, plain and compressed, plus hand-made layouts.
for task in sorted(os.listdir(os.path.join(root, "datasets/dna"))):
    with gzip.open(os.path.join(root, "datasets/dna", task, "test.fa.gz"), "rb") as f:
        head = f.read(1500)
    put("fasta", f"{task}.fa", head)
    put("fasta", f"{task}.fa.gz", gzip.compress(head[:800], mtime=0))
put("fasta", "multi-member.fa.gz", gzip.compress(b">a label=x\nACGT\n", mtime=0) + gzip.compress(b">b\nNNNN\n", mtime=0))
put("fasta", "bgzf.fa.gz", bgzf(b">chr1 some description\n" + b"ACGTRYKMSWBDHVN-acgt\n" * 40 + b">chr2\nAC\n"))
put("fasta", "crlf-comments.fa", b";old comment\r\n>id1 label=a\r\nAC GT\tNN\r\n\r\n;x\r\n>id2\r\n>id3 label=b\r\nacgu")
put("fasta", "empty-record.fa", b">only\n")
put("fasta", "lowercase.fa", b">x\nacgtnnnnACGT\n>y label=\"quoted label\"\nA\n")

# Manifests.
for path in ["datasets/audio/digits/test-8000/labels.tsv", "datasets/audio/digits/test/labels.tsv"]:
    full = os.path.join(root, path)
    if os.path.exists(full):
        with open(full, "rb") as f:
            put("manifest", os.path.basename(os.path.dirname(path)) + ".tsv", f.read(600))
put("manifest", "quoted.csv", b'\xef\xbb\xbfid,label,notes\r\nseq1,"a,b",x\r\n"seq2",c,"say ""hi"""\r\n\r\n')
put("manifest", "plain.tsv", b"ID\tLabel\nr1\tpos\nr2\tneg\n")
# Clip manifests name files that must exist: absolute paths of files every Linux system has.
put("manifest", "clips.tsv", b"file\tlabel\n/etc/hostname\tyes\n/etc/passwd\tno\n")
put("manifest", "clips-repeated.csv", b"label,file\nno,/etc/hostname\nyes,/etc/../etc/hostname\n")
put("manifest", "plain.csv.gz", gzip.compress(b"label,id\nyes,r1\nno,r2\n", mtime=0))

# Configurations: the fixtures' config.json and a few variants.
for name in ["tiny-tied", "tiny-options"]:
    with open(os.path.join(root, "Tests/Fixtures", name, "config.json"), "rb") as f:
        put("config", name + ".json", f.read())
put("config", "minimal.json", json.dumps({"vocab_size": 8, "hidden_size": 4, "state_size": 2,
                                          "num_hidden_layers": 1}).encode())
put("config", "classifier.json", json.dumps({
    "vocab_size": 5, "hidden_size": 8, "d_state": 4, "n_layer": 2, "time_step_rank": "auto", "layer_mixers": ["s6", "s4d"],
    "head_type": "sequence_classification", "id2label": {"0": "a", "1": "b"}, "bidirectional": True,
    "pad_vocab_size_multiple": 8, "sample_rate": 16000}).encode())


# Safetensors: the fixtures' checkpoints, every dtype, and a checkpoint of the harness's tiny layout.
def safetensors(tensors, metadata=None):
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, shape, payload) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def f32(values):
    return struct.pack(f"<{len(values)}f", *values)


for name in ["tiny-tied"]:
    with open(os.path.join(root, "Tests/Fixtures", name, "model.safetensors"), "rb") as f:
        put("safetensors", name + ".safetensors", f.read())
put("safetensors", "dtypes.safetensors", safetensors({
    "f32": ("F32", [2, 2], f32([1, -2, 3.5, 0])), "f64": ("F64", [2], struct.pack("<2d", 1.5, -0.25)),
    "f16": ("F16", [3], struct.pack("<3H", 0x3C00, 0x7C00, 0x0001)), "bf16": ("BF16", [1], struct.pack("<H", 0x3F80)),
    "i64": ("I64", [2], struct.pack("<2q", 7, -1)), "i32": ("I32", [], struct.pack("<i", 3)),
    "empty": ("F32", [0, 4], b"")}, {"format": "pt"}))
r, n, e, d, v, k = 1, 2, 8, 4, 8, 4
shapes = {"backbone.embeddings.weight": [v, d], "backbone.norm_f.weight": [d],
          "backbone.layers.0.norm.weight": [d], "backbone.layers.0.mixer.in_proj.weight": [2 * e, d],
          "backbone.layers.0.mixer.conv1d.weight": [e, 1, k], "backbone.layers.0.mixer.conv1d.bias": [e],
          "backbone.layers.0.mixer.x_proj.weight": [r + 2 * n, e], "backbone.layers.0.mixer.dt_proj.weight": [e, r],
          "backbone.layers.0.mixer.dt_proj.bias": [e], "backbone.layers.0.mixer.A_log": [e, n],
          "backbone.layers.0.mixer.D": [e], "backbone.layers.0.mixer.out_proj.weight": [d, e]}
put("safetensors", "tiny-layout.safetensors", safetensors(
    {name: ("F32", shape, f32([0.25 * (i % 7) for i in range(math.prod(shape))])) for name, shape in shapes.items()}))


# Audio: tiny files in the formats libsndfile reads, made with sox, plus a float WAV holding NaN and infinity.
def wav_float(samples, rate=8000, channels=1):
    data = struct.pack(f"<{len(samples)}f", *samples)
    fmt = struct.pack("<HHIIHH", 3, channels, rate, rate * 4 * channels, 4 * channels, 32)
    return (b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt))
            + fmt + b"data" + struct.pack("<I", len(data)) + data)


put("audio", "float.wav", wav_float([0.0, 0.5, -0.5, 1.0, -1.0, 0.25]))
put("audio", "nonfinite.wav", wav_float([0.0, float("nan"), float("inf"), 0.1], channels=2))
tmp = os.path.join(out, "tmp")
os.makedirs(tmp, exist_ok=True)
for name, args in [("pcm16-stereo.wav", ["-b", "16", "-c", "2"]), ("pcm8.wav", ["-b", "8", "-e", "unsigned"]),
                   ("pcm24.aiff", ["-b", "24"]), ("mono.flac", ["-b", "16"]), ("ulaw.wav", ["-e", "u-law"]),
                   ("adpcm.wav", ["-e", "ima-adpcm"]), ("raw.au", ["-b", "16"])]:
    target = os.path.join(tmp, name)
    try:
        subprocess.run(["sox", "-n", "-r", "8000"] + args + [target, "synth", "0.01", "sine", "440"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(target, "rb") as f:
            put("audio", name, f.read())
    except (OSError, subprocess.CalledProcessError):
        print(f"seeds.py: sox could not write {name}; skipped", file=sys.stderr)
digits = os.path.join(root, "datasets/audio/digits/test-8000")
for name in sorted(os.listdir(digits))[:2]:
    if name.endswith(".flac"):
        with open(os.path.join(digits, name), "rb") as f:
            put("audio", "digits-" + name, f.read())
for name in os.listdir(tmp):
    os.remove(os.path.join(tmp, name))
os.rmdir(tmp)
