"""Alerts and metrics: Slack and Datadog on a task's final failure, DogStatsD metrics per task.

Attached by the library's defaults (AirkubePodOperator's on_failure_callback, the airkube plugin's
listener), so a DAG author gets them without writing them.
"""
