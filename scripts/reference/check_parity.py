#!/usr/bin/env python3
"""Parity of `mambakit debug` with transformers on a fresh random Mamba checkpoint.

    /opt/refvenv/bin/python scripts/reference/check_parity.py --mambakit .build/debug/mambakit --seed 7 [--grads]

From --seed it draws a shape (vocab, hidden, state, layers, intermediate size, time-step rank, conv kernel,
biases, tied or not, epsilon, batch, length) and a model that no fixture uses, saves it with save_pretrained
into a temporary folder, writes token ids (int64, (b, l)) to a .npy, then runs

    MAMBAKIT debug forward --model DIR --tokens IDS.npy --out OUT.safetensors [--recurrent]
    MAMBAKIT debug grads   --model DIR --tokens IDS.npy --out GRADS.safetensors      (with --grads)

and compares with transformers' pure PyTorch path in float32:
  logits (b, l, v), last_hidden_state (b, l, d)   max |difference| <= 1e-4   (full sequence and --recurrent)
  grad.<HF parameter name>                         |g - g_ref| / |g_ref| <= 1e-4 for every parameter
  loss (last number of the last stdout line that mentions "loss")   relative difference <= 1e-5
It prints a table and exits 1 if any comparison fails (2 if the tool could not be run or its output read).

--mambakit takes a command line (split like a shell would), e.g. "python3 scripts/reference/fake_mambakit.py".
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mamba_reference as ref  # noqa: E402
from make_fixtures import FIXTURE_SEEDS  # noqa: E402

OUTPUT_TOLERANCE = 1e-4      # max absolute difference of logits and last_hidden_state
GRADIENT_TOLERANCE = 1e-4    # relative error (norm of difference / norm of reference) per parameter
LOSS_TOLERANCE = 1e-5        # relative difference of the loss
# Mixed into the seed so that a parity seed never reproduces a fixture's random stream ("PARITY").
SEED_SALT = 0x504152495459
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)", re.IGNORECASE)


class ToolFailure(Exception):
    """The tool could not be run, failed, or wrote something unreadable."""


@dataclass
class Row:
    quantity: str
    shape: str
    measure: str
    value: float
    tolerance: float

    @property
    def passed(self) -> bool:
        return self.value <= self.tolerance  # NaN compares False: fails


def draw_case(seed: int) -> dict:
    """A random-ish configuration: every option that changes the math is drawn, sizes kept small."""
    rng = numpy.random.default_rng([seed, SEED_SALT])
    hidden = int(rng.choice([8, 12, 16, 20, 24, 32]))
    if rng.random() < 0.35:
        intermediate = int(rng.integers(max(2, hidden // 2), 3 * hidden + 1))  # not a multiple of hidden
    else:
        intermediate = int(rng.integers(1, 4)) * hidden
    config = {
        "vocab_size": int(rng.integers(5, 81)),
        "hidden_size": hidden,
        "state_size": int(rng.integers(1, 17)),
        "num_hidden_layers": int(rng.integers(1, 4)),
        "intermediate_size": intermediate,
        "time_step_rank": "auto" if rng.random() < 0.4 else int(rng.integers(1, 6)),
        "conv_kernel": int(rng.integers(2, 6)),
        "use_bias": bool(rng.random() < 0.5),
        "use_conv_bias": bool(rng.random() < 0.7),
        "tie_word_embeddings": bool(rng.random() < 0.5),
        "layer_norm_epsilon": float(rng.choice([1e-5, 1e-6, 1e-3])),
        "residual_in_fp32": bool(rng.random() < 0.5),
    }
    while True:
        model_seed = int(rng.integers(10_000, 2**31 - 2))
        input_seed = int(rng.integers(10_000, 2**31 - 1))
        if not {model_seed, model_seed + 1, input_seed} & FIXTURE_SEEDS:
            break
    return {
        "config": config,
        "batch": int(rng.integers(1, 4)),
        "length": int(rng.integers(1, 25)),
        "model_seed": model_seed,
        "input_seed": input_seed,
    }


def run_tool(command: list[str], arguments: list[str], timeout: float) -> str:
    """Runs the tool, returns its stdout; raises ToolFailure with its stderr if it fails."""
    full = command + arguments
    try:
        finished = subprocess.run(full, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError as error:
        raise ToolFailure(f"cannot run {shlex.join(full)}: {error}") from error
    except subprocess.TimeoutExpired as error:
        raise ToolFailure(f"{shlex.join(full)} ran longer than {timeout} s") from error
    if finished.returncode != 0:
        raise ToolFailure(
            f"{shlex.join(full)} exited with status {finished.returncode}\n"
            f"--- stderr ---\n{finished.stderr.strip()}\n--- stdout ---\n{finished.stdout.strip()}"
        )
    return finished.stdout


def read_outputs(path: Path, keys: list[str]) -> dict[str, torch.Tensor]:
    if not path.exists():
        raise ToolFailure(f"the tool exited 0 but did not write {path}")
    try:
        tensors = load_file(path)
    except Exception as error:  # safetensors raises several types for malformed files
        raise ToolFailure(f"cannot read {path} as safetensors: {error}") from error
    missing = [key for key in keys if key not in tensors]
    if missing:
        raise ToolFailure(f"{path} lacks {', '.join(missing)}; it holds {', '.join(sorted(tensors)) or 'nothing'}")
    return tensors


def parse_loss(stdout: str) -> float:
    """The last number on the last stdout line that mentions 'loss' (e.g. `loss 3.1234567`)."""
    lines = [line for line in stdout.splitlines() if "loss" in line.lower()]
    if not lines:
        raise ToolFailure(f"no line mentioning 'loss' in the tool's stdout:\n{stdout.strip()}")
    numbers = NUMBER.findall(lines[-1])
    if not numbers:
        raise ToolFailure(f"no number on the loss line {lines[-1]!r}")
    return float(numbers[-1])


def shape_text(tensor: torch.Tensor) -> str:
    return "(" + ", ".join(str(size) for size in tensor.shape) + ")"


def compare_max_abs(label: str, got: torch.Tensor, want: torch.Tensor) -> Row:
    if tuple(got.shape) != tuple(want.shape):
        raise ToolFailure(f"{label}: shape {shape_text(got)}, expected {shape_text(want)}")
    difference = float((got.double() - want.double()).abs().max()) if want.numel() else 0.0
    if not torch.isfinite(got).all():
        difference = float("nan")
    return Row(label, shape_text(want), "max abs", difference, OUTPUT_TOLERANCE)


def compare_relative(label: str, got: torch.Tensor, want: torch.Tensor, tolerance: float) -> Row:
    if tuple(got.shape) != tuple(want.shape):
        raise ToolFailure(f"{label}: shape {shape_text(got)}, expected {shape_text(want)}")
    reference_norm = float(want.double().norm())
    difference_norm = float((got.double() - want.double()).norm())
    if reference_norm == 0.0:
        relative = 0.0 if difference_norm == 0.0 else float("inf")
    else:
        relative = difference_norm / reference_norm
    if not torch.isfinite(got).all():
        relative = float("nan")
    return Row(label, shape_text(want), "relative", relative, tolerance)


def check(command: list[str], seed: int, with_gradients: bool, keep: bool, timeout: float) -> int:
    case = draw_case(seed)
    model = ref.build_model(case["config"], case["model_seed"])
    input_ids = ref.random_token_ids(model.config.vocab_size, case["batch"], case["length"], case["input_seed"])
    resolved = ref.resolved_settings(model)
    print(f"seed {seed}: batch {case['batch']}, length {case['length']}, " +
          ", ".join(f"{key} {value}" for key, value in case["config"].items()) +
          f" (resolved time_step_rank {resolved['time_step_rank']})")

    expected = ref.forward_outputs(model, input_ids)
    rows: list[Row] = []
    extra_notes: list[str] = []
    scratch = Path(tempfile.mkdtemp(prefix="mambakit-parity-"))
    try:
        model_folder = scratch / "model"
        model.save_pretrained(model_folder, safe_serialization=True)
        tokens = scratch / "tokens.npy"
        numpy.save(tokens, input_ids.numpy().astype(numpy.int64))

        for recurrent in (False, True):
            out = scratch / ("forward-recurrent.safetensors" if recurrent else "forward.safetensors")
            run_tool(command, ["debug", "forward", "--model", str(model_folder), "--tokens", str(tokens),
                               "--out", str(out)] + (["--recurrent"] if recurrent else []), timeout)
            got = read_outputs(out, ["logits", "last_hidden_state"])
            suffix = " (recurrent)" if recurrent else ""
            for key in ("logits", "last_hidden_state"):
                rows.append(compare_max_abs(key + suffix, got[key], expected[key]))

        if with_gradients:
            loss, gradients = ref.loss_and_gradients(model, input_ids)
            out = scratch / "grads.safetensors"
            stdout = run_tool(command, ["debug", "grads", "--model", str(model_folder), "--tokens", str(tokens),
                                        "--out", str(out)], timeout)
            got = read_outputs(out, [])
            prefix = "grad."
            if not any(key.startswith(prefix) for key in got):
                prefix = ""
                extra_notes.append("gradients read under bare parameter names (no 'grad.' prefix)")
            missing = [name for name in gradients if prefix + name not in got]
            if missing:
                raise ToolFailure(f"{out} lacks gradients for {', '.join(missing)}")
            known = {prefix + name for name in gradients}
            unexpected = sorted(key for key in got if key.startswith(prefix) and key not in known and key != "loss")
            if unexpected:
                extra_notes.append(f"ignored tensors not in the reference: {', '.join(unexpected)}")
            got_loss = parse_loss(stdout)
            rows.append(compare_relative("loss", torch.tensor([got_loss], dtype=torch.float64), loss.reshape(1), LOSS_TOLERANCE))
            for name, gradient in gradients.items():
                rows.append(compare_relative("grad." + name, got[prefix + name], gradient, GRADIENT_TOLERANCE))
    finally:
        if keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)

    width = max(len(row.quantity) for row in rows)
    print(f"{'quantity':<{width}}  {'shape':<14} {'measure':<9} {'value':>11}  {'tolerance':>9}  result")
    for row in rows:
        print(f"{row.quantity:<{width}}  {row.shape:<14} {row.measure:<9} {row.value:11.3e}  {row.tolerance:9.0e}  "
              f"{'ok' if row.passed else 'FAIL'}")
    for note in extra_notes:
        print(f"note: {note}")
    failures = [row for row in rows if not row.passed]
    print(f"{'FAIL' if failures else 'PASS'}: {len(rows) - len(failures)}/{len(rows)} comparisons within tolerance")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mambakit", required=True, help="the tool: a path or a command line")
    parser.add_argument("--seed", type=int, required=True, help="draws the shape, the weights and the tokens")
    parser.add_argument("--grads", action="store_true", help="also compare the loss and every gradient")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (model, tokens, outputs)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed per tool run (default 600)")
    arguments = parser.parse_args()
    ref.require_slow_path()
    ref.configure_torch(threads=1)
    command = shlex.split(arguments.mambakit)
    try:
        return check(command, arguments.seed, arguments.grads, arguments.keep, arguments.timeout)
    except ToolFailure as failure:
        print(f"error: {failure}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
