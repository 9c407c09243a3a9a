"""Every pod the DAGs in dags/ would start is valid Kubernetes 1.33, checked in strict mode."""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest

from airkube import AirkubePodOperator
from airkube.pod_defaults import is_label_value
from pods import SAMPLE_RESULT, render_pod, task_instances

KUBERNETES_VERSION = "1.33"


def _all_pods(dagbag):
    for dag_id, dag in sorted(dagbag.dags.items()):
        for task in dag.tasks:
            for map_index, instance in task_instances(task):
                yield f"{dag_id}.{task.task_id}[{map_index}]", instance, map_index


def test_every_task_of_every_dag_is_an_airkube_task(dagbag):
    tasks = [task for dag in dagbag.dags.values() for task in dag.tasks]
    assert tasks
    for task in tasks:
        operator_class = getattr(task, "operator_class", type(task))
        assert issubclass(operator_class, AirkubePodOperator), task.task_id


def test_every_pod_validates_against_kubernetes_strict(dagbag):
    checked = 0
    for name, task, map_index in _all_pods(dagbag):
        manifest = render_pod(task, map_index)
        try:
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as err:
            pytest.fail(f"{name}: {err.message} at {list(err.path)}")
        for key, value in manifest["metadata"]["labels"].items():
            assert is_label_value(value), f"{name}: label {key}={value!r} is not a valid label value"
        checked += 1
    # 201 tasks of high_priorities; sources_fanout: discover, an extract per sample source (pods.py's
    # SAMPLE_RESULT, standing in for discover's result) and 5 chained steps.
    assert checked == 201 + 1 + len(SAMPLE_RESULT) + 5


def test_strict_validation_catches_a_field_kubernetes_does_not_know(dagbag):
    """The control for the test above: a misspelled field must fail, or the check proves nothing."""
    task = dagbag.dags["high_priorities"].get_task("orders.extract")
    manifest = copy.deepcopy(render_pod(task))
    manifest["spec"]["containers"][0]["securityContxt"] = {"privileged": True}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
