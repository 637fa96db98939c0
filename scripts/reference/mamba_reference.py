"""Shared pieces of the PyTorch reference for MambaKit: random Mamba checkpoints and their outputs.

Used by make_fixtures.py (the committed fixtures), check_parity.py (fresh random checkpoints) and
fake_mambakit.py (a stand-in for the Swift tool that checks check_parity itself).

Dimensions: b batch, l length, d hidden_size, v vocab_size.

Everything runs on the CPU in float32 through transformers' pure PyTorch path ("slow path"): the
optional CUDA packages (mamba_ssm, causal_conv1d, kernels) must be absent and `use_mambapy` is off, so
the selective scan is transformers' sequential loop. `require_slow_path()` checks this.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy
import safetensors
import torch
import transformers
from safetensors.torch import save_file
from transformers import DynamicCache, MambaConfig, MambaForCausalLM

# Packages whose presence would make transformers pick a fused kernel instead of the PyTorch code.
_FAST_PATH_PACKAGES = ("mamba_ssm", "causal_conv1d", "kernels")


def require_slow_path() -> None:
    """Stops with a message if a fused-kernel package is importable (the reference must be the PyTorch code)."""
    present = [name for name in _FAST_PATH_PACKAGES if importlib.util.find_spec(name) is not None]
    if present:
        sys.exit(
            f"error: {', '.join(present)} installed in {sys.prefix}; the reference must run transformers' "
            "pure PyTorch Mamba path. Use a venv without them (see scripts/reference/README.md)."
        )


def configure_torch(threads: int = 1) -> None:
    """float32, CPU, deterministic kernels, a fixed thread count (reductions then sum in a fixed order)."""
    torch.set_default_dtype(torch.float32)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)
    transformers.logging.set_verbosity_error()


def versions() -> dict:
    """Versions of everything that can change the reference numbers."""
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "safetensors": safetensors.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
    }


def build_model(config_kwargs: dict, seed: int) -> MambaForCausalLM:
    """A random MambaForCausalLM whose every parameter is off its structured initial value.

    transformers initialises A_log = log(1..n), D = 1, biases = 0 (dt_proj.bias = softplus⁻¹ of a
    log-uniform dt) and norm weights = 1. An implementation that ignored one of them (or read it from the
    wrong tensor) would still agree with the reference at those values, so each is moved by a seeded
    random perturbation.

    At initialisation the state path barely matters: dt = softplus(dt_proj(..) + bias) is 0.001..0.1, so
    dt·B·u is tiny and D·u dominates the mixer output (zeroing C moved the logits by only 3e-4, barely
    above a 1e-4 parity tolerance). So dt_proj.bias is redrawn around 0 (dt ≈ 0.2..1.4, where
    exp(dt·A) spans fast and slow decay), D is drawn around 0, and x_proj.weight is scaled by 3 so that
    B and C are O(1): zeroing C then moves the logits by about 0.2.
    """
    config = MambaConfig(use_mambapy=False, **config_kwargs)
    torch.manual_seed(seed)
    model = MambaForCausalLM(config)
    generator = torch.Generator().manual_seed(seed + 1)

    def normal(shape, std):
        return torch.randn(shape, generator=generator, dtype=torch.float32) * std

    with torch.no_grad():
        for name, parameter in model.named_parameters():
            shape = parameter.shape
            if name.endswith("mixer.A_log"):
                parameter.add_(normal(shape, 0.3))
            elif name.endswith("mixer.D"):
                parameter.copy_(normal(shape, 1.0))
            elif name.endswith("mixer.dt_proj.bias"):
                parameter.copy_(normal(shape, 0.7))
            elif name.endswith("mixer.x_proj.weight"):
                parameter.mul_(3.0)
            elif name.endswith(".bias"):  # in_proj, out_proj, conv1d: zero at init
                parameter.copy_(normal(shape, 0.1))
            elif name.endswith("norm.weight") or name.endswith("norm_f.weight"):
                parameter.copy_(1.0 + normal(shape, 0.2))
    return model.eval()


def random_token_ids(vocab_size: int, batch: int, length: int, seed: int) -> torch.Tensor:
    """(b, l) int64 ids, uniform over the vocabulary."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab_size, (batch, length), generator=generator, dtype=torch.int64)


def parameter_names(model: MambaForCausalLM) -> list[str]:
    """HF parameter names, once each (with tied embeddings `lm_head.weight` is not listed: it is the embedding)."""
    return [name for name, _ in model.named_parameters()]


def forward_outputs(model: MambaForCausalLM, input_ids: torch.Tensor) -> dict[str, torch.Tensor]:
    """Full-sequence forward: `logits` (b, l, v), `last_hidden_state` (b, l, d), `hidden_states.{i}`.

    transformers' `output_hidden_states` for Mamba returns num_hidden_layers + 1 tensors: the residual
    stream after block 0, ..., after block n-1, then norm_f of the last (= last_hidden_state). The
    embeddings are NOT among them (unlike most transformers models).
    """
    with torch.no_grad():
        out = model(input_ids, output_hidden_states=True, use_cache=False)
    result = {"logits": out.logits, "last_hidden_state": out.hidden_states[-1]}
    for index, hidden in enumerate(out.hidden_states):
        result[f"hidden_states.{index}"] = hidden
    return result


