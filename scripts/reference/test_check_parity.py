#!/usr/bin/env python3
"""Tests check_parity.py against fake_mambakit.py: it must pass the faithful fake and catch each injected fault.

    /opt/refvenv/bin/python scripts/reference/test_check_parity.py        # several minutes (each run starts torch)

Exit status 0 when every expectation holds.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FAKE = f"{shlex.quote(sys.executable)} {shlex.quote(str(HERE / 'fake_mambakit.py'))}"

# (fault, seed, --grads, expected exit status, what it shows)
EXPECTATIONS = [
    ("", 7, True, 0, "a faithful tool passes, gradients included"),
    ("", 12, False, 0, "another shape passes"),
    ("logits=5e-5", 3, False, 0, "an error inside the tolerance passes"),
    ("logits=2e-4", 3, False, 1, "logits just outside the tolerance fail"),
    ("last_hidden_state=2e-4", 3, False, 1, "last_hidden_state is compared"),
    ("recurrent=2e-4", 3, False, 1, "the --recurrent run is compared separately"),
    ("nan", 3, False, 1, "NaN fails"),
    ("grad=2e-4", 5, True, 1, "one gradient off by 2e-4 relative fails"),
    ("loss=2e-5", 5, True, 1, "a loss off by 2e-5 relative fails"),
    ("missing-grad", 5, True, 2, "a missing gradient is an error"),
    ("shape", 3, False, 2, "a wrong shape is an error"),
    ("exit", 3, False, 2, "a failing tool is an error"),
]


def main() -> int:
    failures = 0
    for fault, seed, grads, expected, meaning in EXPECTATIONS:
        environment = dict(os.environ, FAKE_MAMBAKIT_FAULT=fault)
        command = [sys.executable, str(HERE / "check_parity.py"), "--mambakit", FAKE, "--seed", str(seed)]
        if grads:
            command.append("--grads")
        finished = subprocess.run(command, capture_output=True, text=True, env=environment)
        ok = finished.returncode == expected
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} fault {fault or 'none':<24} seed {seed:<3} grads {grads!s:<5} "
              f"exit {finished.returncode} (expected {expected}): {meaning}", flush=True)
        if not ok:
            print(finished.stdout[-3000:], finished.stderr[-3000:], sep="\n")
    print(f"{len(EXPECTATIONS) - failures}/{len(EXPECTATIONS)} expectations hold")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
