"""Run every benchmark module in this folder (or the ones named on the command line)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def available() -> list[str]:
    """Names of the benchmark modules, ``bench_<name>.py`` → ``<name>``."""
    return sorted(path.stem.removeprefix("bench_") for path in Path(__file__).parent.glob("bench_*.py"))


def main(argv: list[str]) -> int:
    names = argv or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}",
            file=sys.stderr,
        )
        return 2
    status = 0
    for name in names:
        print(f"== bench {name}")
        status |= importlib.import_module(f"bench.bench_{name}").main([])
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
