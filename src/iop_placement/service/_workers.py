"""``serve --workers N`` on gunicorn: each worker process listens on a socket of its own.

uvicorn's supervisor runs its workers on one shared listening socket, and Linux hands
nearly every new connection to whichever process is already awake: with 8 keep-alive
connections one worker took almost all of them (1.01x with 2 workers, docs/performance.md).
gunicorn's arbiter with ``reuse_port`` has each worker bind a socket of its own with
``SO_REUSEPORT``, and the kernel spreads connections over the sockets by address hash.
gunicorn also restarts a worker that dies, and uvicorn's own ``uvicorn-worker`` runs the
app in each; this module only carries over ``serve``'s limits (the header timeout
protocol, the connection limits, the logging) to those workers.
"""

from __future__ import annotations

import logging.config
from typing import Any, ClassVar

from gunicorn.app.base import BaseApplication
from uvicorn_worker import UvicornWorker

from iop_placement.service._http import KEEP_ALIVE_SECONDS, log_config, uvicorn_settings

__all__ = ["Worker", "run_workers"]

GRACEFUL_SECONDS = 10


class Worker(UvicornWorker):  # type: ignore[misc] # untyped base
    """uvicorn in a gunicorn worker, with every limit ``serve`` sets in one process."""

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {"loop": "auto", **uvicorn_settings()}

    def init_process(self) -> None:
        """Log as ``serve`` does in one process, then run uvicorn in this worker."""
        logging.config.dictConfig(self.cfg.logconfig_dict)
        super().init_process()


class _Application(BaseApplication):  # type: ignore[misc] # gunicorn ships no types
    def __init__(self, factory: str, settings: dict[str, Any]) -> None:
        self._factory = factory
        self._settings = settings
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._settings.items():
            self.cfg.set(key, value)

    def load(self) -> Any:  # noqa: ANN401 - an ASGI app
        # In each worker (no preload): every worker builds its own app, engine and store.
        module, _, name = self._factory.partition(":")
        factory = getattr(__import__(module, fromlist=[name]), name)
        return factory()


def run_workers(factory: str, host: str, port: int, log_level: str, workers: int) -> None:
    """Serve the app ``factory`` (``"module:function"``) in ``workers`` gunicorn workers."""
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    logging_config = log_config(log_level)
    # gunicorn's own messages (workers booting and exiting) as the service's lines
    logging_config["loggers"]["gunicorn.error"] = {"level": log_level.upper()}
    # uvicorn's access log records query strings: off, as uvicorn's access_log=False does it
    logging_config["loggers"]["uvicorn.access"] = {"handlers": [], "propagate": False}
    settings = {
        "bind": [address],
        "workers": workers,
        "worker_class": f"{Worker.__module__}.{Worker.__qualname__}",
        "reuse_port": True,
        "keepalive": KEEP_ALIVE_SECONDS,
        "graceful_timeout": GRACEFUL_SECONDS,
        "logconfig_dict": logging_config,
        "accesslog": None,  # the app logs route templates, never query strings
        "proc_name": "iop-placement",
        "preload_app": False,
    }
    _Application(factory, settings).run()
