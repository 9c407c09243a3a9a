"""Bad task definitions fail at DAG parse time, naming the DAG, the task and the field."""

from __future__ import annotations

from datetime import timedelta

import pendulum
import pytest
from airflow.sdk import DAG, TaskGroup
from airflow.sdk.definitions.mappedoperator import OperatorPartial

from airkube import AirkubeDagError, AirkubePodOperator, TaskFamily
from airkube.validation import FIELD_CHECKS

GOOD = {"image": "pipeline", "command": ["airkube-pipeline"]}


def _dag(dag_id: str, **kwargs) -> DAG:
    return DAG(dag_id, schedule=None, start_date=pendulum.datetime(2026, 1, 1), **kwargs)


@pytest.mark.parametrize(
    ("field", "overrides", "message"),
    [
        ("size", {"size": "huge"}, "unknown size 'huge'; choose one of small, medium, large"),
        ("cpu", {"cpu": "two"}, "'two' is not a Kubernetes quantity"),
        ("cpu", {"cpu": "-1"}, "must be greater than zero"),
        ("cpu", {"cpu": "4"}, "do not fit one worker node with the task's worker pod: at most 3150m CPU"),
        ("memory", {"memory": "14Gi"}, "do not fit one worker node with the task's worker pod"),
        ("memory", {"memory": "512MB"}, "'512MB' is not a Kubernetes quantity"),
        ("memory", {"memory": "512m"}, "millibytes"),
        ("memory", {"memory": 0}, "must be greater than zero"),
        ("image", {"image": "Pipeline"}, "is not an image name"),
        ("image", {"image": "pipe line"}, "is not an image name"),
        ("image", {"image": ""}, "is not an image name"),
        ("command", {"command": []}, "is empty"),
        ("command", {"command": "airkube-pipeline extract"}, "is a string"),
        ("command", {"command": ["airkube-pipeline", ""]}, "empty or non-string part"),
        ("arguments", {"arguments": "extract"}, "is not a list of strings"),
        ("retries", {"retries": 1}, "below the platform minimum of 2"),
        ("retries", {"retries": None}, "below the platform minimum of 2"),
        ("team", {"team": "Data Eng!"}, "cannot be a Kubernetes label value"),
        ("secrets", {"secrets": ["Bad_Name"]}, "is not a Kubernetes Secret name"),
        ("secrets", {"secrets": "pipeline-db"}, "is not a list"),
        ("env", {"env": {"AIRKUBE_OUTPUT_URL": "elsewhere"}}, "set by the platform"),
        ("env", {"env": {"1BAD": "x"}}, "not a valid environment variable name"),
        ("env", {"env": {"RETRIES": 3}}, "is not a string"),
        ("inputs", {"inputs": [42]}, "42 is not a task"),
        ("expected_duration", {"expected_duration": 1200}, "1200 is not a datetime.timedelta"),
        ("expected_duration", {"expected_duration": "20m"}, "'20m' is not a datetime.timedelta"),
        ("expected_duration", {"expected_duration": timedelta(0)}, "must be greater than zero"),
        ("expected_duration", {"expected_duration": timedelta(minutes=-5)}, "must be greater than zero"),
        # Equal to the default execution_timeout of 2 hours: the task would be killed as it finishes.
        (
            "expected_duration",
            {"expected_duration": timedelta(hours=2)},
            "2:00:00 is not below the execution_timeout of 2:00:00",
        ),
        (
            "expected_duration",
            {"expected_duration": timedelta(hours=1), "execution_timeout": timedelta(minutes=30)},
            "would always be killed",
        ),
    ],
)
def test_bad_field_raises_naming_dag_task_and_field(field, overrides, message):
    with _dag("bad_input_dag"), TaskGroup("group"), pytest.raises(AirkubeDagError) as caught:
        AirkubePodOperator(task_id="step", **{**GOOD, **overrides})
    error = caught.value
    assert (error.dag_id, error.task_id, error.field) == ("bad_input_dag", "group.step", field)
    assert str(error).startswith(f"DAG 'bad_input_dag', task 'group.step', field '{field}': ")
    assert message in str(error)


