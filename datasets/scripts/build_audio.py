#!/usr/bin/python3
"""Builds the audio sets in OUT_DIR/audio/ from Debian packages.

Usage: build_audio.py WORK_DIR OUT_DIR [--full]

  digits/{train,test}/        "zero".."nine" synthesized by espeak-ng and festival, 16 kHz mono PCM16 FLAC
  digits/test-{8000,22050,44100,48000}/   every test clip resampled to other rates
  speech/{train,test}/        real recordings (asterisk French and Italian prompts), 8 kHz mono PCM16 FLAC
  alsa/                       two real 48 kHz recordings from alsa-utils, converted losslessly to FLAC

Without --full, a subset that fits the repository budget is built (see SUBSET below); with --full, every voice and
every speech prompt. Each committed clip is byte-identical to the clip of the same name in the full build, since every
clip's parameters come from a random.Random seeded by its voice name alone.

Determinism: espeak-ng and festival give identical samples for identical parameters; sox runs with -R (repeatable)
and -D (no dither, so nothing random is added); flac runs with fixed settings and no padding or seek table.

FLAC settings: -8 with linear prediction up to order 32 (--lax: allowed by the FLAC format, outside its "streamable
subset", which limits the order to 12 at rates up to 48 kHz; every FLAC decoder, libFLAC and so libsndfile included,
decodes it) and an exhaustive model search. The clips resampled up to 22.05-48 kHz hold nothing above 8 kHz but
16-bit rounding noise, and the longer predictor saves 3-5% there; 2-3% on the 16 kHz clips.
"""

import os
import random
import shutil
import subprocess
import sys
import tempfile

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
ESPEAK_DATA = "/usr/lib/x86_64-linux-gnu/espeak-ng-data"
ESPEAK_ACCENTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029"]
RATE = 16000
OTHER_RATES = [8000, 22050, 44100, 48000]
TEST_VARIANT_FRACTION = 0.2
# Festival voices: one per split, so that no voice is in both (key: festival voice function, split, renditions).
FESTIVAL_VOICES = [("ked", "voice_ked_diphone", "train", 5), ("slt", "voice_cmu_us_slt_arctic_hts", "test", 3)]
# The committed subset: how many espeak voices per split and how many festival renditions. Every test clip of the
# subset is also committed at each of OTHER_RATES.
SUBSET = {"espeak_train": 20, "espeak_test": 8, "ked": 3, "slt": 2, "speech_train_s": 105.0, "speech_test_s": 30.0}
FLAC = ["flac", "--silent", "--force", "-8", "--lax", "-l", "32", "-e", "-A", "subdivide_tukey(6)", "--no-padding",
        "--no-seektable"]
TRIM = ["silence", "1", "0.005", "0.1%", "reverse", "silence", "1", "0.005", "0.1%", "reverse"]
SPEECH_SEED = 6002
ALSA_FILES = ["Front_Center.wav", "Front_Left.wav"]


def run(cmd, **kw):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)