def step_logits(model: MambaForCausalLM, input_ids: torch.Tensor) -> torch.Tensor:
    """(b, l, v) logits computed one token at a time through transformers' recurrent cache.

    In transformers 5.x the cache is a `DynamicCache(config=...)` passed as `cache=` (the old
    `cache_params` / `MambaCache` / `cache_position` are gone). The first call (no previous state)
    runs the full-sequence path on one token and stores the zero-padded conv window; later calls use
    `causal_conv1d_update` and `selective_state_update`, i.e. the true recurrent step.
    """
    cache = DynamicCache(config=model.config)
    columns = []
    with torch.no_grad():
        for t in range(input_ids.shape[1]):
            out = model(input_ids[:, t : t + 1], cache=cache, use_cache=True)
            cache = out.cache
            columns.append(out.logits[:, -1, :])
    return torch.stack(columns, dim=1)


def loss_and_gradients(model: MambaForCausalLM, input_ids: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Loss with labels = input_ids (mean next-token cross-entropy over b·(l-1) positions) and d loss / d parameter."""
    model.zero_grad(set_to_none=True)
    out = model(input_ids, labels=input_ids, use_cache=False)
    out.loss.backward()
    gradients = {name: parameter.grad.detach().clone() for name, parameter in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    return out.loss.detach(), gradients


def float64_disagreement(model: MambaForCausalLM, input_ids: torch.Tensor, logits: torch.Tensor,
                         loss: torch.Tensor, gradients: dict[str, torch.Tensor]) -> dict:
    """How far the float32 reference is from the same model run in float64: the floor under any tolerance."""
    wide = MambaForCausalLM(model.config)
    wide.load_state_dict(model.state_dict())
    wide = wide.double().eval()
    with torch.no_grad():
        wide_logits = wide(input_ids, use_cache=False).logits
    wide_loss, wide_gradients = loss_and_gradients(wide, input_ids)
    worst_gradient = max(
        float((gradients[name].double() - wide_gradients[name]).norm() / wide_gradients[name].norm().clamp_min(1e-300))
        for name in gradients
    )
    return {
        "logits_max_abs": float((logits.double() - wide_logits).abs().max()),
        "loss_relative": float(abs(loss.double() - wide_loss) / abs(wide_loss)),
        "gradient_worst_relative": worst_gradient,
    }


def sensitivity(model: MambaForCausalLM, input_ids: torch.Tensor) -> dict[str, float]:
    """Max |Δlogits| if an implementation ignored one ingredient: proof that a fixture can tell.

    Each entry rebuilds the model with one thing removed (C zeroed = no state path, D zeroed, a bias
    zeroed, norm weights set to 1, the default epsilon) and compares its logits with the real ones.
    """
    import copy

    with torch.no_grad():
        logits = model(input_ids, use_cache=False).logits
    config = model.config

    def moved(edit) -> float:
        variant = copy.deepcopy(model)
        with torch.no_grad():
            edit(variant)
            return float((variant(input_ids, use_cache=False).logits - logits).abs().max())

    def each_mixer(action):
        def edit(variant):
            for layer in variant.backbone.layers:
                action(layer.mixer)
        return edit

    def zero_c(mixer):
        mixer.x_proj.weight[mixer.time_step_rank + mixer.ssm_state_size :].zero_()

    def unit_norms(variant):
        for layer in variant.backbone.layers:
            layer.norm.weight.fill_(1.0)
        variant.backbone.norm_f.weight.fill_(1.0)

    def default_epsilon(variant):
        for layer in variant.backbone.layers:
            layer.norm.variance_epsilon = 1e-5
        variant.backbone.norm_f.variance_epsilon = 1e-5

    result = {
        "zero_C_state_path": moved(each_mixer(zero_c)),
        "zero_D": moved(each_mixer(lambda mixer: mixer.D.zero_())),
        "zero_dt_proj_bias": moved(each_mixer(lambda mixer: mixer.dt_proj.bias.zero_())),
        "unit_norm_weights": moved(unit_norms),
    }
    if config.use_conv_bias:
        result["zero_conv1d_bias"] = moved(each_mixer(lambda mixer: mixer.conv1d.bias.zero_()))
    if config.use_bias:
        result["zero_in_proj_bias"] = moved(each_mixer(lambda mixer: mixer.in_proj.bias.zero_()))
        result["zero_out_proj_bias"] = moved(each_mixer(lambda mixer: mixer.out_proj.bias.zero_()))
    if config.layer_norm_epsilon != 1e-5:
        result["layer_norm_epsilon_1e-5"] = moved(default_epsilon)
    return result


def as_float32(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.detach().to(torch.float32).clone().contiguous()


def atomic_write_text(path: Path, text: str) -> None:
    """Writes to a temporary file in the same folder, then renames over `path`."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "w") as stream:
        stream.write(text)
    os.chmod(temporary, 0o644)  # mkstemp creates 0600
    os.replace(temporary, path)


def atomic_save_safetensors(tensors: dict[str, torch.Tensor], path: Path, metadata: dict | None = None) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    save_file({k: v.contiguous() for k, v in tensors.items()}, temporary, metadata=metadata)
    os.chmod(temporary, 0o644)  # mkstemp creates 0600
    os.replace(temporary, path)


def json_text(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def resolved_settings(model: MambaForCausalLM) -> dict:
    """The config values after transformers resolved "auto" and defaults."""
    config = model.config
    return {
        "intermediate_size": config.intermediate_size,
        "time_step_rank": int(config.time_step_rank),
        "expand": config.expand,
    }
