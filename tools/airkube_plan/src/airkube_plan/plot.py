"""The picture of a plan: worker nodes, running tasks and pending pods over the run (matplotlib)."""

from __future__ import annotations

from pathlib import Path

from airkube_plan.report import Plan
from airkube_plan.simulation import Outcome


def draw(plan: Plan, outcome: Outcome, path: Path) -> None:
    """Write a PNG; written to a temporary name first, so a failed draw leaves no half-written file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hours = [s.time / 3600 for s in outcome.samples]
    figure, axis = plt.subplots(figsize=(10, 4.5), dpi=110)
    axis.step(hours, [s.running_tasks for s in outcome.samples], where="post", label="running tasks")
    axis.step(hours, [s.pending_pods for s in outcome.samples], where="post", label="pending pods")
    axis.step(hours, [s.nodes for s in outcome.samples], where="post", label="worker nodes", linewidth=2.2)
    axis.axhline(
        plan.worker_pool.max_nodes,
        color="grey",
        linestyle=":",
        label=f"node maximum ({plan.worker_pool.max_nodes})",
    )
    axis.axvline(plan.makespan_seconds / 3600, color="black", linestyle="--", linewidth=0.8, label="run ends")
    axis.set_xlabel("hours since the run started")
    axis.set_ylabel("count")
    axis.set_title(
        f"{plan.dag_id} on {plan.env}: {plan.makespan_seconds / 3600:.1f} h, peak {plan.peak_nodes} "
        f"{plan.worker_pool.instance_type} nodes, {plan.node_hours:.1f} node-hours, ${plan.cost_usd:.2f}"
    )
    axis.legend(loc="upper right", fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    partial = path.with_name(f".{path.name}.partial.png")
    figure.savefig(partial)
    plt.close(figure)
    partial.replace(path)
