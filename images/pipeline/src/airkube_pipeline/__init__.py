"""Task code run by airkube's pipeline containers.

The contract with the DAG that schedules a step is the command line and the ``AIRKUBE_*``
environment variables only, so this package never imports Airflow: the same image runs
unchanged under any scheduler, and by hand.
"""

__version__ = "0.1.0"
