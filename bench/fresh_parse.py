"""The fresh parse, as both its measure (bench/parse_time.py) and its check (tests/test_parse_cost.py)
see it: what a dag-processor already holds before it parses a DAG file, and which packages parsing one
must not import because only sending an alert needs them."""

from __future__ import annotations

PRELOAD = """
import airflow, airflow.sdk, pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models
"""
"""The imports a fresh interpreter runs first: Airflow, the Task SDK and the provider, not airkube."""

ALERT_ONLY = ("slack_sdk", "datadog", "airflow.providers.slack", "airflow.providers.datadog")
"""Imported by airkube only inside the functions that send an alert (airkube.alerts.alert)."""
