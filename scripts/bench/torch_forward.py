#!/usr/bin/env python3
"""Forward throughput of transformers' MambaForCausalLM on the CPU: the peer of `mambakit bench forward`.

    /opt/refvenv/bin/python scripts/bench/torch_forward.py --batch 2 --length 1024 --d-model 256 --layers 4 \
        --d-state 16 --expand 2 --threads 2 --json

float32, the pure PyTorch ("slow") path with its sequential scan, under torch.no_grad, logits for every
position (b, l, vocab). Random weights (speed does not depend on them); time_step_rank "auto", conv kernel 4,
tied embeddings, as transformers' defaults.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peer_common  # noqa: E402


def main() -> int:
    arguments = peer_common.parser(__doc__.splitlines()[0]).parse_args()
    fused = [name for name in ("mamba_ssm", "causal_conv1d", "kernels") if importlib.util.find_spec(name)]
    if fused:
        sys.exit(f"error: {', '.join(fused)} installed: transformers would not run its PyTorch path")
    import transformers
    from transformers import MambaConfig, MambaForCausalLM

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(arguments.threads)
    torch.manual_seed(arguments.seed)
    config = MambaConfig(
        vocab_size=arguments.vocab, hidden_size=arguments.d_model, state_size=arguments.d_state,
        num_hidden_layers=arguments.layers, expand=arguments.expand, use_mambapy=False,
    )
    model = MambaForCausalLM(config).eval()
    tokens = torch.randint(0, arguments.vocab, (arguments.batch, arguments.length))

    def forward():
        with torch.no_grad():
            model(tokens, use_cache=False)

    seconds = peer_common.time_passes(forward, arguments.warmup, arguments.repeats)
    peer_common.report("transformers MambaForCausalLM forward", arguments, seconds,
                       {"transformers": transformers.__version__})
    return 0


if __name__ == "__main__":
    sys.exit(main())
