"""Real servers on loopback for the tests that need a socket: any `socketserver` server answering
from a thread for the duration of a block, and the portal itself on a free port (the `live_url`
fixture of conftest)."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from werkzeug.serving import make_server


@contextmanager
def serving(server: socketserver.BaseServer) -> Iterator[str]:
    """`server` (bound to 127.0.0.1) answering from a thread for the duration of the block: its
    address as an http URL. Shut down and closed after the block."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@contextmanager
def live_portal(app: Flask) -> Iterator[str]:
    """The portal `app` served on a free port of 127.0.0.1, one thread a request: its base URL."""
    with serving(make_server("127.0.0.1", 0, app, threaded=True)) as url:
        yield url
