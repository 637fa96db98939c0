#!/usr/bin/env python3
"""Writes the PyTorch reference fixtures of MambaKit into Tests/Fixtures/<case>/.

Run from anywhere with the reference venv (scripts/reference/README.md):

    /opt/refvenv/bin/python scripts/reference/make_fixtures.py            # (re)write Tests/Fixtures
    /opt/refvenv/bin/python scripts/reference/make_fixtures.py --verify   # regenerate in a temp dir, compare

Each case folder holds
  config.json, model.safetensors, generation_config.json   from MambaForCausalLM.save_pretrained
  reference.safetensors                                    input_ids, logits, last_hidden_state,
                                                           hidden_states.{i}, step_logits, loss, grad.<name>
  versions.json                                            versions, seeds, settings, self-checks, command
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mamba_reference as ref  # noqa: E402

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = REPOSITORY_ROOT / "Tests" / "Fixtures"
COMMAND = "/opt/refvenv/bin/python scripts/reference/make_fixtures.py"

# Seeds: `model_seed` seeds transformers' initialisation, `model_seed + 1` the perturbation of A_log, D,
# biases and norm weights, `input_seed` the token ids. check_parity.py never draws any of these.
CASES: dict[str, dict] = {
    "tiny-tied": {
        "config": {
            "vocab_size": 37,
            "hidden_size": 16,
            "state_size": 8,
            "num_hidden_layers": 2,
            "expand": 2,
            "conv_kernel": 4,
            "time_step_rank": "auto",
            "tie_word_embeddings": True,
            "use_bias": False,
            "use_conv_bias": True,
        },
        "batch": 2,
        "length": 11,
        "model_seed": 1001,
        "input_seed": 1003,
    },
    "tiny-options": {
        # intermediate_size 40 differs from expand * hidden_size = 48 on purpose: config.json carries both,
        # and transformers builds the layers from intermediate_size.
        "config": {
            "vocab_size": 29,
            "hidden_size": 24,
            "state_size": 4,
            "num_hidden_layers": 3,
            "intermediate_size": 40,
            "expand": 2,
            "time_step_rank": 3,
            "conv_kernel": 3,
            "use_bias": True,
            "use_conv_bias": False,
            "tie_word_embeddings": False,
            "layer_norm_epsilon": 1e-3,
            "residual_in_fp32": True,
        },
        "batch": 3,
        "length": 9,
        "model_seed": 2001,
        "input_seed": 2003,
    },
}

# state-spaces/mamba's MambaLMHeadModel names the embedding `backbone.embedding.weight` and, saving its
# full state_dict, also stores the tied `lm_head.weight` (a copy of the embedding).
STATE_SPACES_CASE = "state-spaces-names"
STATE_SPACES_SOURCE = "tiny-tied"

FIXTURE_SEEDS = {seed for case in CASES.values() for seed in (case["model_seed"], case["model_seed"] + 1, case["input_seed"])}


def reference_tensors(model, input_ids: torch.Tensor) -> tuple[dict[str, torch.Tensor], dict]:
    """Every tensor of reference.safetensors, plus the self-checks recorded in versions.json."""
    outputs = ref.forward_outputs(model, input_ids)
    stepped = ref.step_logits(model, input_ids)
    loss, gradients = ref.loss_and_gradients(model, input_ids)

    vocab = model.config.vocab_size
    manual_loss = torch.nn.functional.cross_entropy(
        outputs["logits"][:, :-1, :].reshape(-1, vocab), input_ids[:, 1:].reshape(-1)
    )
    checks = {
        "step_logits_vs_logits_max_abs": float((stepped - outputs["logits"]).abs().max()),
        "loss_vs_manual_cross_entropy_abs": float((loss - manual_loss).abs()),
        "float32_vs_float64": ref.float64_disagreement(model, input_ids, outputs["logits"], loss, gradients),
        "logits_moved_if_ignored": ref.sensitivity(model, input_ids),
    }
    if checks["step_logits_vs_logits_max_abs"] > 1e-5 or checks["loss_vs_manual_cross_entropy_abs"] > 1e-6:
        raise RuntimeError(f"reference self-check failed: {checks}")

    tensors: dict[str, torch.Tensor] = {"input_ids": input_ids.contiguous()}
    for key, value in outputs.items():
        tensors[key] = ref.as_float32(value)
    tensors["step_logits"] = ref.as_float32(stepped)
    tensors["loss"] = ref.as_float32(loss.reshape(1))
    for name, gradient in gradients.items():
        tensors[f"grad.{name}"] = ref.as_float32(gradient)
    return tensors, checks


def write_case(name: str, spec: dict, folder: Path, common: dict) -> dict[str, torch.Tensor]:
    """Builds the model of one case, saves it and its reference into `folder` (which must not exist)."""
    model = ref.build_model(spec["config"], spec["model_seed"])
    input_ids = ref.random_token_ids(model.config.vocab_size, spec["batch"], spec["length"], spec["input_seed"])
    tensors, checks = reference_tensors(model, input_ids)

    folder.mkdir(parents=True)
    model.save_pretrained(folder, safe_serialization=True)
    for file in folder.iterdir():
        file.chmod(0o644)  # transformers 5.24 writes model.safetensors as 0600

    # The saved checkpoint must reproduce the reference when loaded back.
    reloaded = type(model).from_pretrained(folder).eval()
    with torch.no_grad():
        reloaded_logits = reloaded(input_ids, use_cache=False).logits
    if not torch.equal(reloaded_logits, tensors["logits"]):
        raise RuntimeError(f"{name}: the saved checkpoint does not reproduce the reference logits")

    ref.atomic_save_safetensors(tensors, folder / "reference.safetensors", metadata={"generator": COMMAND})
    record = dict(common)
    record.update({
        "case": name,
        "seeds": {"model": spec["model_seed"], "perturbation": spec["model_seed"] + 1, "input_ids": spec["input_seed"]},
        "settings": {"config": spec["config"], "batch": spec["batch"], "length": spec["length"]},
        "resolved": ref.resolved_settings(model),
        "checks": checks,
    })
    ref.atomic_write_text(folder / "versions.json", ref.json_text(record))
    return tensors


def write_state_spaces_case(source: Path, folder: Path, common: dict) -> None:
    """A copy of `source` whose weights use state-spaces/mamba's names; reference outputs unchanged."""
    folder.mkdir(parents=True)
    for file in ("config.json", "generation_config.json", "reference.safetensors"):
        shutil.copyfile(source / file, folder / file)
    weights = load_file(source / "model.safetensors")
    renamed = {}
    for key, value in weights.items():
        renamed[key.replace("backbone.embeddings.", "backbone.embedding.")] = value
    if "lm_head.weight" in weights:
        raise RuntimeError(f"{source.name} is expected to have tied embeddings (no lm_head.weight)")
    renamed["lm_head.weight"] = renamed["backbone.embedding.weight"].clone()
    ref.atomic_save_safetensors(renamed, folder / "model.safetensors", metadata={"format": "pt"})

    record = ref.json_text({
        **common,
        "case": STATE_SPACES_CASE,
        "derived_from": source.name,
        "renames": {"backbone.embeddings.weight": "backbone.embedding.weight"},
        "added": {"lm_head.weight": "copy of backbone.embedding.weight (tied), as state-spaces' state_dict saves it"},
        "note": "config.json and reference.safetensors are those of the source case (gradients keep the HF name "
                "backbone.embeddings.weight). transformers 5.x itself does not rename backbone.embedding.weight "
                "on load (its load_hook is not applied); it only gets the right embedding through the tied "
                "lm_head.weight copy.",
    })
    ref.atomic_write_text(folder / "versions.json", record)


