"""Command line: ``python -m analysis sample | validate | run | template``."""

from __future__ import annotations

import sys

USAGE = """usage: python -m analysis COMMAND [options]

commands:
  sample     generate the sample data set with known truth (data/sample)
  validate   validate a dataset folder against the data contract
  run        execute every notebook on a dataset and write an HTML report set
  template   write empty CSV and Excel templates of every table and a mapping.yaml skeleton
"""


def _notebooks_folder(run_args: list[str]) -> str:
    """The ``--notebooks`` folder of ``run``'s arguments (parsed in full by :func:`analysis.pipeline.cli`)."""
    import argparse

    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--notebooks", default="notebooks")
    return parser.parse_known_args(run_args)[0].notebooks


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the command's own ``cli``."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "sample":
        from analysis.sample import cli
    elif command == "validate":
        from analysis.data import cli
    elif command == "run":
        from analysis.kernel_forker import KernelForker

        # the notebooks' kernel forker imports what they import while this process imports the pipeline
        KernelForker.start_early(_notebooks_folder(rest))
        from analysis.pipeline import cli
    elif command == "template":
        from analysis.template import cli
    else:
        print(f"unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
        return 2
    if command != "validate":
        return cli(rest)
    try:
        return cli(rest)
    except Exception as exc:  # noqa: BLE001 - input the reader did not foresee: a message and exit 1, never a traceback
        print(f"INVALID: the data could not be read ({type(exc).__name__}: {exc}); the kit should have named the problem — please report it with the file", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
