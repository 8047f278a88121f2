"""moto in server mode on a free loopback port: the one way the sandbox, the benchmark and the tests start it.

moto keeps its accounts in module globals, shared by every server in a process: a new server starts from an
empty account (reset), and a test resets between tests.
"""

from __future__ import annotations

import urllib.request

from moto.server import ThreadedMotoServer


class MotoServer:
    """`with MotoServer() as moto:` or start()/stop(); `url` is what AWS_ENDPOINT_URL takes."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._server: ThreadedMotoServer | None = None
        self.url = ""

    def start(self) -> MotoServer:
        server = ThreadedMotoServer(ip_address=self.host, port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        self._server = server
        self.url = f"http://{host}:{port}"
        self.reset()
        return self

    def reset(self) -> None:
        """Forget every resource (moto-api/reset), as a fresh account."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")  # noqa: S310 - loopback
        with urllib.request.urlopen(request) as response:  # noqa: S310 - our own loopback server
            response.read()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
