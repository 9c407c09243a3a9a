"""Fixtures of the Terraform tests: one scratch copy of terraform/ and every root's init, validate and
`terraform test` started at once on a small thread pool (each is a separate terraform process), so the
whole suite takes well under a minute of wall time on two cores; and both environments applied against
moto (test_environment_apply.py). Both start with the folder's first test when they are to run: most of
the environments' minutes are Terraform waiting on moto's RDS, which the other tests' work fills."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from moto_env import EnvRun, run_environment

from tf_cli import ENVS, MIRROR, MODULES, TERRAFORM, Result, run, scratch_copy

if not Path(TERRAFORM).exists() or not MIRROR.is_dir():
    pytest.skip("needs the terraform CLI and the offline hashicorp/aws mirror", allow_module_level=True)


def _init_validate_test(root: Path, data_dir: Path, tests_from: Path | None) -> list[Result]:
    results = [run(["init", "-backend=false", "-input=false"], root, data_dir)]
    if results[-1].returncode:
        return results
    results.append(run(["validate"], root, data_dir))
    if tests_from is not None:
        (root / "tests").mkdir(exist_ok=True)
        shutil.copy(tests_from, root / "tests")
    if (root / "tests").is_dir():
        results.append(run(["test"], root, data_dir))
    return results


@pytest.fixture(scope="session")
def tf_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return scratch_copy(tmp_path_factory.mktemp("tf"))


@pytest.fixture(scope="session")
def tf_roots(tf_copy: Path, tmp_path_factory: pytest.TempPathFactory):
    """Future results (init, validate, test) of each root module, keyed bootstrap, envs/<env> and
    modules/<name>."""
    data = tmp_path_factory.mktemp("tf-data")
    env_tests = tf_copy / "envs" / "tests" / "tfvars.tftest.hcl"
    futures: dict[str, Future[list[Result]]] = {}
    with ThreadPoolExecutor(max_workers=4) as pool:
        for env in ENVS:
            key = f"envs/{env}"
            futures[key] = pool.submit(_init_validate_test, tf_copy / key, data / env, env_tests)
        bootstrap = tf_copy / "bootstrap"
        futures["bootstrap"] = pool.submit(_init_validate_test, bootstrap, data / "bootstrap", None)
        for module in MODULES:
            key = f"modules/{module}"
            futures[key] = pool.submit(_init_validate_test, tf_copy / key, data / module, None)
        yield futures


@pytest.fixture(scope="session")
def environment_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[EnvRun]]]:
    """Each environment applied, checked and destroyed against a moto server of its own, both at once."""
    with ThreadPoolExecutor(max_workers=len(ENVS)) as pool:
        yield {env: pool.submit(run_environment, env, tmp_path_factory.mktemp(f"moto-{env}")) for env in ENVS}


@pytest.fixture(scope="session", autouse=True)
def _slow_fixtures_start_first(request: pytest.FixtureRequest) -> None:
    """With this folder's first test, start tf_roots and environment_runs if any selected test uses them:
    their terraform processes then run beside the other tests, not one after the other."""
    for fixture in ("environment_runs", "tf_roots"):
        if any(fixture in getattr(item, "fixturenames", ()) for item in request.session.items):
            request.getfixturevalue(fixture)
