"""Runs every benchmark script in bench/ in turn (`python -m bench.NAME --backend ...`), each in its own process.

Run from the repository: `python -m bench.run_all [--backend sqlite|postgresql|both]`; exit status 1 when a
script failed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.common import ROOT, backend_parser

NOT_BENCHMARKS = {"__init__", "common", "run_all"}


def benchmark_names(directory: Path) -> list[str]:
    """The benchmark modules that exist now, in name order."""
    return sorted(path.stem for path in directory.glob("*.py") if path.stem not in NOT_BENCHMARKS)


def run(name: str, backend: str) -> int:
    print(f"\n=== python -m bench.{name} --backend {backend}", flush=True)
    return subprocess.run(
        [sys.executable, "-m", f"bench.{name}", "--backend", backend], cwd=ROOT, check=False
    ).returncode


def main() -> int:
    arguments = backend_parser(__doc__.splitlines()[0] if __doc__ else "").parse_args()
    failed = [name for name in benchmark_names(ROOT / "bench") if run(name, arguments.backend) != 0]
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
