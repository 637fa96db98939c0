#!/usr/bin/env python3
"""A checkpoint written by `mambakit train` (and a model saved by `mambakit synthetic --output`) loads in transformers.

    /opt/refvenv/bin/python scripts/reference/check_checkpoint_loads.py --mambakit .build/release/mambakit

For each case it trains a small plain-S6 model with the tool for a few steps (so every parameter has moved off its
initial value), then:
  1. loads the checkpoint folder with `MambaForCausalLM.from_pretrained` (output_loading_info=True): no missing,
     unexpected or mismatched keys may be reported, and config.json must give the same shapes as the tool's run;
  2. runs the loaded model on random ids in float32 through transformers' pure PyTorch path, and
     `mambakit debug forward --model FOLDER --tokens IDS.npy --out OUT.safetensors` on the same ids;
  3. compares the logits: pass if max |difference| <= 1e-4.

Cases: `train --task induction-heads` (vocab 16, tied), `train --task lm` on a generated FASTA (the DNA
vocabulary, with a pad id in config.json), and `synthetic selective-copying --mixer s6 --output` (<output>/s6/model).
The checkpoint folders also hold optimizer.safetensors and trainer_state.json, which transformers must ignore.
Exit status: 0 all pass, 1 a comparison or a load check failed, 2 the tool failed.
"""

from __future__ import annotations

import argparse
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy
import torch
import transformers
from safetensors.torch import load_file
from transformers import MambaForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mamba_reference as ref  # noqa: E402

LOGIT_TOLERANCE = 1e-4


def run(command: list[str]) -> str:
    """Runs the tool; exits with status 2 and its stderr if it fails."""
    finished = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if finished.returncode != 0:
        print(f"tool failed ({finished.returncode}): {shlex.join(command)}\n{finished.stderr}", file=sys.stderr)
        sys.exit(2)
    return finished.stdout


def latest_checkpoint(run_folder: Path) -> Path:
    """checkpoints/latest names the newest step folder."""
    checkpoints = run_folder / "checkpoints"
    return checkpoints / (checkpoints / "latest").read_text().strip()


def write_fasta(path: Path, seed: int) -> None:
    generator = random.Random(seed)
    records = [">r%d\n%s\n" % (i, "".join(generator.choice("ACGT") for _ in range(400))) for i in range(3)]
    path.write_text("".join(records))


def check(tool: list[str], folder: Path, label: str, work: Path, seed: int) -> bool:
    """Loads `folder` in transformers and compares its logits with the tool's; prints one line; True on pass."""
    model, info = MambaForCausalLM.from_pretrained(str(folder), output_loading_info=True, use_mambapy=False)
    model = model.float().eval()
    problems = {key: value for key, value in info.items() if value}
    config = model.config
    ids = ref.random_token_ids(config.vocab_size, batch=2, length=37, seed=seed)
    ids_path = work / f"{label}-ids.npy"
    numpy.save(ids_path, ids.numpy())
    with torch.no_grad():
        want = model(ids, use_cache=False).logits
    out_path = work / f"{label}-out.safetensors"
    run(tool + ["debug", "forward", "--model", str(folder), "--tokens", str(ids_path), "--out", str(out_path)])
    got = load_file(out_path)["logits"]
    difference = (got - want).abs().max().item() if got.shape == want.shape else float("inf")
    # A model still at its initial values would not show that every tensor was read from the right place.
    spread = want.std().item()
    passed = not problems and difference <= LOGIT_TOLERANCE and spread > 1e-2
    print(f"{'PASS' if passed else 'FAIL'}  {label:<28} vocab {config.vocab_size:>3}  d_model {config.hidden_size:>3}  "
          f"layers {config.num_hidden_layers}  tied {config.tie_word_embeddings!s:<5}  logits {tuple(want.shape)}  "
          f"max |diff| {difference:.2e} (tolerance {LOGIT_TOLERANCE:.0e})  logit std {spread:.3f}"
          + (f"  loading problems {problems}" if problems else ""))
    return passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mambakit", default=".build/release/mambakit", help="the tool (split like a shell command)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    arguments = parser.parse_args()
    ref.require_slow_path()
    ref.configure_torch()
    transformers.utils.logging.disable_progress_bar()
    tool = shlex.split(arguments.mambakit)
    work = Path(tempfile.mkdtemp(prefix="mambakit-checkpoint-"))
    tiny = ["--d-model", "32", "--layers", "2", "--d-state", "8", "--threads", "1", "--lr", "1e-2", "--warmup", "2"]
    results = []

    induction = work / "induction"
    run(tool + ["train", "--task", "induction-heads", "--length", "64", "--batch", "4", "--steps", "20",
                "--checkpoint-every", "10", "--output", str(induction)] + tiny)
    results.append(check(tool, latest_checkpoint(induction), "train induction-heads", work, seed=11))

    fasta = work / "tiny.fa"
    write_fasta(fasta, seed=3)
    lm = work / "lm"
    run(tool + ["train", "--data", str(fasta), "--length", "64", "--batch", "4", "--steps", "20",
                "--validation-fraction", "0.2", "--output", str(lm)] + tiny)
    results.append(check(tool, latest_checkpoint(lm), "train lm (DNA)", work, seed=12))

    synthetic = work / "synthetic"
    run(tool + ["synthetic", "selective-copying", "--mixer", "s6", "--length", "48", "--memorize", "4", "--batch",
                "4", "--steps", "20", "--eval-sequences", "4", "--output", str(synthetic)] + tiny)
    results.append(check(tool, synthetic / "s6" / "model", "synthetic selective-copying", work, seed=13))

    if arguments.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work)
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
