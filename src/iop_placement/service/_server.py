"""Running the app with uvicorn, in one process or several.

One process runs uvicorn's server with the protocol, limits and logging of
:mod:`iop_placement.service._http`. With ``workers`` above 1, the app is given as an import
string of a factory (each worker process builds its own app, engine and database
connection) and gunicorn runs the workers, each on a listening socket of its own
(``SO_REUSEPORT``), restarting any that dies (:mod:`iop_placement.service._workers`).
"""

from __future__ import annotations

import logging
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from iop_placement.service._http import (
    HEADER_TIMEOUT_SECONDS,
    KEEP_ALIVE_SECONDS,
    MAX_CONNECTIONS_PER_CLIENT,
    MAX_HEADER_BYTES,
    HeaderTimeoutProtocol,
    UtcFormatter,
    log_config,
    uvicorn_settings,
)

__all__ = [
    "HEADER_TIMEOUT_SECONDS",
    "KEEP_ALIVE_SECONDS",
    "MAX_CONNECTIONS_PER_CLIENT",
    "MAX_HEADER_BYTES",
    "HeaderTimeoutProtocol",
    "UtcFormatter",
    "log_config",
    "run_server",
    "server_config",
]


def server_config(
    app: Any,  # noqa: ANN401 - an ASGI app, or the import string of a factory of one
    host: str,
    port: int,
    log_level: str,
    *,
    workers: int = 1,
) -> uvicorn.Config:
    """The uvicorn configuration ``iop-placement serve`` uses, with every limit set.

    ``workers`` above 1 needs ``app`` as ``"module:factory"``.
    """
    if workers > 1 and not isinstance(app, str):
        msg = "several workers need the app as the import string of a factory"
        raise ValueError(msg)
    logging.getLogger("iop_placement").setLevel(log_level.upper())
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=log_config(log_level),
        workers=workers,
        factory=isinstance(app, str),
        **uvicorn_settings(),
    )


def run_server(app: Any, host: str, port: int, log_level: str, *, workers: int = 1) -> None:  # noqa: ANN401
    """Serve ``app`` with :func:`server_config` until interrupted, in ``workers`` processes.

    Several workers run on gunicorn, each on a listening socket of its own
    (:mod:`iop_placement.service._workers`); where gunicorn is not installed (it does not
    run on Windows), on uvicorn's supervisor and one shared socket.
    """
    config = server_config(app, host, port, log_level, workers=workers)
    if workers == 1:
        uvicorn.Server(config).run()
        return
    try:
        from iop_placement.service._workers import run_workers  # noqa: PLC0415
    except ImportError:  # pragma: no cover - gunicorn is in the service extra off Windows
        pass
    else:
        run_workers(app, host, port, log_level, workers)
        return
    sock = config.bind_socket()
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()
