"""The platform page in Airflow's UI: per-DAG success, durations and failure streaks, per-team failing
tasks and alerts, and the latest capacity plans (airkube.page.app serves it, airkube.page.figures
computes it).

Nothing is imported here: plugin.py names the app lazily, so processes other than the api-server never
load FastAPI routes or the page's queries.
"""
