#!/usr/bin/env python3
"""A stand-in for `mambakit debug forward|grads` computed with transformers, to test check_parity.py.

    python fake_mambakit.py debug forward --model DIR --tokens IDS.npy --out OUT.safetensors [--recurrent]
    python fake_mambakit.py debug grads   --model DIR --tokens IDS.npy --out GRADS.safetensors

It follows the contract check_parity.py expects of the real tool: `forward` writes `logits` (b, l, v) and
`last_hidden_state` (b, l, d) as F32; `--recurrent` computes them one token at a time through the
recurrent cache; `grads` writes `grad.<HF parameter name>` for every parameter and prints `loss <value>`.

FAKE_MAMBAKIT_FAULT injects one mistake so that the checker's failures can be tested:
  logits=EPS | last_hidden_state=EPS   add EPS to one element (in every mode)
  recurrent=EPS                        add EPS to one logit, only with --recurrent
  grad=REL                             scale the last parameter's gradient by 1 + REL
  loss=REL                             print the loss scaled by 1 + REL
  missing-grad                         leave out the first gradient
  shape                                drop the last position of the logits
  nan                                  put a NaN in the logits
  exit                                 exit with status 3 after printing to stderr
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy
import torch
from transformers import DynamicCache, MambaForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mamba_reference as ref  # noqa: E402


def parse_fault() -> tuple[str, float]:
    text = os.environ.get("FAKE_MAMBAKIT_FAULT", "")
    if not text:
        return "", 0.0
    name, _, amount = text.partition("=")
    return name, float(amount) if amount else 0.0


def recurrent_outputs(model: MambaForCausalLM, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits, last_hidden_state) one token at a time through the cache."""
    cache = DynamicCache(config=model.config)
    hidden_columns, logit_columns = [], []
    with torch.no_grad():
        for t in range(input_ids.shape[1]):
            out = model.backbone(input_ids[:, t : t + 1], cache=cache, use_cache=True)
            cache = out.cache
            hidden = out.last_hidden_state[:, -1, :]
            hidden_columns.append(hidden)
            logit_columns.append(model.lm_head(hidden))
    return torch.stack(logit_columns, dim=1), torch.stack(hidden_columns, dim=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("group", choices=["debug"])
    parser.add_argument("command", choices=["forward", "grads"])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--tokens", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--recurrent", action="store_true")
    arguments = parser.parse_args()
    fault, amount = parse_fault()
    if fault == "exit":
        print("fake_mambakit: injected failure", file=sys.stderr)
        return 3

    ref.configure_torch(threads=1)
    model = MambaForCausalLM.from_pretrained(arguments.model).eval()
    input_ids = torch.from_numpy(numpy.load(arguments.tokens)).to(torch.int64)

    if arguments.command == "forward":
        if arguments.recurrent:
            logits, hidden = recurrent_outputs(model, input_ids)
        else:
            outputs = ref.forward_outputs(model, input_ids)
            logits, hidden = outputs["logits"], outputs["last_hidden_state"]
        logits, hidden = ref.as_float32(logits), ref.as_float32(hidden)
        if fault == "logits" or (fault == "recurrent" and arguments.recurrent):
            logits.view(-1)[0] += amount
        if fault == "last_hidden_state":
            hidden.view(-1)[-1] += amount
        if fault == "nan":
            logits.view(-1)[1] = float("nan")
        if fault == "shape":
            logits = logits[:, :-1, :].contiguous()
        ref.atomic_save_safetensors({"logits": logits, "last_hidden_state": hidden}, arguments.out)
        return 0

    loss, gradients = ref.loss_and_gradients(model, input_ids)
    tensors = {f"grad.{name}": ref.as_float32(gradient) for name, gradient in gradients.items()}
    if fault == "grad":
        last = list(tensors)[-1]
        tensors[last] = tensors[last] * (1.0 + amount)
    if fault == "missing-grad":
        del tensors[next(iter(tensors))]
    ref.atomic_save_safetensors(tensors, arguments.out)
    reported = float(loss) * (1.0 + amount) if fault == "loss" else float(loss)
    print(f"step 0 of 1")
    print(f"loss {reported:.9g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
