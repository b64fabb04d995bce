"""/metrics on a port of its own (MOZAIKS_METRICS_PORT), so that a NetworkPolicy can admit
Prometheus to the metrics and nothing else: the chats' HTTP port then answers /metrics with 404.

prometheus_client's own exposition server, in a daemon thread: scrapes never wait on the event
loop, and the collectors are thread-safe. The lifespan owns it and stops it on shutdown.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server

from mozaiks_runtime.metrics import Metrics


@dataclass
class MetricsPort:
    server: WSGIServer
    thread: threading.Thread

    @classmethod
    def start(cls, metrics: Metrics, host: str, port: int | None) -> MetricsPort | None:
        """Serve the registry on host:port (None: no separate port, nothing started)."""
        if port is None:
            return None
        server, thread = start_http_server(port, addr=host, registry=metrics.registry)
        return cls(server, thread)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
