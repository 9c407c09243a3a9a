"""AirkubePodOperator: KubernetesPodOperator with the platform's defaults and parse-time checks.

Pod handling, logs, retries and reattachment stay KubernetesPodOperator's (and Airflow's); this class
only decides values, validates them while the DAG file is parsed, and, with AIRKUBE_RUNNER=local,
runs the container's command as a local process instead of a pod.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.cncf.kubernetes.backcompat.backwards_compat_converters import convert_env_vars
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.pod_generator import make_safe_label_value
from airflow.providers.cncf.kubernetes.utils.pod_manager import OnFinishAction
from airflow.sdk import Asset, XComArg
from airflow.sdk.bases.operator import get_merged_defaults

# Private: Airflow has no public accessor of the DAG and task group a `with` block opens (its own
# BaseOperator and @task read them from here). Used only where no operator has received them yet: a
# mapped task's `.partial()` arguments and a TaskFamily.map call. tests/test_validation.py
# (test_a_mapped_task_s_error_names_the_dag_and_the_group_of_its_with_block) fails when this moves.
from airflow.sdk.definitions._internal.contextmanager import DagContext, TaskGroupContext
from airflow.sdk.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowSkipException,
    DuplicateTaskIdFound,
)

from airkube import contract, intervals, pod_defaults, results, validation
from airkube.alerts.failure import TaskFailureNotifier
from airkube.errors import AirkubeDagError, FieldError, task_errors
from airkube.local_runner import LocalProcessRunner, local_environment
from airkube.pod_failure import container_failure, pod_failure_reason, process_failure_reason
from airkube.resources import DEFAULT_SIZE, pool_slots
from airkube.settings import platform_settings

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.sdk.types import Operator

DEFAULT_RETRIES = 3
DEFAULT_RETRY_DELAY = timedelta(minutes=1)
RETRY_BACKOFF_MULTIPLIER = 2.0
MAX_RETRY_DELAY = timedelta(minutes=30)
DEFAULT_EXECUTION_TIMEOUT = timedelta(hours=2)
# A pod may wait for Cluster Autoscaler to add a node (2-5 minutes on EKS) before it is scheduled.
SCHEDULE_TIMEOUT_SECONDS = 900
STARTUP_TIMEOUT_SECONDS = 300


def _dag_and_group(kwargs: Mapping[str, Any]) -> tuple[Any, Any]:
    """The DAG and task group a task is defined in. An operator's constructor receives them as its
    ``dag`` and ``task_group`` arguments (Airflow passes those of the ``with`` block); a mapped task's
    ``.partial()`` arguments and a TaskFamily.map call do not hold them, so they come from the block."""
    dag = kwargs.get("dag") or DagContext.get_current()
    group = kwargs.get("task_group") or (TaskGroupContext.get_current(dag) if dag else None)
    return dag, group


def _task_ref(task_id: str, kwargs: Mapping[str, Any]) -> tuple[str | None, str]:
    """The DAG id and full task id (with its task group prefix) before BaseOperator sets them: the
    values are checked before KubernetesPodOperator is built from them."""
    dag, group = _dag_and_group(kwargs)
    return (dag.dag_id if dag else None), (group.child_id(task_id) if group else task_id)


def _input_id(item: Any) -> str:
    """The task id of an input: a task id, a task, or a decorated task's output (an XComArg)."""
    if isinstance(item, str):
        return item
    if isinstance(item, XComArg):
        return item.operator.task_id
    if not isinstance(getattr(item, "task_id", None), str):
        raise FieldError("inputs", f"{item!r} is not a task")
    return item.task_id


def output_asset(dag_id: str, task_id: str, *, data_url: str | None = None) -> Asset:
    """The Asset a task publishes: its output prefix, every data interval's partition below it.

    Asset URIs cannot be templated, so the asset names the prefix; each run's asset event says which
    partition it wrote (its run's data interval). Another DAG can be scheduled on it
    (``schedule=[airkube.output_asset(...)]``), and the UI's asset view shows who writes and reads it.
    """
    root = platform_settings().data_url if data_url is None else data_url
    return Asset(uri=f"{root}/{dag_id}/{task_id}", group="airkube")