def test_duplicate_task_id_names_the_dag_and_the_task():
    template = TaskFamily(**GOOD)
    with _dag("dup_dag"), pytest.raises(AirkubeDagError) as caught:
        template.task("extract")
        template.task("extract")
    assert (caught.value.dag_id, caught.value.task_id, caught.value.field) == (
        "dup_dag",
        "extract",
        "task_id",
    )


def test_retries_below_minimum_from_default_args_is_refused():
    with _dag("low_retries", default_args={"retries": 1}), pytest.raises(AirkubeDagError) as caught:
        AirkubePodOperator(task_id="step", **GOOD)
    assert caught.value.field == "retries"


def test_team_defaults_to_owner_and_a_bad_owner_is_named():
    with _dag("owner_team", default_args={"owner": "not a label"}), pytest.raises(AirkubeDagError) as caught:
        AirkubePodOperator(task_id="step", **GOOD)
    assert caught.value.field == "team"


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("size", {"size": "xl"}),
        ("cpu", {"cpu": "lots"}),
        ("image", {"image": "UPPER"}),
        ("command", {"command": []}),
        ("retries", {"retries": 0}),
        ("expected_duration", {"expected_duration": 1200}),
        ("expected_duration", {"expected_duration": pendulum.datetime(2026, 1, 1)}),
        ("expected_duration", {"expected_duration": timedelta(0)}),
        ("expected_duration", {"expected_duration": timedelta(seconds=-1)}),
        ("expected_duration", {"expected_duration": timedelta(hours=2)}),
        (
            "expected_duration",
            {"expected_duration": timedelta(minutes=45), "execution_timeout": timedelta(minutes=45)},
        ),
    ],
)
def test_partial_for_dynamic_mapping_runs_the_same_checks(field, overrides):
    with _dag("mapped_dag"), pytest.raises(AirkubeDagError) as caught:
        AirkubePodOperator.partial(task_id="mapped", **{**GOOD, **overrides}).expand(arguments=[["a"], ["b"]])
    assert (caught.value.dag_id, caught.value.task_id, caught.value.field) == ("mapped_dag", "mapped", field)


def test_expected_duration_is_checked_against_the_execution_timeout_from_default_args():
    template = TaskFamily(**GOOD, expected_duration=timedelta(minutes=40))
    timeout = {"execution_timeout": timedelta(minutes=30)}
    with _dag("timeout_dag", default_args=timeout), TaskGroup("group"):
        for make in (template.task, lambda task_id: template.map(task_id, expand={"arguments": [["a"]]})):
            with pytest.raises(AirkubeDagError) as caught:
                make("step")
            error = caught.value
            assert (error.dag_id, error.task_id, error.field) == (
                "timeout_dag",
                "group.step",
                "expected_duration",
            )
            assert "not below the execution_timeout of 0:30:00" in str(error)


def test_expected_duration_has_no_upper_bound_without_an_execution_timeout():
    template = TaskFamily(**GOOD, expected_duration=timedelta(hours=30))
    with _dag("no_timeout_dag"):
        task = template.task("plain", execution_timeout=None)
        mapped = template.map("mapped", expand={"arguments": [["a"]]}, execution_timeout=None)
    assert task.expected_duration == mapped.partial_kwargs["expected_duration"] == timedelta(hours=30)


def test_partial_refuses_task_objects_as_inputs_because_they_cannot_be_serialized():
    with _dag("mapped_inputs"):
        upstream = AirkubePodOperator(task_id="up", **GOOD)
        with pytest.raises(AirkubeDagError) as caught:
            AirkubePodOperator.partial(task_id="mapped", inputs=[upstream], **GOOD)
    assert caught.value.field == "inputs"