def write_tsv(path, columns, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("\t".join(columns) + "\n")
        for row in rows:
            f.write("\t".join(str(row[c]) for c in columns) + "\n")
    os.replace(tmp, path)


def flac_info(path):
    out = subprocess.run(["soxi", "-s", path], check=True, capture_output=True, text=True).stdout
    return int(out.strip())


def espeak_variants():
    """Voice variants shipped by espeak-ng-data, sorted; names with spaces are left out (not usable in -v)."""
    names = sorted(n for n in os.listdir(os.path.join(ESPEAK_DATA, "voices", "!v")) if " " not in n)
    if len(names) < 50:
        raise SystemExit("expected espeak-ng voice variants in %s/voices/!v, found %d" % (ESPEAK_DATA, len(names)))
    return names


def digit_plan():
    """Every clip of the full set: dicts with split, voice, engine, parameters and the 16 kHz file name."""
    variants = espeak_variants()
    rng = random.Random(5001)
    order = variants[:]
    rng.shuffle(order)
    n_test = int(round(len(order) * TEST_VARIANT_FRACTION))
    split_of = {v: ("test" if i < n_test else "train") for i, v in enumerate(order)}
    clips = []
    # espeak voice = variant with an accent drawn once for it; rank = its place in the shuffled order of its split,
    # which decides whether it is in the committed subset.
    ranks = {"train": 0, "test": 0}
    for variant in order:
        split = split_of[variant]
        vr = random.Random("espeak:" + variant)
        accent = ESPEAK_ACCENTS[vr.randrange(len(ESPEAK_ACCENTS))]
        base_pitch = vr.randint(25, 75)
        base_speed = vr.randint(130, 200)
        voice = "espeak-%s-%s" % (variant, accent)
        for d, word in enumerate(DIGITS):
            clips.append({"split": split, "voice": voice, "engine": "espeak-ng", "rank": ranks[split],
                          "accent": accent, "variant": variant, "label": d, "word": word,
                          "pitch": max(0, min(99, base_pitch + vr.randint(-8, 8))),
                          "speed": base_speed + vr.randint(-12, 12)})
        ranks[split] += 1
    for name, function, split, renditions in FESTIVAL_VOICES:
        for r in range(renditions):
            vr = random.Random("festival:%s:%d" % (name, r))
            for d, word in enumerate(DIGITS):
                clips.append({"split": split, "voice": "festival-%s" % name, "engine": "festival", "rank": r,
                              "function": function, "rendition": r, "label": d, "word": word,
                              "pitch": vr.randint(-250, 250),          # cents, applied with sox pitch
                              "speed": round(vr.uniform(0.8, 1.25), 3)})  # 1 / Duration_Stretch
    for c in clips:
        suffix = "" if c["engine"] == "espeak-ng" else "-r%d" % c["rendition"]
        c["file"] = "%d_%s%s.flac" % (c["label"], c["voice"], suffix)
    return clips


def in_subset(c):
    if c["engine"] == "espeak-ng":
        return c["rank"] < SUBSET["espeak_" + c["split"]]
    return c["rank"] < SUBSET[c["voice"].split("-", 1)[1]]


def synthesize(clips, tmp):
    """Writes each clip's raw synthesizer output to tmp/<file>.raw.wav."""
    for c in clips:
        if c["engine"] == "espeak-ng":
            run(["espeak-ng", "-v", "%s+%s" % (c["accent"], c["variant"]), "-p", str(c["pitch"]),
                 "-s", str(c["speed"]), "-w", os.path.join(tmp, c["file"] + ".raw.wav"), c["word"]])
    festival = [c for c in clips if c["engine"] == "festival"]
    if festival:
        script = []
        for c in festival:
            script.append("(%s)" % c["function"])
            script.append("(Parameter.set 'Duration_Stretch %.6f)" % (1.0 / c["speed"]))
            script.append('(utt.save.wave (SynthText "%s") "%s" \'riff)'
                          % (c["word"], os.path.join(tmp, c["file"] + ".raw.wav")))
        path = os.path.join(tmp, "digits.scm")
        with open(path, "w") as f:
            f.write("\n".join(script) + "\n")
        run(["festival", "-b", path])


def to_clip(c, tmp, out_path):
    """Pitch shift (festival), resample to 16 kHz, trim silence at both ends, peak-normalise, encode FLAC."""
    # Headroom first (festival's diphone voice reaches full scale, and pitch shifting and resampling overshoot), then
    # a peak level of -6 dBFS for every clip once it is trimmed.
    effects = ["gain", "-6"]
    if c["engine"] == "festival" and c["pitch"] != 0:
        effects += ["pitch", str(c["pitch"])]
    effects += ["rate", "-v", str(RATE)] + TRIM + ["gain", "-n", "-6"]
    wav = os.path.join(tmp, c["file"] + ".wav")
    run(["sox", "-R", "-D", os.path.join(tmp, c["file"] + ".raw.wav"), "-b", "16", "-c", "1", wav] + effects)
    run(FLAC + ["-o", out_path + ".tmp", wav])
    os.replace(out_path + ".tmp", out_path)


def resample_clip(src_flac, rate, out_path, tmp):
    wav = os.path.join(tmp, "resample.wav")
    run(["sox", "-R", "-D", src_flac, "-b", "16", wav, "rate", "-v", str(rate)])
    run(FLAC + ["-o", out_path + ".tmp", wav])
    os.replace(out_path + ".tmp", out_path)


def build_digits(out_dir, full, tmp):
    clips = digit_plan() if full else [c for c in digit_plan() if in_subset(c)]
    root = os.path.join(out_dir, "audio", "digits")
    synthesize(clips, tmp)
    columns = ["file", "label", "word", "voice", "engine", "pitch", "speed", "sample_rate", "samples"]
    for split in ("train", "test"):
        folder = os.path.join(root, split)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        rows = []
        for c in sorted((c for c in clips if c["split"] == split), key=lambda c: c["file"]):
            path = os.path.join(folder, c["file"])
            to_clip(c, tmp, path)
            rows.append(dict(c, sample_rate=RATE, samples=flac_info(path)))
        write_tsv(os.path.join(folder, "labels.tsv"), columns, rows)
        print("digits %-5s %4d clips, %d voices" % (split, len(rows), len(set(r["voice"] for r in rows))))
    test = sorted((c for c in clips if c["split"] == "test"), key=lambda c: c["file"])
    for rate in OTHER_RATES:
        folder = os.path.join(root, "test-%d" % rate)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        rows = []
        for c in test:
            path = os.path.join(folder, c["file"])
            resample_clip(os.path.join(root, "test", c["file"]), rate, path, tmp)
            rows.append(dict(c, sample_rate=rate, samples=flac_info(path)))
        write_tsv(os.path.join(folder, "labels.tsv"), columns, rows)
        print("digits test-%d %d clips" % (rate, len(rows)))


def build_speech(work, out_dir, full, tmp):
    """Asterisk prompts, lossless (FLAC of the original 8 kHz PCM16 samples), split by file."""
    sources = [("fr", "June", "asterisk-core-sounds-fr-wav", "usr/share/asterisk/sounds/fr_CA_f_June"),
               ("it", "Carlo", "asterisk-core-sounds-it-wav", "usr/share/asterisk/sounds/it_IT_m_Carlo")]
    rng = random.Random(SPEECH_SEED)
    plan = []
    for lang, speaker, package, rel in sources:
        base = os.path.join(work, "pkg", package)
        files = []
        for dirpath, dirnames, filenames in os.walk(os.path.join(base, rel)):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith(".wav") and "/silence" not in dirpath:
                    files.append(os.path.join(dirpath, name))
        files.sort()
        rng.shuffle(files)
        # Every prompt of 1-12 s gets its side first, independently of the subset, so that the full build and the
        # committed subset agree: in shuffled order, a prompt goes to test while test holds less than a fifth of the
        # duration so far. Shorter prompts are mostly single words; longer ones would dominate a small subset.
        used = {"train": 0.0, "test": 0.0}
        sided = []
        for path in files:
            seconds = flac_info(path) / 8000.0
            if not 1.0 <= seconds <= 12.0:
                continue
            split = "test" if used["test"] < used["train"] * 0.25 else "train"
            used[split] += seconds
            sided.append((split, seconds, path))
        # The committed subset: the first prompts of each side, in the same shuffled order, that fit its budget.
        budget = {"train": SUBSET["speech_train_s"] / 2, "test": SUBSET["speech_test_s"] / 2}
        taken = {"train": 0.0, "test": 0.0}
        for split, seconds, path in sided:
            if not full:
                if taken[split] + seconds > budget[split]:
                    continue
                taken[split] += seconds
            plan.append({"split": split, "lang": lang, "speaker": speaker, "package": package,
                         "source": os.path.relpath(path, base), "path": path})
    columns = ["file", "label", "speaker", "source", "sample_rate", "samples", "seconds"]
    for split in ("train", "test"):
        folder = os.path.join(out_dir, "audio", "speech", split)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        rows = []
        for p in sorted((p for p in plan if p["split"] == split), key=lambda p: (p["lang"], p["source"])):
            stem = os.path.splitext(os.path.basename(p["source"]))[0]
            sub = os.path.basename(os.path.dirname(p["source"]))
            name = "%s_%s%s.flac" % (p["lang"], "" if sub.startswith(("fr_", "it_")) else sub + "-", stem)
            out_path = os.path.join(folder, name)
            wav = os.path.join(tmp, "speech.wav")
            # Re-write as canonical PCM16 WAV first (sox, no effects, so the samples are unchanged).
            run(["sox", "-R", "-D", p["path"], "-b", "16", "-c", "1", wav])
            run(FLAC + ["-o", out_path + ".tmp", wav])
            os.replace(out_path + ".tmp", out_path)
            n = flac_info(out_path)
            rows.append({"file": name, "label": p["lang"], "speaker": p["speaker"],
                         "source": p["package"] + ":/" + p["source"], "sample_rate": 8000, "samples": n,
                         "seconds": "%.3f" % (n / 8000.0)})
        write_tsv(os.path.join(folder, "labels.tsv"), columns, rows)
        print("speech %-5s %3d files, %.1f s" % (split, len(rows), sum(r["samples"] for r in rows) / 8000.0))


def build_alsa(work, out_dir, tmp):
    """The alsa-utils WAVs as FLAC: same samples (PCM16, 48 kHz, mono), a third of the bytes."""
    folder = os.path.join(out_dir, "audio", "alsa")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for name in ALSA_FILES:
        src = os.path.join(work, "pkg", "alsa-utils", "usr/share/sounds/alsa", name)
        wav = os.path.join(tmp, "alsa.wav")
        # Re-write as canonical PCM16 WAV first (sox, no effects, so the samples are unchanged), as for speech.
        run(["sox", "-R", "-D", src, "-b", "16", wav])
        out_path = os.path.join(folder, os.path.splitext(name)[0] + ".flac")
        run(FLAC + ["-o", out_path + ".tmp", wav])
        os.replace(out_path + ".tmp", out_path)
    print("alsa: %s (as FLAC)" % ", ".join(ALSA_FILES))


def main():
    args = [a for a in sys.argv[1:] if a != "--full"]
    full = "--full" in sys.argv[1:]
    if len(args) != 2:
        raise SystemExit(__doc__)
    work, out_dir = args
    with tempfile.TemporaryDirectory() as tmp:
        build_digits(out_dir, full, tmp)
        build_speech(work, out_dir, full, tmp)
        if not full:
            build_alsa(work, out_dir, tmp)


if __name__ == "__main__":
    main()
