"""Run every benchmark in turn: ``python -m bench`` (what ``make bench`` does), or name some:
``python -m bench optim widgets``. Each prints its own table with ratios against a baseline of the same run."""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import time

import bench

ALL = sorted(m.name.removeprefix("bench_") for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))


def main(argv: list[str]) -> int:
    names = argv or ALL
    unknown = [n for n in names if n not in ALL]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {ALL}", file=sys.stderr)
        return 2
    for name in names:
        print(f"\n=== bench_{name} ===", flush=True)
        t = time.perf_counter()
        entry = importlib.import_module(f"bench.bench_{name}").main
        # Benchmarks with options parse argv themselves: give them none (their defaults), not ours.
        entry([]) if inspect.signature(entry).parameters else entry()
        print(f"(bench_{name}: {time.perf_counter() - t:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
