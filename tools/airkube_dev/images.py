"""The task image built for real with podman, from nothing a registry serves (no image is ever pulled).

`ensure_base_image()` makes the Dockerfile's base image locally with debootstrap when it is missing;
`build_pipeline_image()` then runs `podman build --pull=never` of images/pipeline/Dockerfile exactly as
written, and skips the build when the image already carries the hash of its inputs.
`python -m airkube_dev.images` does both and prints the timings. Work files live in `.local/images/`.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import fcntl
import fnmatch
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from airkube_dev.errors import PlatformError
from airkube_dev.podman import default_ulimits, image_inspect, image_labels, run_podman

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "images" / "pipeline" / "Dockerfile"
IGNORE_FILE = REPO / "images" / "pipeline" / "Dockerfile.dockerignore"
WORK_DIR = REPO / ".local" / "images"
LOG_DIR = WORK_DIR / "logs"
DEFAULT_REGISTRY = "localhost:5000/airkube"

# Labels the build writes, so a later run can tell whether an image is current.
BASE_RECIPE_LABEL = "airkube.io/base-recipe"
INPUTS_LABEL = "airkube.io/build-inputs"

# The base: Debian's own Python, laid out like the official image (pip in /usr/local, /usr/local/bin/python).
# python3-pip is deliberately absent: its files sit in /usr/lib/python3/dist-packages, where Debian's pip
# will not uninstall them ("outside environment /usr") and exits 0, so the Dockerfile's
# `pip uninstall --yes setuptools wheel pip` would silently leave pip in the image. pip and setuptools are
# installed instead into /usr/local from the wheels python3-venv brings (python3-pip-whl), with a RECORD,
# which is where the official image has them. Bump RECIPE_VERSION whenever `_make_base` changes.
RECIPE_VERSION = 1
SUITE = "bookworm"
VARIANT = "minbase"
PACKAGES = ("python3", "python3-venv", "ca-certificates")
PIP_INSTALLS = ("pip", "setuptools")
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    """The default progress sink: library callers get no output."""


# --- names -------------------------------------------------------------------------------------------


def python_image(dockerfile: Path = DOCKERFILE) -> str:
    """The default of the Dockerfile's `ARG PYTHON_IMAGE`: the Dockerfile is the one source of truth."""
    found = re.search(r"^ARG\s+PYTHON_IMAGE=(\S+)\s*$", dockerfile.read_text(), re.MULTILINE)
    if not found:
        raise PlatformError(f"{dockerfile} has no `ARG PYTHON_IMAGE=<image>` line to take the base from")
    return found.group(1)


def qualified(name: str) -> str:
    """A short image name as podman and docker store it: `python:3` -> `docker.io/library/python:3`."""
    first, _, rest = name.partition("/")
    if not rest:
        return f"docker.io/library/{name}"
    if "." in first or ":" in first or first == "localhost":
        return name
    return f"docker.io/{name}"


def airkube_version(init_file: Path = REPO / "plugins" / "airkube" / "__init__.py") -> str:
    """`airkube.__version__`, read from the source (importing airkube would import Airflow)."""
    for node in ast.parse(init_file.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__version__" for target in node.targets
        ):
            return str(ast.literal_eval(node.value))
    raise PlatformError(f"{init_file} defines no __version__")


# --- locking and small helpers ---------------------------------------------------------------------


@contextlib.contextmanager
def _exclusive() -> Iterator[None]:
    """One build at a time on this machine (tests and `make` may ask at once); released on exit."""
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    with open(WORK_DIR / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _run_logged(argv: list[str], log: Path, what: str) -> None:
    """Run a long host command with its output in `log`; on failure say what failed and show the end."""
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(log, "w") as out:
            result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False)
    except FileNotFoundError:
        raise PlatformError(
            f"{what}: {argv[0]} is not installed (Debian: apt-get install {argv[0]})"
        ) from None
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise PlatformError(f"{what} failed (exit {result.returncode}); full output in {log}:\n{tail}")


