"""`python -m kube_standin --port 0 --state-dir DIR ...`: the API server and its kubelet, one process.

Prints `ready <url>` once it serves; SIGTERM stops every container it started, then exits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
from pathlib import Path

from aiohttp import web

from kube_standin import kubeconfig
from kube_standin.api import ApiServer
from kube_standin.kubelet import Kubelet, KubeletConfig
from kube_standin.store import Store


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m kube_standin", description=__doc__)
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
    parser.add_argument(
        "--state-dir", type=Path, required=True, help="logs, pid files, kubeconfig, requests.jsonl"
    )
    parser.add_argument(
        "--process-image",
        action="append",
        default=[],
        help="an image repository (no tag) whose pods run as local processes",
    )
    parser.add_argument(
        "--process-env-file", type=Path, help="JSON object: the environment of those processes"
    )
    parser.add_argument(
        "--mount",
        action="append",
        default=[],
        metavar="HOST:CONTAINER",
        help="a host folder bound into every container",
    )
    parser.add_argument(
        "--no-pod-security", action="store_true", help="do not enforce the restricted profile"
    )
    parser.add_argument(
        "--watch-history",
        type=int,
        default=5000,
        metavar="N",
        help="changes kept for watches; a watch from an older resourceVersion gets 410 Gone",
    )
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    state_dir: Path = args.state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    store = Store(history=args.watch_history)
    config = KubeletConfig(
        state_dir=state_dir,
        process_images=tuple(args.process_image),
        process_env=json.loads(args.process_env_file.read_text()) if args.process_env_file else {},
        node_mounts=tuple(tuple(m.split(":", 1)) for m in args.mount),  # type: ignore[misc]
    )
    kubelet = Kubelet(store, config)
    server = ApiServer(
        store,
        on_pod_created=kubelet.pod_created,
        on_pod_deleting=kubelet.pod_deleting,
        read_log=kubelet.read_log,
        record_file=state_dir / "requests.jsonl",
        enforce_restricted=not args.no_pod_security,
    )
    runner = web.AppRunner(server.app(), access_log=None, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port)
    await site.start()
    port = runner.addresses[0][1]
    url = f"http://127.0.0.1:{port}"
    kubeconfig.write(state_dir / "kubeconfig", url)
    print(f"ready {url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await kubelet.shutdown()
    await runner.cleanup()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(serve(parse_args()))


if __name__ == "__main__":
    main()
