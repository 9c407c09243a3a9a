"""Pure, deterministic record generation and transforms.

Nothing here reads the clock, the environment or a random generator: every value is derived
from the inputs with SHA-256, so a rerun of the same interval yields the same bytes on any
machine and any Python version.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from itertools import pairwise
from typing import Any

from airkube_pipeline.errors import DataQualityError

Record = dict[str, Any]

MIN_RECORDS = 50
MAX_RECORDS = 150
CURRENCIES = ("USD", "EUR", "GBP")
COUNTRIES = ("US", "CA", "BR", "MX", "GB", "DE", "FR", "ES", "NL", "JP", "IN", "AU", "SG")
UNKNOWN_COUNTRIES = ("ZZ", "XK", "QQ")  # well-formed codes absent from the region table
REGIONS = {
    "US": "AMER",
    "CA": "AMER",
    "BR": "LATAM",
    "MX": "LATAM",
    "GB": "EMEA",
    "DE": "EMEA",
    "FR": "EMEA",
    "ES": "EMEA",
    "NL": "EMEA",
    "JP": "APAC",
    "IN": "APAC",
    "AU": "APAC",
    "SG": "APAC",
}
UNKNOWN_REGION = "UNKNOWN"
# Fixed rates, not live ones: a rerun must convert exactly as the first run did.
FX_TO_USD = {"USD": Decimal("1"), "EUR": Decimal("1.08"), "GBP": Decimal("1.27")}
CENT = Decimal("0.01")

SOURCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
COUNTRY_RE = re.compile(r"^[A-Za-z]{2}$")
REQUIRED_FIELDS = ("id", "source", "event_date", "customer_email", "country", "amount", "currency")


def _digest(*parts: str) -> bytes:
    """A stable 32-byte value for the given parts (unit separator avoids ambiguous joins)."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()


def _pick(digest: bytes, offset: int, modulo: int) -> int:
    """A number in ``range(modulo)`` taken from four bytes of a digest."""
    return int.from_bytes(digest[offset : offset + 4], "big") % modulo


def record_count(source: str, day: date) -> int:
    """How many records ``extract`` yields for a source and day, between 50 and 150."""
    span = MAX_RECORDS - MIN_RECORDS + 1
    return MIN_RECORDS + _pick(_digest("count", source, day.isoformat()), 0, span)


def _email(h: bytes) -> str | None:
    """Mostly valid addresses; some messy (case, spaces) but fixable, some missing or malformed."""
    user = f"customer{_pick(h, 12, 100000):05d}"
    roll = h[1] % 100
    if roll < 4:
        return None
    if roll < 7:
        return (f"{user}.example.com", f"{user}@", f"{user}@example")[h[11] % 3]
    if roll < 15:
        return f"  {user.capitalize()}@Example.COM "
    return f"{user}@example.com"


def _country(h: bytes) -> str:
    """Mostly clean codes; some lower-case, padded, or unknown to the region table."""
    code = COUNTRIES[h[3] % len(COUNTRIES)]
    roll = h[2] % 100
    if roll < 5:
        return code.lower()
    if roll < 10:
        return f" {code}  "
    if roll < 13:
        return UNKNOWN_COUNTRIES[h[3] % len(UNKNOWN_COUNTRIES)]
    return code


def _amount(h: bytes) -> str:
    """A decimal string with 1-3 fraction digits; a few negative or non-numeric."""
    thousandths = 100 + _pick(h, 5, 500_000)
    digits = 1 + h[9] % 3
    text = f"{thousandths // 1000}.{thousandths % 1000:03d}"[: -(3 - digits) or None]
    roll = h[4] % 100
    if roll < 3:
        return f"-{text}"
    if roll < 5:
        return ("n/a", "12,50", "", "1e", "ten")[h[10] % 5]
    return text


def generate(source: str, day: date) -> list[Record]:
    """The records of one source for one day, in id order.

    One record per (source, day) is always made invalid (negative amount), so a data-quality gate
    with ``--max-invalid-ratio 0`` fails for every source and date, which the platform's tests
    rely on to make a task fail on purpose.
    """
    if not SOURCE_RE.match(source):
        raise ValueError(f"source name must match {SOURCE_RE.pattern}: {source!r}")
    stamp = day.strftime("%Y%m%d")
    count = record_count(source, day)
    forced_invalid = _pick(_digest("forced-invalid", source, day.isoformat()), 0, count)
    records: list[Record] = []
    for index in range(count):
        h = _digest("record", source, day.isoformat(), str(index))
        record: Record = {
            "id": f"{source}-{stamp}-{index:05d}",
            "source": source,
            "event_date": day.isoformat(),
            "customer_email": _email(h),
            "country": _country(h),
            "amount": _amount(h),
            "currency": CURRENCIES[h[16] % len(CURRENCIES)],
        }
        if index == forced_invalid and not problems(record):
            record["amount"] = f"-{record['amount']}"
        records.append(record)
    return records


