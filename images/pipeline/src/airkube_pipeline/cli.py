"""``airkube-pipeline <step>``: argument parsing and dispatch.

The command line and ``AIRKUBE_*`` environment variables are the whole contract with the DAG;
flags override the environment so a step can be run by hand.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from datetime import date

from airkube_pipeline import __version__
from airkube_pipeline.contract import Contract
from airkube_pipeline.errors import PipelineError
from airkube_pipeline.steps import ADMIN_COMMANDS, STEPS, Options

STEP_HELP = {
    "discover": "the sources registered for the interval start date: one record each, names as result",
    "extract": "generate a source's records for the interval start date (no inputs)",
    "validate": "keep schema-valid records; fail (exit 1, no output) when too many are invalid",
    "clean": "normalise country, email and amount",
    "enrich": "add region and amount_usd",
    "publish": "the final per-source dataset, sorted by id",
    "summarize": "counts and amount_usd totals per source and per region over many inputs",
    "register": "admin, not a DAG step: add, retire (--last-date) or --remove a source in the registry",
}


def _ratio(value: str) -> float:
    """argparse type for a ratio between 0 and 1."""
    try:
        ratio = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0.0 <= ratio <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1: {value!r}")
    return ratio


def _day(value: str) -> date:
    """argparse type for a YYYY-MM-DD date."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):  # not the other forms fromisoformat takes
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {value!r}")


def build_parser() -> argparse.ArgumentParser:
    """The parser; contract flags are accepted after every step name."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("contract overrides (default: AIRKUBE_* environment variables)")
    group.add_argument("--output", metavar="URL", help="output partition URL (AIRKUBE_OUTPUT_URL)")
    group.add_argument(
        "--input",
        metavar="URL",
        action="append",
        dest="inputs",
        help="input partition URL, repeatable (AIRKUBE_INPUT_URLS, newline-separated)",
    )
    group.add_argument(
        "--interval-start", metavar="ISO", help="data interval start (AIRKUBE_DATA_INTERVAL_START)"
    )
    group.add_argument(
        "--map-length",
        metavar="N",
        help="a mapped instance: how many instances this run has (AIRKUBE_MAP_LENGTH)",
    )
    group.add_argument(
        "--result", metavar="URL", help="where a step with a result writes it (AIRKUBE_RESULT_URL)"
    )
    data_url = argparse.ArgumentParser(add_help=False)
    data_url.add_argument(
        "--data-url", metavar="URL", help="data root holding the source registry (AIRKUBE_DATA_URL)"
    )

    parser = argparse.ArgumentParser(
        prog="airkube-pipeline", description="Run one airkube pipeline step against storage partitions."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    steps = parser.add_subparsers(dest="step", required=True, metavar="STEP")
    for name in STEPS:
        parents = [common, data_url] if name == "discover" else [common]
        sub = steps.add_parser(name, parents=parents, help=STEP_HELP[name], description=STEP_HELP[name])
        if name == "extract":
            sub.add_argument("--source", required=True, help="source name, e.g. orders")
        if name == "validate":
            sub.add_argument(
                "--max-invalid-ratio",
                type=_ratio,
                default=0.5,
                help="fail when the share of invalid records exceeds this (default 0.5)",
            )
    register = steps.add_parser(
        "register", parents=[data_url], help=STEP_HELP["register"], description=STEP_HELP["register"]
    )
    register.add_argument("--source", required=True, help="source name, e.g. orders")
    action = register.add_mutually_exclusive_group(required=True)
    action.add_argument("--first-date", type=_day, metavar="YYYY-MM-DD", help="first date it delivers")
    action.add_argument("--remove", action="store_true", help="delete the source's entry")
    register.add_argument(
        "--last-date", type=_day, metavar="YYYY-MM-DD", help="last date it delivers (default: open-ended)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (2 usage or missing input, 1 data failure, 3 storage, 0 success)."""
    args = build_parser().parse_args(argv)
    contract = Contract.resolve(
        output=getattr(args, "output", None),
        inputs=getattr(args, "inputs", None),
        interval_start=getattr(args, "interval_start", None),
        map_length=getattr(args, "map_length", None),
        result=getattr(args, "result", None),
        data_url=getattr(args, "data_url", None),
    )
    options = Options(
        source=getattr(args, "source", None),
        max_invalid_ratio=getattr(args, "max_invalid_ratio", 0.5),
        first_date=getattr(args, "first_date", None),
        last_date=getattr(args, "last_date", None),
        remove=getattr(args, "remove", False),
    )
    try:
        {**STEPS, **ADMIN_COMMANDS}[args.step](contract, options)
    except PipelineError as exc:
        print(f"airkube-pipeline {args.step}: error: {exc}", file=sys.stderr, flush=True)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
