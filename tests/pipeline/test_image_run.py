"""The task image run for real: podman containers under the pod's restricted security context.

The image is built once per session (or reused when its inputs are unchanged) by airkube_dev.images,
from a base made by debootstrap: nothing is pulled. Needs root, podman, runc and debootstrap.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from airkube_dev.images import DOCKERFILE, IGNORE_FILE, REPO, build_pipeline_image, context_files, inputs_hash
from airkube_dev.podman import default_ulimits, image_inspect, run_podman
from airkube_pipeline import __version__ as pipeline_version

START = "2026-11-22T00:00:00+00:00"
TASK_UID = 10001
# What the library's pod spec asks of Kubernetes (runAsUser/Group 10001, readOnlyRootFilesystem, drop ALL,
# allowPrivilegeEscalation false, an emptyDir at /tmp), as podman flags. `--read-only-tmpfs=false`: podman
# otherwise mounts writable tmpfs on /run and /var/tmp, which a read-only pod does not get.
RESTRICTED = [
    "--user", f"{TASK_UID}:{TASK_UID}",
    "--read-only", "--read-only-tmpfs=false",
    "--cap-drop", "ALL",
    "--security-opt", "no-new-privileges",
    "--tmpfs", "/tmp:size=64m",
    "--network", "none",
]  # fmt: skip


@pytest.fixture(scope="session")
def image() -> str:
    """The task image, `localhost:5000/airkube/pipeline:<version>`, built at most once per session."""
    if shutil.which("podman") is None:
        pytest.fail("podman not found: apt-get install podman runc debootstrap")
    return build_pipeline_image()


def container(
    image: str,
    *args: str,
    entrypoint: str | None = None,
    flags: Iterable[str] = RESTRICTED,
    env: Mapping[str, str] | None = None,
    volumes: Iterable[Path] = (),
) -> subprocess.CompletedProcess[str]:
    """`podman run --rm` of the image with `flags`; each volume is mounted at its own host path."""
    argv = ["run", "--rm", *default_ulimits(), *flags]
    for name, value in (env or {}).items():
        argv += ["--env", f"{name}={value}"]
    for volume in volumes:
        argv += ["--volume", f"{volume}:{volume}"]
    if entrypoint:
        argv += ["--entrypoint", entrypoint]
    return run_podman(*argv, image, *args, check=False, timeout=120)


def show(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


@pytest.mark.slow
@pytest.mark.images
def test_version(image: str) -> None:
    result = container(image, "--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"airkube-pipeline {pipeline_version}"), show(
        result
    )


@pytest.mark.slow
@pytest.mark.images
def test_extract_writes_the_same_bytes_each_run_and_as_the_local_runner(
    image: str, tmp_path: Path, pipeline, snap
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    os.chown(data, TASK_UID, TASK_UID)  # what fsGroup / a writable bucket is to the pod
    outputs = []
    for run_id in ("scheduled__2026-11-22", "manual__rerun"):
        env = pipeline.contract(data.as_uri(), "orders", "extract", START, run_id)
        result = container(image, "extract", "--source", "orders", env=env, volumes=[data])
        assert result.returncode == 0, show(result)
        outputs.append(snap(env["AIRKUBE_OUTPUT_URL"]))
    assert list(outputs[0]) == ["data.jsonl"] and outputs[0]["data.jsonl"].count(b"\n") >= 50
    assert outputs[1] == outputs[0], "a rerun of the same interval must write identical bytes"

    local = pipeline.contract((tmp_path / "local").as_uri(), "orders", "extract", START, "scheduled__1")
    result = pipeline.run("extract", "--source", "orders", env=local)
    assert result.returncode == 0, pipeline.describe(result)
    assert snap(local["AIRKUBE_OUTPUT_URL"]) == outputs[0], "the image and the local runner must agree"


@pytest.mark.slow
@pytest.mark.images
def test_the_image_carries_the_task_code_of_this_checkout(image: str) -> None:
    """The package installed in the image is byte for byte images/pipeline/src: a build whose layer
    cache reused an earlier install (buildah does not key `RUN --mount=from` on the mounted wheel)
    shipped a task image without the `discover` step while every hash said it was up to date."""
    source = REPO / "images" / "pipeline" / "src" / "airkube_pipeline"
    expected = {
        str(path.relative_to(source)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(source.rglob("*.py"))
    }
    probe = (
        "import hashlib, json, pathlib, airkube_pipeline\n"
        "root = pathlib.Path(airkube_pipeline.__file__).parent\n"
        "print(json.dumps({str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()"
        " for p in sorted(root.rglob('*.py'))}))\n"
    )
    result = container(image, "-c", probe, entrypoint="python")
    assert result.returncode == 0, show(result)
    installed = json.loads(result.stdout)
    names = expected.keys() | installed.keys()
    stale = sorted(name for name in names if expected.get(name) != installed.get(name))
    assert not stale, f"the image's task code differs from the checkout in {stale}"


@pytest.mark.slow
@pytest.mark.images
def test_runs_as_uid_10001_without_being_told(image: str) -> None:
    """No --user: the image's own USER is what Kubernetes' runAsNonRoot check sees."""
    flags = [flag for flag in RESTRICTED if flag not in ("--user", f"{TASK_UID}:{TASK_UID}")]
    result = container(image, "-c", "id -u; id -g", entrypoint="sh", flags=flags)
    assert (result.returncode, result.stdout.split()) == (0, [str(TASK_UID), str(TASK_UID)]), show(result)


@pytest.mark.slow
@pytest.mark.images
def test_root_filesystem_is_read_only_and_tmp_is_writable(image: str) -> None:
    # /var/tmp is world-writable in the image, so only a read-only root makes writing there fail.
    probe = (
        "import errno\n"
        "for path in ('/var/tmp/probe', '/run/probe', '/tmp/probe'):\n"
        "    try:\n"
        "        open(path, 'w').close()\n"
        "        print(path, 'written')\n"
        "    except OSError as err:\n"
        "        print(path, errno.errorcode[err.errno])\n"
    )
    result = container(image, "-c", probe, entrypoint="python")
    assert result.returncode == 0, show(result)
    assert result.stdout.splitlines() == ["/var/tmp/probe EROFS", "/run/probe EROFS", "/tmp/probe written"]


@pytest.mark.slow
@pytest.mark.images
def test_no_installer_left(image: str) -> None:
    probe = (
        "import importlib.util, shutil\n"
        "names = ('pip', 'setuptools', 'wheel', 'pkg_resources', '_distutils_hack')\n"
        "print([name for name in names if importlib.util.find_spec(name)])\n"
        "print([cmd for cmd in ('pip', 'pip3', 'pip3.11', 'wheel') if shutil.which(cmd)])\n"
    )
    result = container(image, "-c", probe, entrypoint="python")
    assert (result.returncode, result.stdout.splitlines()) == (0, ["[]", "[]"]), show(result)


@pytest.mark.slow
@pytest.mark.images
def test_python_runs_unbuffered_without_bytecode_and_with_home_in_tmp(image: str) -> None:
    """What the Dockerfile's ENV is for, as the running interpreter sees it: output reaches the pod log
    as it is written, no .pyc is attempted on the read-only root, and HOME is the writable /tmp."""
    probe = "import os, sys\nprint(sys.stdout.write_through, sys.dont_write_bytecode, os.environ['HOME'])\n"
    result = container(image, "-c", probe, entrypoint="python")
    assert (result.returncode, result.stdout.split()) == (0, ["True", "True", "/tmp"]), show(result)


@pytest.mark.slow
@pytest.mark.images
def test_every_installed_distribution_is_at_its_locked_version(image: str) -> None:
    """The image's packages are the lock's (constraints.txt), each at its pinned version; only the task
    code itself is unpinned."""
    locked = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            locked[_normalized(name)] = version.strip()
    probe = (
        "import importlib.metadata as m, json\n"
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))\n"
    )
    result = container(image, "-c", probe, entrypoint="python")
    assert result.returncode == 0, show(result)
    installed = {_normalized(name): version for name, version in json.loads(result.stdout).items()}
    assert installed.pop("airkube-pipeline") == pipeline_version
    assert {"fsspec", "s3fs"} <= installed.keys()
    off_lock = {
        name: (version, locked.get(name))
        for name, version in installed.items()
        if locked.get(name) != version
    }
    assert off_lock == {}, "installed (version, locked version) of packages off the lock"


def _normalized(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower().strip()


@pytest.mark.slow
@pytest.mark.images
def test_python_is_3_11(image: str) -> None:
    result = container(image, "-c", "import platform; print(platform.python_version())", entrypoint="python")
    assert result.returncode == 0, show(result)
    assert result.stdout.strip().startswith("3.11."), result.stdout


@pytest.mark.slow
@pytest.mark.images
def test_unchanged_inputs_are_not_rebuilt(image: str) -> None:
    before = image_inspect(image)
    assert build_pipeline_image() == image
    after = image_inspect(image)
    assert before and after and after["Id"] == before["Id"]


def test_inputs_hash_follows_the_build_context(tmp_path: Path) -> None:
    """No podman needed: what changes the hash is what the build reads, and nothing else."""
    repo = tmp_path / "repo"
    for relative in [
        DOCKERFILE.relative_to(REPO),
        IGNORE_FILE.relative_to(REPO),
        Path("images/pipeline/README.md"),
        *context_files(),
    ]:
        (repo / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / relative, repo / relative)
    source = repo / "images/pipeline/src/airkube_pipeline/cli.py"
    assert source.relative_to(repo) in context_files(repo, repo / IGNORE_FILE.relative_to(REPO))
    first = inputs_hash("base-1", repo)

    (repo / "images/pipeline/README.md").write_text("not in the build context\n")
    (repo / "images/pipeline/src/airkube_pipeline/__pycache__").mkdir(exist_ok=True)
    (repo / "images/pipeline/src/airkube_pipeline/__pycache__/cli.cpython-311.pyc").write_bytes(b"x")
    assert inputs_hash("base-1", repo) == first
    assert inputs_hash("base-2", repo) != first

    for changed in (source, repo / "constraints.txt", repo / DOCKERFILE.relative_to(REPO)):
        original = changed.read_bytes()
        changed.write_bytes(original + b"\n")
        assert inputs_hash("base-1", repo) != first, changed
        changed.write_bytes(original)
    assert inputs_hash("base-1", repo) == first
