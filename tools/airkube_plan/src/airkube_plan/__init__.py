"""airkube-plan: one run of a DAG simulated on an environment's autoscaled node pool, before anyone pays.

Everything it plans from is what the repository already says: the DAG as Airflow parses it, the chart's
rendered configuration, the environment's Terraform variables and terraform/pricing.yaml. What the
repository cannot say (how fast EKS adds a node, what a DaemonSet requests) is an Assumption, printed with
every plan and overridable on the command line.
"""
