"""Unit tests of the pure record logic: determinism, defects, transforms, aggregates."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest

from airkube_pipeline import records as rec
from airkube_pipeline.errors import DataQualityError
from airkube_pipeline.storage import serialize

DAY = date(2026, 11, 22)
SAMPLE = [
    (source, DAY + timedelta(days=k))
    for source in ("orders", "payments", "refunds", "s-7")
    for k in range(15)
]


def test_generate_is_pinned_across_python_versions() -> None:
    """Reruns of old intervals must reproduce old bytes; changing generation breaks that contract."""
    data = serialize(rec.generate("orders", DAY))
    assert rec.record_count("orders", DAY) == 142
    assert (
        hashlib.sha256(data).hexdigest() == "a37d140583151a71b748e8c0bc731411a33052fc7dc6a4ff88124c6c3191c303"
    )


def test_generate_is_deterministic_and_depends_on_source_and_day() -> None:
    assert rec.generate("orders", DAY) == rec.generate("orders", DAY)
    assert rec.generate("orders", DAY) != rec.generate("payments", DAY)
    assert rec.generate("orders", DAY) != rec.generate("orders", DAY + timedelta(days=1))


@pytest.mark.parametrize(("source", "day"), SAMPLE[::7])
def test_generated_records_have_the_contract_shape(source: str, day: date) -> None:
    records = rec.generate(source, day)
    assert rec.MIN_RECORDS <= len(records) <= rec.MAX_RECORDS
    stamp = day.strftime("%Y%m%d")
    assert [r["id"] for r in records] == [f"{source}-{stamp}-{i:05d}" for i in range(len(records))]
    for record in records:
        assert set(record) == set(rec.REQUIRED_FIELDS)
        assert record["source"] == source
        assert record["event_date"] == day.isoformat()
        assert record["currency"] in rec.CURRENCIES


def test_every_source_and_day_has_some_but_not_too_many_invalid_records() -> None:
    """The platform's failure test relies on >=1 invalid record; the default gate on < 50%."""
    for source, day in SAMPLE:
        records = rec.generate(source, day)
        valid, invalid = rec.split_valid(records)
        assert invalid, f"{source} {day}: no invalid record"
        assert len(invalid) / len(records) < 0.5, f"{source} {day}: too many invalid records"
        assert len(valid) + len(invalid) == len(records)


def test_defects_of_every_kind_occur() -> None:
    kinds: Counter[str] = Counter()
    for source, day in SAMPLE:
        for record in rec.generate(source, day):
            email, country, amount = record["customer_email"], record["country"], record["amount"]
            kinds["missing email"] += email is None
            kinds["malformed email"] += email is not None and not rec.EMAIL_RE.match(email.strip())
            kinds["messy email"] += email is not None and email != email.strip().lower()
            kinds["lower country"] += country.strip() != country.strip().upper()
            kinds["padded country"] += country != country.strip()
            kinds["unknown country"] += country in rec.UNKNOWN_COUNTRIES
            kinds["negative amount"] += amount.startswith("-")
            kinds["non-numeric amount"] += not re.fullmatch(r"-?\d+\.\d{1,3}", amount)
    missing = [kind for kind in kinds if kinds[kind] == 0]
    assert not missing, f"no records with: {missing}"
    assert len(kinds) == 8


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, []),
        ({"customer_email": None}, ["missing customer_email"]),
        ({"customer_email": "a.example.com"}, ["malformed customer_email 'a.example.com'"]),
        ({"customer_email": " A@B.COM "}, []),
        ({"country": " de "}, []),
        ({"country": "Germany"}, ["malformed country 'Germany'"]),
        ({"amount": "-1.00"}, ["negative amount '-1.00'"]),
        ({"amount": "n/a"}, ["non-numeric amount 'n/a'"]),
        ({"amount": "NaN"}, ["non-numeric amount 'NaN'"]),
        ({"amount": 12}, ["non-numeric amount 12"]),
        ({"currency": "JPY"}, ["unknown currency 'JPY'"]),
        ({"event_date": "22/11/2026"}, ["malformed event_date '22/11/2026'"]),
        ({"id": ""}, ["missing id"]),
    ],
)
def test_problems(change: dict[str, object], expected: list[str]) -> None:
    record = {
        "id": "orders-20261122-00001",
        "source": "orders",
        "event_date": "2026-11-22",
        "customer_email": "a@b.com",
        "country": "DE",
        "amount": "1.5",
        "currency": "EUR",
    }
    assert rec.problems({**record, **change}) == expected


def test_clean_normalises_fixable_formatting() -> None:
    raw = {"id": "x", "customer_email": "  Customer1@Example.COM ", "country": " de ", "amount": "10.005"}
    cleaned = rec.clean({**raw, "currency": "eur"})
    assert cleaned["customer_email"] == "customer1@example.com"
    assert cleaned["country"] == "DE"
    assert cleaned["currency"] == "EUR"
    assert cleaned["amount"] == "10.01"  # half-up, as money is usually rounded
    assert rec.clean({**raw, "currency": "EUR", "amount": "7"})["amount"] == "7.00"
    with pytest.raises(DataQualityError, match="not a number"):
        rec.clean({**raw, "currency": "EUR", "amount": "n/a"})


def test_enrich_adds_region_and_usd_amount() -> None:
    enriched = rec.enrich({"id": "x", "country": "FR", "amount": "10.00", "currency": "EUR"})
    assert enriched["region"] == "EMEA"
    assert enriched["amount_usd"] == "10.80"
    assert rec.enrich({"id": "y", "country": "ZZ", "amount": "0.05", "currency": "GBP"}) == {
        "id": "y",
        "country": "ZZ",
        "amount": "0.05",
        "currency": "GBP",
        "region": "UNKNOWN",
        "amount_usd": "0.06",
    }
    with pytest.raises(DataQualityError, match="no fx rate"):
        rec.enrich({"id": "z", "country": "US", "amount": "1.00", "currency": "JPY"})


def test_publish_sorts_by_id_and_rejects_duplicates() -> None:
    assert [r["id"] for r in rec.publish([{"id": "b"}, {"id": "a"}, {"id": "c"}])] == ["a", "b", "c"]
    with pytest.raises(DataQualityError, match="duplicate record id 'a'"):
        rec.publish([{"id": "a"}, {"id": "b"}, {"id": "a"}])


def test_summarize_counts_and_totals_per_source_and_region() -> None:
    rows = rec.summarize(
        [
            {"id": "1", "source": "orders", "region": "EMEA", "amount_usd": "10.80"},
            {"id": "2", "source": "orders", "region": "AMER", "amount_usd": "1.25"},
            {"id": "3", "source": "refunds", "region": "EMEA", "amount_usd": "0.05"},
        ]
    )
    assert rows == [
        {"group_by": "region", "key": "AMER", "records": 1, "amount_usd": "1.25"},
        {"group_by": "region", "key": "EMEA", "records": 2, "amount_usd": "10.85"},
        {"group_by": "source", "key": "orders", "records": 2, "amount_usd": "12.05"},
        {"group_by": "source", "key": "refunds", "records": 1, "amount_usd": "0.05"},
    ]
    assert sum(Decimal(r["amount_usd"]) for r in rows if r["group_by"] == "source") == Decimal("12.10")
    with pytest.raises(DataQualityError, match="missing region"):
        rec.summarize([{"id": "1", "source": "orders", "amount_usd": "1.00"}])


def test_bad_source_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="source name"):
        rec.generate("../etc", DAY)
