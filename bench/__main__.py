"""`python -m bench [NAME ...|all]`: run one, several or every benchmark (see bench/harness.py)."""

from __future__ import annotations

import argparse
import sys

from .harness import REGISTRY, load_benchmarks, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        load_benchmarks()
        for entry in sorted(REGISTRY.values(), key=lambda r: r.name):
            print(f"{entry.name:20} goal {entry.goal:g}  {entry.about}")
        return 0
    names = [] if args.names in ([], ["all"]) else args.names
    return run(names)


if __name__ == "__main__":
    sys.exit(main())
