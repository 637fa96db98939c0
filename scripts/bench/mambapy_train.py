#!/usr/bin/env python3
"""Training-step throughput of mambapy (parallel scan) + LM head on the CPU: the peer of `mambakit bench train`.

    /opt/refvenv/bin/python scripts/bench/mambapy_train.py --batch 2 --length 1024 --d-model 256 --layers 4 \
        --d-state 16 --expand 2 --threads 2 --json

One step = forward over (b, l) tokens, mean next-token cross-entropy against the following tokens, backward,
AdamW update (lr 1e-3, weight decay 0.01), zero_grad. float32. The model: embedding, mambapy's Mamba blocks with
the parallel scan (pscan), final RMSNorm, untied LM head: what mambapy.lm.LM builds, assembled here because
mambapy.lm imports its Mamba-2 module, which needs einops and mamba_ssm (CUDA). tokens/s counts b·l predicted
tokens per step.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peer_common  # noqa: E402


def main() -> int:
    arguments = peer_common.parser(__doc__.splitlines()[0]).parse_args()
    from importlib.metadata import version

    from mambapy.mamba import Mamba, MambaConfig, RMSNorm

    torch.set_num_threads(arguments.threads)
    torch.manual_seed(arguments.seed)
    config = MambaConfig(
        d_model=arguments.d_model, n_layers=arguments.layers, d_state=arguments.d_state,
        expand_factor=arguments.expand, pscan=True,
    )
    model = torch.nn.Sequential(
        torch.nn.Embedding(arguments.vocab, arguments.d_model),  # (b, l) -> (b, l, d)
        Mamba(config),                                           # (b, l, d) -> (b, l, d)
        RMSNorm(arguments.d_model, config.rms_norm_eps),
        torch.nn.Linear(arguments.d_model, arguments.vocab, bias=False),  # -> (b, l, vocab)
    ).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    # (b, l + 1) tokens: inputs are the first l, targets the last l.
    sequence = torch.randint(0, arguments.vocab, (arguments.batch, arguments.length + 1))
    inputs, targets = sequence[:, :-1], sequence[:, 1:]
    losses = []

    def step():
        logits = model(inputs)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))

    seconds = peer_common.time_passes(step, arguments.warmup, arguments.repeats)
    peer_common.report("mambapy LM training step", arguments, seconds,
                       {"mambapy": version("mambapy"), "last_loss": losses[-1]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