def _decimal(value: Any) -> Decimal | None:
    """A finite Decimal from a string, or None when the value is not a plain number."""
    if not isinstance(value, str):
        return None
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def problems(record: Record) -> list[str]:
    """Why a raw record fails the schema; empty when it is valid.

    Formatting that ``clean`` can fix (case, surrounding spaces) is not a problem here.
    """
    found = [f"missing {name}" for name in REQUIRED_FIELDS if record.get(name) in (None, "")]
    email = record.get("customer_email")
    if email not in (None, "") and not (isinstance(email, str) and EMAIL_RE.match(email.strip())):
        found.append(f"malformed customer_email {email!r}")
    country = record.get("country")
    if country not in (None, "") and not (isinstance(country, str) and COUNTRY_RE.match(country.strip())):
        found.append(f"malformed country {country!r}")
    amount = record.get("amount")
    if amount not in (None, ""):
        number = _decimal(amount)
        if number is None:
            found.append(f"non-numeric amount {amount!r}")
        elif number < 0:
            found.append(f"negative amount {amount!r}")
    currency = record.get("currency")
    if currency not in (None, "") and currency not in FX_TO_USD:
        found.append(f"unknown currency {currency!r}")
    event_date = record.get("event_date")
    if event_date not in (None, ""):
        try:
            date.fromisoformat(str(event_date))
        except ValueError:
            found.append(f"malformed event_date {event_date!r}")
    return found


def split_valid(records: Iterable[Record]) -> tuple[list[Record], list[tuple[Record, list[str]]]]:
    """Partition records into valid ones and (invalid record, reasons), keeping input order."""
    valid: list[Record] = []
    invalid: list[tuple[Record, list[str]]] = []
    for record in records:
        reasons = problems(record)
        if reasons:
            invalid.append((record, reasons))
        else:
            valid.append(record)
    return valid, invalid


def _money(value: Any, record: Record, name: str) -> Decimal:
    """Parse an amount that validation has already accepted; fail loudly if it was not validated."""
    number = _decimal(value)
    if number is None:
        raise DataQualityError(f"record {record.get('id')!r}: {name} is not a number: {value!r}")
    return number


def clean(record: Record) -> Record:
    """Normalise a valid record: country upper-case, email lower-case, amount to two decimals."""
    cleaned = dict(record)
    cleaned["country"] = str(record["country"]).strip().upper()
    cleaned["customer_email"] = str(record["customer_email"]).strip().lower()
    cleaned["currency"] = str(record["currency"]).strip().upper()
    amount = _money(record["amount"], record, "amount").quantize(CENT, rounding=ROUND_HALF_UP)
    cleaned["amount"] = str(amount)
    return cleaned


def enrich(record: Record) -> Record:
    """Add region and amount_usd; Decimal math with fixed rates so totals never drift."""
    currency = record.get("currency")
    if currency not in FX_TO_USD:
        raise DataQualityError(f"record {record.get('id')!r}: no fx rate for currency {currency!r}")
    amount = _money(record.get("amount"), record, "amount")
    enriched = dict(record)
    enriched["region"] = REGIONS.get(str(record.get("country")), UNKNOWN_REGION)
    enriched["amount_usd"] = str((amount * FX_TO_USD[currency]).quantize(CENT, rounding=ROUND_HALF_UP))
    return enriched


def publish(records: Iterable[Record]) -> list[Record]:
    """The final dataset sorted by id; duplicate ids mean an upstream bug, so they fail the step."""
    ordered = sorted(records, key=lambda record: str(record.get("id")))
    for before, after in pairwise(ordered):
        if before.get("id") == after.get("id"):
            raise DataQualityError(f"duplicate record id {after.get('id')!r}")
    return ordered


def summarize(records: Iterable[Record]) -> list[Record]:
    """One row per source and one per region: record count and amount_usd total."""
    totals: dict[tuple[str, str], tuple[int, Decimal]] = {}
    for record in records:
        amount_usd = _money(record.get("amount_usd"), record, "amount_usd")
        for group_by in ("source", "region"):
            key = record.get(group_by)
            if not isinstance(key, str) or not key:
                raise DataQualityError(f"record {record.get('id')!r}: missing {group_by} (is it enriched?)")
            count, total = totals.get((group_by, key), (0, Decimal(0)))
            totals[(group_by, key)] = (count + 1, total + amount_usd)
    return [
        {"group_by": group_by, "key": key, "records": count, "amount_usd": str(total.quantize(CENT))}
        for (group_by, key), (count, total) in sorted(totals.items())
    ]
