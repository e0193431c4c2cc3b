"""``python -m webapp.runtime.daphne_server [daphne's options] webapp.asgi:application``: daphne that always answers.

Twisted reads the request line and each header line with a 16 KiB limit and,
past it, closes the connection without a word: a client sending a 60 KB
query string saw a dropped connection, indistinguishable from a crash. Here
such a request gets ``414 URI Too Long`` (request line) or ``431 Request
Header Fields Too Large`` (a header line), then the connection closes. Twisted
already answers 400 when all headers together pass the limit.
"""

from __future__ import annotations

from daphne import server
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory
from twisted.web import http


class LabHTTPChannel(http.HTTPChannel):
    def lineLengthExceeded(self, line: bytes) -> None:  # noqa: N802 - Twisted's name
        # Twisted's own flag for "the next line is a request line" (private; absent: assume it is).
        waiting_for_request_line = bool(getattr(self, "_HTTPChannel__first_line", 1))
        status = b"414 URI Too Long" if waiting_for_request_line else b"431 Request Header Fields Too Large"
        self.transport.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        self.loseConnection()


def _channel(factory: http.HTTPFactory) -> http._GenericHTTPChannelProtocol:
    return http._GenericHTTPChannelProtocol(LabHTTPChannel())


class LabHTTPFactory(HTTPFactory):
    protocol = _channel


def main() -> None:
    server.HTTPFactory = LabHTTPFactory  # the name daphne's Server builds its factory from
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
