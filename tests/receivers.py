"""Real servers on 127.0.0.1 standing in for Slack's webhook endpoint, Datadog's events API and the
Datadog agent's DogStatsD port, recording what arrives."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HttpReceiver:
    """Records every POST (path, JSON body); answers `status` after `delay` seconds."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.status = status
        self.delay = delay
        self.requests: list[tuple[str, dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    payload = json.loads(body or b"{}")
                except json.JSONDecodeError:
                    payload = {"raw": body.decode(errors="replace")}
                receiver.requests.append((self.path, payload))
                time.sleep(receiver.delay)
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                # A client that gave up waiting (the slow-endpoint tests) has closed its end: expected.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(b'{"status": "ok"}' if receiver.status < 300 else b'{"error": "down"}')

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HttpReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def posts_to(self, prefix: str) -> list[dict]:
        return [body for path, body in self.requests if path.startswith(prefix)]


class StatsdReceiver:
    """A UDP socket receiving DogStatsD datagrams, read all along by a thread of its own: a socket left
    unread fills its kernel buffer over a long suite and then drops what arrives (as an agent never does)."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self._received: list[str] = []
        self._lock = threading.Lock()
        self._open = True
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while self._open:
            try:
                data, _ = self.socket.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:  # closed
                return
            with self._lock:
                self._received.extend(data.decode().splitlines())

    def lines(self) -> list[str]:
        """The lines received since the last call, after a moment for datagrams in flight."""
        time.sleep(0.2)
        with self._lock:
            received, self._received = self._received, []
        return received

    def close(self) -> None:
        self._open = False
        self._reader.join()
        self.socket.close()


@contextmanager
def alert_receivers() -> Iterator[tuple[HttpReceiver, HttpReceiver, StatsdReceiver]]:
    """Slack's, Datadog's and DogStatsD's stand-ins for one platform, stopped afterwards."""
    with HttpReceiver() as slack, HttpReceiver() as datadog:
        statsd = StatsdReceiver()
        try:
            yield slack, datadog, statsd
        finally:
            statsd.close()


def slack_connection(receiver: HttpReceiver, webhook_path: str) -> str:
    """An Airflow Slack incoming-webhook connection (JSON) posting to `receiver`."""
    url = f"http://127.0.0.1:{receiver.port}/services/{webhook_path}"
    return json.dumps({"conn_type": "slackwebhook", "password": url})


def alert_env(
    slack: HttpReceiver,
    datadog: HttpReceiver,
    statsd: StatsdReceiver,
    *,
    webhook_path: str = "T0/B0/secret",
    timeout_seconds: int = 2,
) -> dict[str, str]:
    """Airflow connections and variables pointing every alert at the test's receivers."""
    datadog_extra = {"api_key": "k3y", "app_key": "app", "api_host": f"http://127.0.0.1:{datadog.port}"}
    return {
        "AIRFLOW_CONN_SLACK_ALERTS": slack_connection(slack, webhook_path),
        "AIRFLOW_CONN_DATADOG_DEFAULT": json.dumps({"conn_type": "datadog", "extra": datadog_extra}),
        "DD_AGENT_HOST": "127.0.0.1",
        "DD_DOGSTATSD_PORT": str(statsd.port),
        "AIRKUBE_ALERT_TIMEOUT_SECONDS": str(timeout_seconds),
    }
