"""The local airkube platform: real Airflow 3 on real PostgreSQL behind PgBouncer, on one machine.

`make dev` and the end-to-end tests both drive it through `Platform`.
"""