def _remove_tree(path: Path) -> None:
    """Delete a rootfs, unmounting first whatever an interrupted debootstrap left mounted in it (/proc)."""
    if not path.exists():
        return
    root = str(path.resolve())

    def mounted() -> list[str]:
        points = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
        return sorted((p for p in points if p == root or p.startswith(f"{root}/")), key=len, reverse=True)

    for point in mounted():
        subprocess.run(["umount", "--lazy", point], check=False, capture_output=True)
    if still := mounted():
        raise PlatformError(f"cannot delete {path}: still mounted there: {', '.join(still)}")
    shutil.rmtree(path)


# --- the base image ----------------------------------------------------------------------------------


def _apt_sources() -> Iterator[tuple[str, list[str], list[str]]]:
    """(uri, suites, components) of every enabled `deb` source apt reads, one-line and deb822 formats."""
    one_line = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]
    for path in one_line:
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
            if len(words) >= 3 and words[0] == "deb":
                yield words[1], [words[2]], words[3:]
    for path in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text()):
            fields: dict[str, str] = {}
            key = ""
            for line in stanza.splitlines():
                if line.startswith("#") or not line.strip():
                    continue
                if line[0].isspace() and key:
                    fields[key] += " " + line.strip()
                    continue
                key, _, value = line.partition(":")
                key = key.strip().lower()
                fields[key] = value.strip()
            if "deb" in fields.get("types", "").split() and fields.get("enabled", "yes").lower() != "no":
                for uri in fields.get("uris", "").split():
                    yield uri, fields.get("suites", "").split(), fields.get("components", "").split()


def debian_mirror(suite: str = SUITE) -> str:
    """The Debian mirror apt on this machine uses for `suite` (AIRKUBE_DEBIAN_MIRROR overrides it)."""
    if override := os.environ.get("AIRKUBE_DEBIAN_MIRROR"):
        return override
    for uri, suites, components in _apt_sources():
        if suite in suites and "main" in components:
            return uri
    raise PlatformError(
        f"no apt source on this machine serves Debian {suite} main (read /etc/apt/sources.list and "
        f"/etc/apt/sources.list.d/); set AIRKUBE_DEBIAN_MIRROR=http://deb.debian.org/debian"
    )


def _recipe_hash() -> str:
    recipe = [RECIPE_VERSION, SUITE, VARIANT, PACKAGES, PIP_INSTALLS]
    return hashlib.sha256(json.dumps(recipe).encode()).hexdigest()[:16]