def test_bad_platform_setting_is_refused_with_the_variable_name(monkeypatch, runner_mode):
    monkeypatch.setenv("AIRKUBE_DATA_URL", "/no/scheme")
    with pytest.raises(ValueError, match="AIRKUBE_DATA_URL='/no/scheme' must be a URL"):
        runner_mode("kubernetes")
        with _dag("settings_dag"):
            AirkubePodOperator(task_id="step", **GOOD)


def test_unknown_runner_is_refused(runner_mode):
    with pytest.raises(ValueError, match="AIRKUBE_RUNNER='docker' is not one of kubernetes, local"):
        runner_mode("docker")
        with _dag("runner_dag"):
            AirkubePodOperator(task_id="step", **GOOD)


# A bad value of every field in airkube.validation.FIELD_CHECKS: the test fails when a check is added
# without a case here, and when the plain or the mapped path stops running one.
BAD_VALUE_OF = {
    "image": {"image": "UPPER"},
    "command": {"command": []},
    "arguments": {"arguments": "extract"},
    "size": {"size": "xl"},
    "retries": {"retries": 1},
    "team": {"team": "Data Eng!"},
    "secrets": {"secrets": ["Bad_Name"]},
    "env": {"env": {"AIRKUBE_OUTPUT_URL": "elsewhere"}},
    "expected_duration": {"expected_duration": 1200},
}


def test_every_check_of_the_table_has_a_bad_value_here():
    assert set(BAD_VALUE_OF) == set(FIELD_CHECKS)


@pytest.mark.parametrize("field", sorted(BAD_VALUE_OF))
def test_plain_and_mapped_tasks_run_the_one_table_of_checks(field):
    with _dag("one_table"):
        for make in (
            lambda values: AirkubePodOperator(task_id="plain", **values),
            lambda values: AirkubePodOperator.partial(task_id="mapped", **values),
        ):
            with pytest.raises(AirkubeDagError) as caught:
                make({**GOOD, **BAD_VALUE_OF[field]})
            assert caught.value.field == field


def test_a_mapped_task_s_error_names_the_dag_and_the_group_of_its_with_block():
    """partial() receives no DAG: airkube reads the `with` block's from Airflow's DagContext (private;
    see airkube.pod_operator). This fails when that stops naming them."""
    with _dag("context_dag"), TaskGroup("group"), pytest.raises(AirkubeDagError) as caught:
        AirkubePodOperator.partial(task_id="mapped", **{**GOOD, "size": "xl"})
    assert (caught.value.dag_id, caught.value.task_id) == ("context_dag", "group.mapped")


def test_partial_checks_then_returns_airflows_own_operator_partial():
    """airkube overrides BaseOperator.partial (Airflow offers no hook to check partial arguments):
    the result must stay Airflow's OperatorPartial, with Airflow's own checks and airkube's values."""
    with _dag("partial_dag"):
        partial = AirkubePodOperator.partial(task_id="mapped", **GOOD, size="medium")
        assert isinstance(partial, OperatorPartial)
        assert partial.kwargs["pool_slots"] == 3
        assert partial.kwargs["task_id"] == "mapped"
        mapped = partial.expand(arguments=[["a"], ["b"]])
        with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
            AirkubePodOperator.partial(task_id="other", bogus=1, **GOOD)
    assert mapped.partial_kwargs["pool_slots"] == 3


def test_a_mapped_value_from_an_upstream_result_is_checked_when_the_instance_starts():
    with _dag("late_values"):
        upstream = AirkubePodOperator(task_id="up", **GOOD)
        mapped = AirkubePodOperator.partial(
            task_id="mapped", image="pipeline", command=upstream.output, size=upstream.output
        ).expand(arguments=[["a"]])
    assert mapped.partial_kwargs["pool_slots"] == 1  # Airflow's default: the size is not known yet
