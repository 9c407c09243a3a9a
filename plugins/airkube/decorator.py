"""``@airkube.task``: TaskFlow's style for containerized tasks.

The decorated function returns the container's arguments (the argv model of the provider's
``@task.kubernetes_cmd``); it runs when the task runs, so it can use what upstream tasks returned
(their results, passed like TaskFlow's return values). Everything else is AirkubePodOperator's: the
platform's defaults, the parse-time checks of every value known at parse time, the result.

Why ``@airkube.task`` and not ``@task.airkube``: the latter needs airkube registered as a provider, and
Airflow resolves ``task.<name>`` through the providers manager, which a DAG file's parse would then
pay for; an import from airkube costs nothing more than the DAG file's existing ``from airkube ...``,
and editors and type checkers can follow it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import XComArg
from airflow.sdk.bases.decorator import DecoratedOperator, task_decorator_factory
from airflow.sdk.definitions.context import context_merge

from airkube import validation
from airkube.errors import AirkubeDagError, FieldError
from airkube.pod_operator import AirkubePodOperator, _input_id, _task_ref, mapped_task_kwargs

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.sdk.bases.decorator import TaskDecorator

    from airkube.families import TaskFamily


class AirkubeDecoratedOperator(DecoratedOperator, AirkubePodOperator):
    """An AirkubePodOperator whose arguments a Python function returns when the task runs."""

    custom_operator_name = "@airkube.task"
    template_fields: Sequence[str] = tuple({"op_args", "op_kwargs", *AirkubePodOperator.template_fields})
    # The arguments are known only once the function ran: the rendered-fields view shows those.
    overwrite_rtif_after_execution: bool = True

    def __init__(self, *, python_callable: Callable[..., Sequence[str]], **kwargs: Any) -> None:
        if kwargs.get("arguments") is not None:
            raise AirkubeDagError(
                *_task_ref(kwargs.get("task_id", python_callable.__name__), kwargs),
                "arguments",
                "the decorated function returns the arguments; do not pass them",
            )
        kwargs.pop("arguments", None)
        super().__init__(python_callable=python_callable, **kwargs)

    def execute(self, context: Context) -> Any:
        context_merge(context, self.op_kwargs)
        argv = self.python_callable(*self.op_args, **self._callable_kwargs(context))
        try:
            self.arguments = validation.check_arguments(argv)
        except FieldError as err:
            raise AirkubeDagError(
                self.dag_id,
                self.task_id,
                "arguments",
                f"{self.python_callable.__name__}() returned {argv!r}: {err.problem}",
            ) from None
        self.render_template_fields(context)  # the returned arguments may hold Jinja, like literal ones
        return super().execute(context)

    def _callable_kwargs(self, context: Context) -> dict[str, Any]:
        """The function's keyword arguments: its op_kwargs, plus the context keys it names."""
        from airflow.sdk.bases.decorator import determine_kwargs

        return dict(determine_kwargs(self.python_callable, self.op_args, context))


class AirkubeTaskDecorator:
    """Airflow's TaskDecorator for AirkubeDecoratedOperator, which also checks a mapped task.

    Calling the decorated function builds an AirkubeDecoratedOperator, whose constructor checks every
    value; ``expand()`` builds a mapped operator without calling it, so the same checks (and the pool
    slots and assets a mapped task carries) run here first, in the DAG being defined.
    """

    def __init__(self, inner: TaskDecorator) -> None:
        self._inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> XComArg:
        return self._inner(*args, **kwargs)

    def expand(self, **mapped: Any) -> XComArg:
        inner, upstream = self._checked()
        return _after(upstream, inner.expand(**mapped))

    def expand_kwargs(self, kwargs: Any, *, strict: bool = True) -> XComArg:
        inner, upstream = self._checked()
        return _after(upstream, inner.expand_kwargs(kwargs, strict=strict))

    def partial(self, **kwargs: Any) -> AirkubeTaskDecorator:
        return AirkubeTaskDecorator(self._inner.partial(**kwargs))

    def override(self, **kwargs: Any) -> AirkubeTaskDecorator:
        return AirkubeTaskDecorator(self._inner.override(**kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _checked(self) -> tuple[Any, list[Any]]:
        """The inner decorator with the mapped task's checked partial arguments, and its upstream tasks:
        inputs become task ids and upstream dependencies, as TaskFamily.map makes them."""
        kwargs = dict(self._inner.kwargs)
        kwargs.setdefault("task_id", self._inner.function.__name__)
        inputs = list(kwargs.get("inputs", ()))
        kwargs["inputs"] = [_input_id(item) for item in inputs]
        checked = mapped_task_kwargs(kwargs)
        checked.pop("task_id")
        upstream = [item.operator if isinstance(item, XComArg) else item for item in inputs]
        return self._inner.override(**checked), [task for task in upstream if not isinstance(task, str)]


def _after(upstream: list[Any], output: XComArg) -> XComArg:
    """The mapped task's output, once the tasks it reads are set upstream of it."""
    if upstream:
        output.operator.set_upstream(upstream)
    return output


def task(
    python_callable: Callable[..., Sequence[str]] | None = None,
    *,
    family: TaskFamily | None = None,
    template: TaskFamily | None = None,
    **kwargs: Any,
) -> Any:
    """Decorate a function returning a container's arguments into an airkube task.

    ``@airkube.task(image="pipeline", command=["airkube-pipeline"], size="small")`` takes every
    AirkubePodOperator argument but ``arguments``; ``family=`` starts from a TaskFamily's shared values
    (the keyword arguments given here win; ``template=`` is its former name). Call the function in a DAG
    to add a task (its arguments may be other tasks' results), or ``.expand(...)`` it to map it over a
    result.
    """
    if family is not None and template is not None:
        raise TypeError("@airkube.task: give family= (template= is its former name), not both")
    family = family if family is not None else template
    if family is not None:
        kwargs = family.operator_arguments(kwargs)

    def decorate(function: Callable[..., Sequence[str]]) -> AirkubeTaskDecorator:
        return AirkubeTaskDecorator(
            task_decorator_factory(function, decorated_operator_class=AirkubeDecoratedOperator, **kwargs)
        )

    return decorate(python_callable) if python_callable is not None else decorate
