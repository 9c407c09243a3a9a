"""The steps: each reads its inputs (or the source registry), transforms them with ``records``,
writes one ``data.jsonl``, and, if it has one, a result. Plus ``register``, the registry's admin command.

Every step logs plain lines to stdout (what it read, how many records, where it wrote) because
those lines are what an operator sees in the Airflow task log. Contract values are checked
before any data is read, so a misconfigured task fails fast with exit code 2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from airkube_pipeline import records as rec
from airkube_pipeline import sources as registry
from airkube_pipeline.contract import ENV_RESULT_URL, Contract
from airkube_pipeline.errors import DataQualityError, UsageError
from airkube_pipeline.records import Record
from airkube_pipeline.storage import read_partition, write_partition, write_result

MAX_REASONS_LOGGED = 10


def log(step: str, message: str) -> None:
    """One plain line on stdout, flushed so it reaches the task log even if the pod is killed."""
    print(f"{step}: {message}", flush=True)


@dataclass(frozen=True)
class Options:
    """Step-specific flags; only the ones the chosen step uses are set."""

    source: str | None = None
    max_invalid_ratio: float = 0.5
    first_date: date | None = None
    last_date: date | None = None
    remove: bool = False


def _read_all(step: str, urls: list[str]) -> list[Record]:
    """Concatenate the inputs in the declared order, logging each partition read."""
    records: list[Record] = []
    for url in urls:
        result = read_partition(url)
        log(step, f"read {len(result.records)} records from {len(result.objects)} object(s) under {url}")
        records.extend(result.records)
    return records


def _write(step: str, contract: Contract, records: list[Record]) -> None:
    """Write the output partition and say where, how much, and what was cleaned up (for a mapped
    instance, also the instances an earlier run had beyond this run's)."""
    result = write_partition(contract.require_output(), records, map_length=contract.map_length())
    for stale in result.removed:
        log(step, f"removed stale object {stale}")
    log(step, f"wrote {len(records)} records ({result.size} bytes) to {result.url}")


def _result(step: str, contract: Contract, value: Any) -> None:
    """Write the step's result when the platform asked for one; a hand run without
    AIRKUBE_RESULT_URL just has no result."""
    if contract.result_url is None:
        log(step, f"{ENV_RESULT_URL} not set: no result written")
        return
    size = write_result(contract.result_url, value)
    log(step, f"wrote the result ({size} bytes) to {contract.result_url}")


def _map_step(step: str, contract: Contract, transform: Callable[[Record], Record]) -> None:
    """Read, apply a per-record transform, write: the shape of clean and enrich."""
    contract.require_output()  # fails fast, before any data is read
    records = [transform(record) for record in _read_all(step, contract.require_inputs())]
    _write(step, contract, records)


def extract(contract: Contract, options: Options) -> None:
    """Generate the source's records for the interval's start date; declared inputs are ignored."""
    contract.require_output()  # fails fast, before any data is read
    start = contract.require_interval_start()
    source = options.source or ""
    log("extract", contract.describe())
    if contract.input_urls:
        log("extract", f"ignoring {len(contract.input_urls)} declared input(s): extract reads no inputs")
    try:
        records = rec.generate(source, start.date())
    except ValueError as exc:
        raise DataQualityError(str(exc)) from None
    log("extract", f"generated {len(records)} records for source={source} date={start.date().isoformat()}")
    _write("extract", contract, records)


def _reasons(invalid: Iterable[tuple[Record, list[str]]]) -> list[str]:
    return [f"{record.get('id', '<no id>')}: {'; '.join(reasons)}" for record, reasons in invalid]


def validate(contract: Contract, options: Options) -> None:
    """Keep schema-valid records; fail without writing when too many are invalid.

    Failing leaves any previous output untouched: a data-quality gate must not replace a good
    partition with a partial one.
    """
    output = contract.require_output()
    records = _read_all("validate", contract.require_inputs())
    valid, invalid = rec.split_valid(records)
    ratio = len(invalid) / len(records) if records else 0.0
    log(
        "validate",
        f"{len(valid)} valid, {len(invalid)} invalid of {len(records)} records "
        f"(invalid ratio {ratio:.4f}, max {options.max_invalid_ratio:g})",
    )
    reasons = _reasons(invalid)
    for line in reasons[:MAX_REASONS_LOGGED]:
        log("validate", f"invalid {line}")
    if len(reasons) > MAX_REASONS_LOGGED:
        log("validate", f"... and {len(reasons) - MAX_REASONS_LOGGED} more invalid records")
    if ratio > options.max_invalid_ratio:
        raise DataQualityError(
            f"invalid ratio {ratio:.4f} ({len(invalid)}/{len(records)}) exceeds --max-invalid-ratio "
            f"{options.max_invalid_ratio:g}; nothing written to {output}"
        )
    _write("validate", contract, valid)


def clean(contract: Contract, options: Options) -> None:
    """Normalise country, email, currency and amount of validated records."""
    _map_step("clean", contract, rec.clean)


def enrich(contract: Contract, options: Options) -> None:
    """Add region and amount_usd to cleaned records."""
    _map_step("enrich", contract, rec.enrich)


def publish(contract: Contract, options: Options) -> None:
    """The final per-source dataset, sorted by id."""
    contract.require_output()  # fails fast, before any data is read
    records = rec.publish(_read_all("publish", contract.require_inputs()))
    sources = sorted({str(record.get("source")) for record in records})
    log("publish", f"publishing {len(records)} records of source(s) {', '.join(sources) or '-'}")
    _write("publish", contract, records)


def summarize(contract: Contract, options: Options) -> None:
    """Fan-in over many published datasets: counts and amount_usd totals per source and region."""
    contract.require_output()  # fails fast, before any data is read
    urls = contract.require_inputs()
    log("summarize", f"summarizing {len(urls)} input partition(s)")
    rows = rec.summarize(_read_all("summarize", urls))
    groups = [row["group_by"] for row in rows]
    log("summarize", f"{groups.count('source')} source row(s), {groups.count('region')} region row(s)")
    _write("summarize", contract, rows)


def discover(contract: Contract, options: Options) -> None:
    """The sources registered for the interval start's date: one record per source in the output
    partition, and their names as the result (what a DAG maps its per-source tasks over).

    Derived from the registry alone, so a rerun of an interval writes the same bytes until the
    registry changes, and then replaces the partition with the sources registered now.
    """
    contract.require_output()  # fails fast, before the registry is read
    day = contract.require_interval_start().date()
    data_url = contract.require_data_url()
    log("discover", contract.describe())
    entries = registry.sources_for(data_url, day)
    for entry in entries:
        last = entry["last_date"] or "open-ended"
        log("discover", f"source {entry['name']}: registered {entry['first_date']} to {last}")
    if not entries:
        log("discover", f"no sources registered for {day.isoformat()} in {registry.registry_url(data_url)}")
    log("discover", f"found {len(entries)} source(s) for {day.isoformat()}")
    records = [
        {"source": entry["name"], "first_date": entry["first_date"], "last_date": entry["last_date"]}
        for entry in entries
    ]
    _write("discover", contract, records)
    _result("discover", contract, [entry["name"] for entry in entries])


def register(contract: Contract, options: Options) -> None:
    """Admin command, not a DAG step: add, change (e.g. retire with a last date) or remove a source's
    registry entry, which decides what ``discover`` finds from then on."""
    data_url = contract.require_data_url()
    name = options.source or ""
    if options.remove:
        if options.first_date is not None or options.last_date is not None:
            raise UsageError("--remove takes no --first-date or --last-date")
        removed = registry.remove_source(data_url, name)
        where = registry.registry_url(data_url)
        log(
            "register",
            f"removed source {name} from {where}" if removed else f"source {name} was not in {where}",
        )
        return
    if options.first_date is None:
        raise UsageError("--first-date YYYY-MM-DD is required (or --remove)")
    url = registry.register_source(data_url, name, options.first_date, options.last_date)
    last = options.last_date.isoformat() if options.last_date else "open-ended"
    log("register", f"registered source {name}: {options.first_date.isoformat()} to {last} ({url})")


STEPS: dict[str, Callable[[Contract, Options], None]] = {
    "discover": discover,
    "extract": extract,
    "validate": validate,
    "clean": clean,
    "enrich": enrich,
    "publish": publish,
    "summarize": summarize,
}

ADMIN_COMMANDS: dict[str, Callable[[Contract, Options], None]] = {"register": register}
"""Commands an operator runs by hand; no DAG task runs them (they take no output partition)."""
