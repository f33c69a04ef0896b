"""Run every benchmark under bench/ (``make bench``), each in its own process.

Each ``bench_*.py`` prints its own figures and the ratio against a baseline run in the same
process. ``FANGKONG_BENCH_ONLY=name1,name2`` runs a subset (names without ``bench_`` and ``.py``).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def selected() -> list[Path]:
    scripts = sorted(HERE.glob("bench_*.py"))
    only = {name.strip() for name in os.environ.get("FANGKONG_BENCH_ONLY", "").split(",") if name}
    return [s for s in scripts if not only or s.stem.removeprefix("bench_") in only]


def main() -> int:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    failures = 0
    for script in selected():
        print(f"\n=== {script.stem} ===", flush=True)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(script)], check=False)
        print(f"--- {script.stem}: exit {result.returncode}, {time.perf_counter() - started:.1f} s")
        failures += result.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