def _default_args(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The DAG's, task group's and task's default_args merged, as BaseOperator applies them."""
    dag, group = _dag_and_group(kwargs)
    default_args, _ = get_merged_defaults(
        dag=dag, task_group=group, task_params=None, task_default_args=kwargs.get("default_args")
    )
    return default_args


class AirkubePodOperator(KubernetesPodOperator):
    """A containerized, idempotent step: one image, one command, the platform's defaults.

    :param image: short name of a task image (``pipeline``); registry and tag come from the platform
        settings (``AIRKUBE_IMAGE_REGISTRY``, ``AIRKUBE_IMAGE_TAG``).
    :param command: the container's executable and fixed leading arguments, as a list.
    :param arguments: further arguments (templated); a mapped task usually expands over these.
    :param size: ``small``, ``medium`` or ``large`` (see ``airkube.SIZES``).
    :param cpu: explicit CPU quantity (request and limit), replacing the size's.
    :param memory: explicit memory quantity (request and limit), replacing the size's.
    :param secrets: names of Kubernetes Secrets whose keys become environment variables.
    :param env: extra environment variables (templated); ``AIRKUBE_*`` names are the platform's.
    :param inputs: upstream tasks (or, with ``.partial()``, their task ids) whose output partitions
        this task reads; they become upstream dependencies and ``AIRKUBE_INPUT_URLS``.
    :param team: owning team, a pod label and Datadog tag; defaults to the task's owner.
    :param expected_duration: how long the task usually runs, a positive ``timedelta`` below
        ``execution_timeout``; the capacity planner (``airkube-plan``) uses it when the metadata
        database has no history for the task. Stored as ``expected_duration`` (None when not declared);
        on a mapped task it is ``partial_kwargs["expected_duration"]``.
    :param retries: at least 2; retries back off exponentially up to 30 minutes.
    :param alert_slack_conn_id: the owners' Slack webhook connection for this task's final failure;
        defaults to the platform's (AIRKUBE_ALERT_SLACK_CONN_ID). Failures also go to Datadog.
    :param on_failure_callback: the author's own callbacks run first, then airkube's notifier.

    Every other KubernetesPodOperator or BaseOperator argument passes through unchanged.
    The task's output partition is ``AIRKUBE_DATA_URL/<dag_id>/<task_id>/<data_interval_start>``
    (plus ``/map_index=<i>`` for a mapped instance, which is also given ``AIRKUBE_MAP_LENGTH``).
    """

    failure_reason: str | None = None
    """Why this try's container failed, in Kubernetes' word (`OOMKilled`, `ImagePullBackOff`) or the
    local process's (`Error`, `SIGKILL`): the `failure_reason` tag of airkube.alerts.metrics."""

    # Not templated on purpose: the checks below must see the literal values at parse time.
    def __init__(
        self,
        *,
        task_id: str,
        image: str,
        command: Sequence[str],
        arguments: Sequence[str] | None = None,
        size: str = DEFAULT_SIZE,
        cpu: str | None = None,
        memory: str | None = None,
        secrets: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        inputs: Sequence[Operator | str] = (),
        team: str | None = None,
        retries: int = DEFAULT_RETRIES,
        retry_delay: timedelta = DEFAULT_RETRY_DELAY,
        retry_exponential_backoff: float = RETRY_BACKOFF_MULTIPLIER,
        max_retry_delay: timedelta = MAX_RETRY_DELAY,
        execution_timeout: timedelta | None = DEFAULT_EXECUTION_TIMEOUT,
        expected_duration: timedelta | None = None,
        on_finish_action: str = OnFinishAction.DELETE_SUCCEEDED_POD.value,
        on_failure_callback: Any = None,
        alert_slack_conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        dag_id, full_task_id = _task_ref(task_id, kwargs)
        settings = platform_settings()
        with task_errors(dag_id, full_task_id):
            checked = validation.check_fields(
                {
                    "image": image,
                    "command": command,
                    "arguments": arguments,
                    "size": size,
                    "cpu": cpu,
                    "memory": memory,
                    "retries": retries,
                    "secrets": secrets,
                    "env": env,
                    "expected_duration": expected_duration,
                    "execution_timeout": execution_timeout,
                },
                settings,
            )
            input_ids = [_input_id(item) for item in inputs]
            if kwargs.pop("do_xcom_push", False):
                raise FieldError(
                    "do_xcom_push",
                    "airkube tasks return a result by writing it to AIRKUBE_RESULT_URL (no XCom sidecar); "
                    "drop do_xcom_push",
                )
        pod = pod_defaults.pod_arguments(checked["size"], checked["secrets"])
        try:
            super().__init__(
                task_id=task_id,
                retries=retries,
                retry_delay=retry_delay,
                retry_exponential_backoff=retry_exponential_backoff,
                max_retry_delay=max_retry_delay,
                execution_timeout=execution_timeout,
                on_finish_action=on_finish_action,
                on_failure_callback=[
                    *_as_list(on_failure_callback),
                    TaskFailureNotifier(alert_slack_conn_id),
                ],
                namespace=settings.namespace,
                service_account_name=settings.service_account,
                image_pull_policy="IfNotPresent",
                schedule_timeout_seconds=SCHEDULE_TIMEOUT_SECONDS,
                startup_timeout_seconds=STARTUP_TIMEOUT_SECONDS,
                log_events_on_failure=True,
                # No XCom sidecar (it execs into the pod): a result comes from AIRKUBE_RESULT_URL, and
                # execute() turns on the push of its return value only when there is one.
                do_xcom_push=False,
                outlets=_merged(
                    kwargs.pop("outlets", None), _assets(settings.data_url, dag_id, [full_task_id])
                ),
                inlets=_merged(kwargs.pop("inlets", None), _assets(settings.data_url, dag_id, input_ids)),
                image=checked["image"],
                cmds=checked["command"],
                arguments=checked["arguments"],
                env_vars=checked["env"],
                **{
                    **pod,
                    "schedulername": kwargs.pop("schedulername", None) or pod["schedulername"],
                    "node_selector": {**pod["node_selector"], **(kwargs.pop("node_selector", None) or {})},
                },
                pool_slots=kwargs.pop("pool_slots", None) or pool_slots(checked["size"]),
                **kwargs,
            )
        except DuplicateTaskIdFound as err:
            raise AirkubeDagError(dag_id, full_task_id, "task_id", "is already used in this DAG") from err
        with task_errors(dag_id, full_task_id):
            owner_team = {"team": team if team is not None else self.owner}
            self.team = validation.check_fields(owner_team, settings)["team"]
        self.expected_duration = checked["expected_duration"]
        self.data_url = settings.data_url
        self.runner = settings.runner
        self.secret_names = list(secrets)
        self.env_vars = {
            **contract.contract_env(
                data_url=settings.data_url,
                dag_id=self.dag_id,
                task_id=self.task_id,
                input_urls=[contract.partition_url(settings.data_url, self.dag_id, i) for i in input_ids],
            ),
            **checked["env"],
        }
        self.labels.update(
            pod_defaults.team_labels(
                team=self.team, environment=settings.environment, service=make_safe_label_value(self.dag_id)
            )
        )
        self.annotations.update(
            pod_defaults.datadog_annotations(team=self.team, dag_id=self.dag_id, task_id=self.task_id)
        )
        upstream = [
            item.operator if isinstance(item, XComArg) else item
            for item in inputs
            if not isinstance(item, str)
        ]
        if upstream:
            self.set_upstream(upstream)
        self._local_runner: LocalProcessRunner | None = None

    # Why an override: Airflow has no hook for an operator to check its partial() arguments (it checks
    # their names only); BaseOperatorMeta names overriding `partial` as the way ("let subclasses
    # override it if they need to"). The classmethod calls Airflow's own through super(), so nothing of
    # Airflow's mapping is replaced, only preceded by the checks. tests/test_validation.py
    # (test_partial_checks_then_returns_airflows_own_operator_partial) fails when that stops working.
    @classmethod
    def partial(cls, **kwargs: Any):  # type: ignore[override]
        """Dynamic task mapping: run the same parse-time checks on the values given to partial()."""
        return super().partial(**mapped_task_kwargs(kwargs))

    def _do_render_template_fields(
        self,
        parent: Any,
        template_fields: Iterable[str],
        context: Context,
        jinja_env: Any,
        seen_oids: set[int],
    ) -> None:
        """Render with the run's data interval, which an asset-triggered run takes from the events
        that triggered it (airkube.intervals); a run with none fails here, before any template uses it.

        Why this private method and not the public render_template_fields: a mapped task never calls
        the unmapped operator's render_template_fields. MappedOperator.render_template_fields unmaps,
        then calls this method (its comment names it as the override point), as
        BaseOperator.render_template_fields does; tests/test_intervals.py fails when that moves.
        """
        if parent is self:  # the operator itself, not one of its nested templated objects
            if context.get("data_interval_start") is None:
                interval = intervals.published_interval(context, self.dag_id, self.task_id)
                if interval is not None:
                    context["data_interval_start"], context["data_interval_end"] = interval
            self._require_interval(context)
        super()._do_render_template_fields(parent, template_fields, context, jinja_env, seen_oids)

    def _require_interval(self, context: Context) -> None:
        if context.get("data_interval_start") is None:
            # Without an interval there is no partition key; writing to ".../None" would lose data.
            raise AirflowFailException(
                f"DAG '{self.dag_id}', task '{self.task_id}': this run has no data interval; trigger it "
                "with a logical date (or from an airkube task's asset) so the task knows which "
                "partition to write"
            )

    def execute(self, context: Context) -> Any:
        self._require_interval(context)
        self._add_map_length(context)
        results.clear_results(self._env_value(contract.RESULT_URL).rsplit("/", 1)[0])
        if self.runner == "local":
            self._execute_locally()
        else:
            super().execute(context)
        self._describe_asset_event(context)
        return self._result()

    def trigger_reentry(self, context: Context, event: dict[str, Any]) -> Any:
        """Deferrable mode: KubernetesPodOperator finishes the pod, then the result is read."""
        super().trigger_reentry(context, event)
        self._describe_asset_event(context)
        return self._result()

    def _describe_asset_event(self, context: Context) -> None:
        """The output asset's event names the partition this run wrote (an asset URI cannot)."""
        asset = output_asset(self.dag_id, self.task_id, data_url=self.data_url)
        if asset in self.outlets:
            context["outlet_events"][asset].extra = {
                "partition": self._env_value(contract.OUTPUT_URL),
                intervals.EXTRA_START: context["data_interval_start"].isoformat(),
                intervals.EXTRA_END: context["data_interval_end"].isoformat(),
            }

    def _env_value(self, name: str) -> str:
        """A platform variable of this try, rendered."""
        return next(var.value for var in convert_env_vars(self.env_vars) if var.name == name)

    def _result(self) -> Any:
        """The container's result, pushed as this task's XCom ``return_value``; None when it left none.

        ``do_xcom_push`` is off while KubernetesPodOperator runs (it would add the XCom sidecar) and
        turned on here only when there is a value for Airflow to push."""
        value = results.read_result(
            self._env_value(contract.RESULT_URL), dag_id=self.dag_id, task_id=self.task_id
        )
        if value is None and next(self.iter_mapped_dependants(), None) is not None:
            raise AirkubeDagError(
                self.dag_id,
                self.task_id,
                "result",
                f"a task maps over this task's result, but its container wrote none to {contract.RESULT_URL}",
            )
        self.do_xcom_push = value is not None
        return value

    def _add_map_length(self, context: Context) -> None:
        """A mapped instance's container also learns how many instances its run has
        (AIRKUBE_MAP_LENGTH), so that a rerun with fewer instances replaces the whole partition."""
        length = contract.map_length(context["ti"])
        if length is None:
            return
        env = [var for var in convert_env_vars(self.env_vars or []) if var.name != contract.MAP_LENGTH]
        self.env_vars = [*env, *convert_env_vars({contract.MAP_LENGTH: str(length)})]

    def _execute_locally(self) -> None:
        if self.secret_names:
            self.log.warning(
                "Local runner: Kubernetes Secrets %s are not injected; export their keys yourself",
                self.secret_names,
            )
        env = {var.name: var.value or "" for var in convert_env_vars(self.env_vars)}
        self._local_runner = LocalProcessRunner()
        exit_code, last_line = self._local_runner.run([*self.cmds, *self.arguments], local_environment(env))
        if exit_code in self.skip_on_exit_code:
            raise AirflowSkipException(f"Command exited with {exit_code}, which skips this task")
        if exit_code != 0:
            self.failure_reason = process_failure_reason(exit_code)
            raise AirflowException(f"Command {self.cmds[0]!r} exited with {exit_code}: {last_line}")

    def cleanup(
        self,
        pod: Any,
        remote_pod: Any,
        xcom_result: dict | None = None,
        context: Context | None = None,
    ) -> None:
        """KubernetesPodOperator's cleanup, with the container's own reason first in a failure's message
        (airkube.pod_failure says why: an OOM kill is otherwise invisible in the alert)."""
        try:
            super().cleanup(pod, remote_pod, xcom_result, context)
        except AirflowException as err:
            self.failure_reason = pod_failure_reason(
                remote_pod, self.base_container_name, lambda: self.pod_manager.read_pod(pod)
            )
            reason = container_failure(remote_pod, self.base_container_name)
            if reason is None:
                raise
            self.log.error("Task pod %s failed: %s", getattr(remote_pod.metadata, "name", "?"), reason)
            raise AirflowException(f"{reason}\n{err}") from err

    def on_kill(self) -> None:
        if self.runner == "local":
            if self._local_runner is not None:
                self._local_runner.kill()
            return
        super().on_kill()


def mapped_task_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The partial arguments of a mapped task, with the parse-time checks of every literal value run
    (a value from an upstream task's result is checked when the instance starts), and what a mapped
    task must carry in its partial arguments because the scheduler and the UI read it there: pool
    slots, the expected duration, and its assets."""
    dag_id, full_task_id = _task_ref(kwargs.get("task_id", "<unnamed>"), kwargs)
    settings = platform_settings()
    default_args = _default_args(kwargs)
    # Always a partial kwarg, so a mapped task exposes it as partial_kwargs["expected_duration"]
    # (MappedOperator has no attribute for it) even when it comes from default_args or is absent.
    kwargs.setdefault("expected_duration", default_args.get("expected_duration"))
    execution_timeout = kwargs.get(
        "execution_timeout", default_args.get("execution_timeout", DEFAULT_EXECUTION_TIMEOUT)
    )
    with task_errors(dag_id, full_task_id):
        checked = validation.check_fields(
            {"size": DEFAULT_SIZE, **kwargs, "execution_timeout": execution_timeout},
            settings,
            known_later=_known_later,
        )
        if "size" in checked:  # not when the size, cpu or memory comes from an upstream task's result
            # A mapped task's pool slots are a partial argument: the scheduler reads them from there.
            kwargs.setdefault("pool_slots", pool_slots(checked["size"]))
        if any(not isinstance(item, str) for item in kwargs.get("inputs", ())):
            raise FieldError(
                "inputs",
                "with .partial() give upstream task ids (strings) and set the dependency "
                "(TaskFamily.map does both)",
            )
    kwargs["outlets"] = _merged(kwargs.get("outlets"), _assets(settings.data_url, dag_id, [full_task_id]))
    kwargs["inlets"] = _merged(
        kwargs.get("inlets"), _assets(settings.data_url, dag_id, kwargs.get("inputs", ()))
    )
    return kwargs


def _merged(declared: Any, assets: list[Asset]) -> list[Any]:
    """The author's inlets or outlets, then airkube's assets not already among them (an unmapped
    instance receives its mapped task's, which already hold them)."""
    merged = _as_list(declared)
    return merged + [asset for asset in assets if asset not in merged]


def _as_list(callbacks: Any) -> list:
    if callbacks is None:
        return []
    return list(callbacks) if isinstance(callbacks, list | tuple) else [callbacks]


def _assets(data_url: str, dag_id: str | None, task_ids: Sequence[str]) -> list[Asset]:
    """The output assets of `task_ids` (none for a task built outside a DAG, which publishes nothing)."""
    return [output_asset(dag_id, task_id, data_url=data_url) for task_id in task_ids] if dag_id else []


def _known_later(value: Any) -> bool:
    """A value from an upstream task's result (an XComArg), checked when the mapped instance starts."""
    return isinstance(value, XComArg)