def generate(output: Path) -> None:
    """Writes all cases into a staging folder next to `output`, then swaps each case folder in."""
    common = {"versions": ref.versions(), "command": COMMAND, "generator": "scripts/reference/make_fixtures.py"}
    output.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=output, prefix=".staging-"))
    try:
        for name, spec in CASES.items():
            write_case(name, spec, staging / name, common)
        write_state_spaces_case(staging / STATE_SPACES_SOURCE, staging / STATE_SPACES_CASE, common)
        for name in [*CASES, STATE_SPACES_CASE]:
            target = output / name
            if target.exists():
                old = Path(tempfile.mkdtemp(dir=output, prefix=f".old-{name}-"))
                target.rename(old / name)
                (staging / name).rename(target)
                shutil.rmtree(old)
            else:
                (staging / name).rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def verify(committed: Path) -> int:
    """Regenerates into a temporary folder and compares every tensor with the committed fixtures."""
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch) / "Fixtures"
        generate(fresh)
        worst = 0.0
        failures = 0
        for name in [*CASES, STATE_SPACES_CASE]:
            for file in ("model.safetensors", "reference.safetensors"):
                old_path, new_path = committed / name / file, fresh / name / file
                if not old_path.exists():
                    print(f"MISSING {old_path}")
                    failures += 1
                    continue
                old, new = load_file(old_path), load_file(new_path)
                if set(old) != set(new):
                    print(f"KEYS DIFFER {name}/{file}: {sorted(set(old) ^ set(new))}")
                    failures += 1
                    continue
                for key in old:
                    if old[key].shape != new[key].shape or old[key].dtype != new[key].dtype:
                        print(f"SHAPE/DTYPE DIFFER {name}/{file}:{key}")
                        failures += 1
                        continue
                    difference = float((old[key].double() - new[key].double()).abs().max()) if old[key].numel() else 0.0
                    worst = max(worst, difference)
                    if difference > 1e-6:
                        print(f"DIFFER {name}/{file}:{key} max abs {difference:.3e}")
                        failures += 1
        print(f"verify: worst max abs difference {worst:.3e}, {failures} failure(s)")
        return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUTPUT, help="fixtures folder (default: Tests/Fixtures)")
    parser.add_argument("--verify", action="store_true", help="regenerate in a temp dir and compare with --out")
    arguments = parser.parse_args()
    ref.require_slow_path()
    ref.configure_torch(threads=1)
    if arguments.verify:
        return verify(arguments.out)
    generate(arguments.out)
    for name in [*CASES, STATE_SPACES_CASE]:
        folder = arguments.out / name
        size = sum(file.stat().st_size for file in folder.iterdir())
        print(f"{name:20s} {size:8d} bytes  {', '.join(sorted(f.name for f in folder.iterdir()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
