"""`python -m rules test [PATH ...]`: the same runner as `seonbyeol rules test`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rules.testing import DEFAULT_POLICIES_DIR, run_rule_tests


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the rule tests; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m rules", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    test = commands.add_parser("test", help="validate rule sets and run their examples")
    test.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help=f"YAML files or directories (default: {DEFAULT_POLICIES_DIR})",
    )
    args = parser.parse_args(argv)
    paths: list[Path] = args.paths or [DEFAULT_POLICIES_DIR]
    return run_rule_tests(paths, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
