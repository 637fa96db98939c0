"""Flags, timing and reporting shared by the Python peer benchmarks (torch_forward.py, mambapy_train.py).

The flags mirror `mambakit bench forward|train` so that scripts/bench/compare.sh passes one set to both.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import time


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--batch", type=int, default=2, help="sequences per pass (b)")
    p.add_argument("--length", type=int, default=1024, help="tokens per sequence (l)")
    p.add_argument("--d-model", type=int, default=256, help="hidden size (d)")
    p.add_argument("--layers", type=int, default=4, help="Mamba blocks")
    p.add_argument("--d-state", type=int, default=16, help="state size per channel (n)")
    p.add_argument("--expand", type=int, default=2, help="d_inner = expand * d_model")
    p.add_argument("--vocab", type=int, default=256, help="vocabulary size (default 256, as mambakit bench)")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--warmup", type=int, default=2, help="untimed passes first")
    p.add_argument("--repeats", type=int, default=5, help="timed passes; the median is reported")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    return p


def time_passes(step, warmup: int, repeats: int) -> list[float]:
    """Seconds of each timed call of step() after `warmup` untimed ones."""
    for _ in range(warmup):
        step()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    return seconds


def report(name: str, arguments: argparse.Namespace, seconds: list[float], extra: dict) -> None:
    """tokens_per_second = batch * length / median seconds per pass; peak RSS of this process (whole run)."""
    import torch

    median = statistics.median(seconds)
    tokens = arguments.batch * arguments.length
    result = {
        "benchmark": name,
        "tokens_per_second": tokens / median,
        "median_seconds": median,
        "seconds": seconds,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,  # Linux reports KiB
        "shape": {
            "batch": arguments.batch, "length": arguments.length, "d_model": arguments.d_model,
            "layers": arguments.layers, "d_state": arguments.d_state, "expand": arguments.expand,
            "vocab": arguments.vocab,
        },
        "threads": arguments.threads,
        "python": platform.python_version(),
        "torch": torch.__version__,
        **extra,
    }
    if arguments.json:
        print(json.dumps(result))
    else:
        print(f"{name}: {result['tokens_per_second']:.1f} tokens/s (median of {len(seconds)}: {median:.4f} s "
              f"per pass of {tokens} tokens), peak RSS {result['peak_rss_bytes'] / 2**20:.1f} MiB")
    sys.stdout.flush()