def _chroot(rootfs: Path, *argv: str) -> str:
    """Run a command inside the rootfs with a clean environment: no host PIP_* setting leaks in."""
    env = {"PATH": BASE_PATH, "LANG": "C.UTF-8", "HOME": "/root", "PIP_CONFIG_FILE": "/dev/null"}
    result = subprocess.run(
        ["chroot", str(rootfs), *argv], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise PlatformError(f"in the new rootfs, `{' '.join(argv)}` failed:\n{result.stdout}{result.stderr}")
    return result.stdout.strip()


def _make_base(reference: str, progress: Progress) -> None:
    """debootstrap, lay out like the official image, `podman import` as `reference`; the rootfs is deleted."""
    rootfs = WORK_DIR / f"rootfs-{SUITE}"
    archive = WORK_DIR / f"rootfs-{SUITE}.tar"
    _remove_tree(rootfs)
    archive.unlink(missing_ok=True)
    try:
        mirror = debian_mirror()
        packages = ",".join(PACKAGES)
        started = time.monotonic()
        progress(f"debootstrap {SUITE} ({VARIANT}, {packages}) from {mirror} ...")
        options = [f"--variant={VARIANT}", f"--include={packages}", "--components=main"]
        debootstrap = ["debootstrap", *options, SUITE, str(rootfs), mirror]
        _run_logged(debootstrap, LOG_DIR / "debootstrap.log", "debootstrap")
        progress(f"debootstrap done in {time.monotonic() - started:.1f} s")

        started = time.monotonic()
        # PEP 668: Debian marks its Python externally managed; the official image does not.
        for marker in rootfs.glob("usr/lib/python3*/EXTERNALLY-MANAGED"):
            marker.unlink()
        wheels = sorted((rootfs / "usr/share/python-wheels").glob("pip-*.whl"))
        if not wheels:
            raise PlatformError(f"no pip wheel in {rootfs}/usr/share/python-wheels (python3-pip-whl)")
        pip = f"/usr/share/python-wheels/{wheels[-1].name}/pip"  # a pip wheel runs as a zip
        offline = ["--no-cache-dir", "--no-index", "--find-links", "/usr/share/python-wheels"]
        _chroot(rootfs, "python3", pip, "install", "--disable-pip-version-check", *offline, *PIP_INSTALLS)
        (rootfs / "usr/local/bin/python").symlink_to("/usr/bin/python3")
        python_version = _chroot(rootfs, "python3", "-c", "import platform; print(platform.python_version())")
        _chroot(rootfs, "apt-get", "clean")
        for leftover in ("var/lib/apt/lists", "var/cache/apt", "var/log/apt"):
            for item in (rootfs / leftover).glob("*"):
                if item.is_dir() and not item.is_symlink():
                    shutil.rmtree(item)
                else:
                    item.unlink()
        # Copied from the host by debootstrap; podman provides both at run time.
        for host_file in ("etc/resolv.conf", "etc/hostname"):
            (rootfs / host_file).unlink(missing_ok=True)

        excludes = ["--exclude=./dev/*", "--exclude=./proc/*", "--exclude=./sys/*"]  # podman provides them
        tar = [
            "tar",
            "--numeric-owner",
            "--sort=name",
            *excludes,
            "-C",
            str(rootfs),
            "-cf",
            str(archive),
            ".",
        ]
        _run_logged(tar, LOG_DIR / "base-tar.log", "tar of the rootfs")
        changes = [
            f"ENV PATH={BASE_PATH}",
            "ENV LANG=C.UTF-8",
            f"ENV PYTHON_VERSION={python_version}",
            f"LABEL {BASE_RECIPE_LABEL}={_recipe_hash()}",
            'CMD ["python3"]',
        ]
        message = f"airkube: Debian {SUITE} python3 {python_version} by debootstrap, not {reference}"
        change_flags = [flag for change in changes for flag in ("--change", change)]
        run_podman("import", *change_flags, "--message", message, str(archive), reference, timeout=600)
        progress(f"base {reference} imported (Python {python_version}) in {time.monotonic() - started:.1f} s")
    finally:
        _remove_tree(rootfs)
        archive.unlink(missing_ok=True)


def _ensure_base(progress: Progress) -> str:
    reference = qualified(python_image())
    labels = image_labels(reference)
    if labels is not None and labels.get(BASE_RECIPE_LABEL) == _recipe_hash():
        return reference
    if labels is not None and BASE_RECIPE_LABEL not in labels:
        return reference  # a real python image someone loaded: better than ours, keep it
    _make_base(reference, progress)
    return reference


def ensure_base_image(*, progress: Progress = _quiet) -> str:
    """The Dockerfile's base (`ARG PYTHON_IMAGE`), made locally when missing; returns its reference.

    Nothing is pulled: Debian bookworm (minbase) by debootstrap from the mirror apt uses here, with
    python3, python3-venv and ca-certificates; EXTERNALLY-MANAGED removed; pip and setuptools in
    /usr/local (the comment at PACKAGES says why not python3-pip); `/usr/local/bin/python` linked; apt caches
    removed; then `podman import` under the qualified name (`docker.io/library/python:...`) so FROM
    resolves it with `--pull=never`. It carries Debian's Python 3.11.2, where the tag names 3.11.14:
    the same minor version and ABI (cp311 wheels), not the same patch release. An image of that name
    without our recipe label (a real one, `podman load`ed) is kept; ours is remade when the recipe changes.
    """
    with _exclusive():
        return _ensure_base(progress)


# --- the pipeline image ------------------------------------------------------------------------------


def context_files(repo: Path = REPO, ignore_file: Path = IGNORE_FILE) -> list[Path]:
    """The files the build context lets through: the allow-list (`*`, then `!path`) minus its excludes.

    Read from Dockerfile.dockerignore, so the hash follows the build context, not a second list.
    """
    lines = [line.strip() for line in ignore_file.read_text().splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    if not lines or lines[0] != "*":
        raise PlatformError(f"{ignore_file} must start with `*` (an allow-list); the hash relies on it")
    allowed = [line[1:].rstrip("/") for line in lines[1:] if line.startswith("!")]
    excluded = [line for line in lines[1:] if not line.startswith("!")]

    def is_excluded(relative: Path) -> bool:
        for pattern in excluded:
            if pattern.startswith("**/"):
                if any(fnmatch.fnmatch(part, pattern[3:]) for part in relative.parts):
                    return True
            elif fnmatch.fnmatch(str(relative), pattern):
                return True
        return False

    found: set[Path] = set()
    for entry in allowed:
        path = repo / entry
        candidates = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        found.update(p.relative_to(repo) for p in candidates if not is_excluded(p.relative_to(repo)))
    return sorted(found)


def inputs_hash(base_image_id: str, repo: Path = REPO) -> str:
    """sha256 of everything the build reads: the Dockerfile, its ignore file, the context, the base image."""
    dockerfile = DOCKERFILE.relative_to(REPO)
    ignore_file = IGNORE_FILE.relative_to(REPO)
    digest = hashlib.sha256(f"base {base_image_id}\n".encode())
    for relative in [dockerfile, ignore_file, *context_files(repo, repo / ignore_file)]:
        digest.update(f"{relative}\0".encode())
        digest.update((repo / relative).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _host_pip_settings() -> dict[str, str]:
    """pip's effective settings here (files, then PIP_* variables, which win), as `pip config list` shows."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False
    )
    from_files: dict[str, str] = {}
    from_env: dict[str, str] = {}
    for line in result.stdout.splitlines():
        key, sep, value = line.partition("=")
        if not sep or "." not in key:
            continue
        scope, name = key.split(".", 1)
        (from_env if scope == ":env:" else from_files)[name] = value.strip().strip("'\"")
    return from_files | from_env


def _pip_build_mounts() -> list[str]:
    """`--volume` flags that let pip inside the build reach the index the way pip on this machine does.

    The host CA bundle goes over the image's own bundle (a proxy's CA may be in it): Debian's pip, the
    base's, reads that path. A pip.conf is mounted only when pip here names an http(s) index, because
    buildah leaves an empty mount-point file behind in the image; `file://` indexes and find-links name
    host folders and are left out (PyPI itself is reachable).
    """
    settings = _host_pip_settings()
    mounts: list[str] = []
    cert = Path(settings.get("cert", str(CA_BUNDLE)))
    if cert.is_file():
        mounts += ["--volume", f"{cert}:{CA_BUNDLE}:ro"]
    lines = []
    for name in ("index-url", "extra-index-url"):
        urls = [u for u in settings.get(name, "").split() if u.startswith(("http://", "https://"))]
        if urls:
            lines.append(f"{name} = {' '.join(urls)}")
    if lines:
        trusted = settings.get("trusted-host", "")
        pip_conf = WORK_DIR / "pip.conf"
        body = [f"cert = {CA_BUNDLE}", *lines, *([f"trusted-host = {trusted}"] if trusted else [])]
        pip_conf.write_text("[global]\n" + "\n".join(body) + "\n")
        mounts += ["--volume", f"{pip_conf}:/etc/pip.conf:ro"]
    return mounts


def build_pipeline_image(
    registry: str = DEFAULT_REGISTRY, tag: str | None = None, *, progress: Progress = _quiet
) -> str:
    """`<registry>/pipeline:<tag>` (tag: airkube.__version__) built by podman, never pulling; its reference.

    The Dockerfile is built as written, from the repository root with its own ignore file. Skipped when
    an image with that tag carries INPUTS_LABEL equal to `inputs_hash` (so a test session or `make`
    builds once and any change to the Dockerfile, the context or the base rebuilds). Needs network
    access to PyPI (host network, this machine's CA bundle); output in .local/images/logs/.
    """
    reference = f"{registry}/pipeline:{tag or airkube_version()}"
    with _exclusive():
        base = _ensure_base(progress)
        base_info = image_inspect(base)
        if base_info is None:
            raise PlatformError(f"the base image {base} vanished right after it was made")
        wanted = inputs_hash(base_info["Id"])
        previous = image_inspect(reference)
        if previous is not None and (previous.get("Labels") or {}).get(INPUTS_LABEL) == wanted:
            progress(f"{reference} is up to date (inputs {wanted[:12]})")
            return reference
        started = time.monotonic()
        progress(f"building {reference} ...")
        log = LOG_DIR / "pipeline-build.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        # --no-cache: buildah keys a `RUN --mount=type=bind,from=...` layer on the command text, not on what
        # is mounted, so a changed wheel would reuse the old install layer. A build only runs when the
        # inputs changed anyway (the hash above), so the layer cache would save little.
        flags = ["--pull=never", "--no-cache", "--network", "host", *default_ulimits(), *_pip_build_mounts()]
        sources = ["--file", str(DOCKERFILE), "--ignorefile", str(IGNORE_FILE), str(REPO)]
        naming = ["--label", f"{INPUTS_LABEL}={wanted}", "--tag", reference]
        output = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT}
        result = run_podman("build", *flags, *naming, *sources, check=False, timeout=1800, **output)
        log.write_text(result.stdout)
        if result.returncode != 0:
            tail = "\n".join(result.stdout.splitlines()[-25:])
            raise PlatformError(f"podman build of {reference} failed; full output in {log}:\n{tail}")
        if previous is not None and previous["Id"] != (image_inspect(reference) or {}).get("Id"):
            run_podman("rmi", previous["Id"], check=False)  # the replaced build, if nothing uses it
        progress(f"built {reference} in {time.monotonic() - started:.1f} s")
        return reference


# --- python -m airkube_dev.images --------------------------------------------------------------------


def container_start_seconds(reference: str, runs: int = 3) -> list[float]:
    """Wall time of `podman run --rm <image> --version`, a container start and exit, `runs` times."""
    times = []
    for _ in range(runs):
        started = time.monotonic()
        run_podman("run", "--rm", "--network", "none", *default_ulimits(), reference, "--version")
        times.append(time.monotonic() - started)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m airkube_dev.images",
        description="Build the pipeline task image with podman, never pulling (base made by debootstrap).",
    )
    parser.add_argument("--registry", default=DEFAULT_REGISTRY)
    parser.add_argument("--tag", default=None, help="default: airkube.__version__")
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        started = time.monotonic()
        base = ensure_base_image(progress=say)
        say(f"base image {base}: ready after {time.monotonic() - started:.1f} s")
        started = time.monotonic()
        reference = build_pipeline_image(args.registry, args.tag, progress=say)
        say(f"pipeline image: ready after {time.monotonic() - started:.1f} s")
        starts = container_start_seconds(reference)
        say(
            f"container start and exit (--version): median {statistics.median(starts):.2f} s of {len(starts)}"
        )
    except PlatformError as err:
        print(f"airkube images: {err}", file=sys.stderr)
        sys.exit(1)
    print(reference)


if __name__ == "__main__":
    main()
