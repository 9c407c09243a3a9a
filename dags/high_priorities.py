"""high_priorities: the nightly pipeline of the sources the business watches most closely.

For each source: extract -> validate -> clean -> enrich -> publish (5 containerized steps), then one
summary over every published source. 40 sources x 5 steps + 1 = 201 tasks. Each step writes one
partition keyed by the run's data interval, so a rerun or a backfill replaces, never appends.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, CronDataIntervalTimetable, TaskGroup

from airkube import TaskFamily

SOURCES = (
    "orders",
    "payments",
    "refunds",
    "invoices",
    "customers",
    "subscriptions",
    "shipments",
    "returns",
    "inventory",
    "suppliers",
    "pricing",
    "promotions",
    "carts",
    "sessions",
    "clicks",
    "searches",
    "reviews",
    "support_tickets",
    "chargebacks",
    "payouts",
    "ledger",
    "tax",
    "fx_rates",
    "stores",
    "warehouses",
    "deliveries",
    "couriers",
    "loyalty",
    "gift_cards",
    "coupons",
    "ads_spend",
    "ads_clicks",
    "email_sends",
    "email_opens",
    "push_sends",
    "app_installs",
    "web_vitals",
    "fraud_signals",
    "kyc_checks",
    "partner_feeds",
)
STEPS = ("extract", "validate", "clean", "enrich", "publish")

pipeline = TaskFamily(image="pipeline", command=["airkube-pipeline"], size="small")

with DAG(
    dag_id="high_priorities",
    description="Nightly extract, validate, clean, enrich and publish of the 40 priority sources.",
    # Data intervals, not bare trigger times: the run at midnight processes the day that just ended.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["nightly", "priority", "team:data-eng"],
    default_args={"owner": "data-eng"},
    doc_md=__doc__,
) as dag:
    published = []
    for source in SOURCES:
        with TaskGroup(group_id=source):
            steps = [(step, [step, "--source", source] if step == "extract" else [step]) for step in STEPS]
            published.append(pipeline.chain(steps)[-1])
    pipeline.task("summarize", arguments=["summarize"], inputs=published, size="medium")
