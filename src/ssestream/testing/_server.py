"""The app of ``ssestream serve``: a Starlette app that serves the fault catalogue's plans
over real sockets, run by uvicorn (the ``cli`` extra).

Serving is a thin loop: the plans were decided up front (``_faults``), so a response
sleeps until each read is due and writes it as one HTTP chunk. Starlette and uvicorn are
imported only inside :func:`create_app` and :func:`running_server`, so this module imports
without them. The server bounds what a client can hold: the request body's size, the time
to send a request, idle connections (see :data:`DEFAULT_MAX_REQUEST_BYTES` and below).
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from .._redact import redact_url
from ._faults import (
    AUTH_401,
    DEFAULT_EVENT_GAP,
    DEFAULT_FIRST_TOKEN_DELAY,
    Catalog,
    Pace,
    longest_silence,
    timed_reads,
)
from ._plan import (
    ErrorResponse,
    Plan,
)
from ._recording import Headers, Recording, load_recording, wire_headers

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.responses import Response

    _R = TypeVar("_R", bound=Response)

__all__ = [
    "DEFAULT_KEEP_ALIVE",
    "DEFAULT_MAX_REQUEST_BYTES",
    "DEFAULT_REQUEST_TIMEOUT",
    "INSTALL_CLI_EXTRA",
    "MAX_REQUEST_HEAD_BYTES",
    "create_app",
    "running_server",
    "serve_forever",
]

INSTALL_CLI_EXTRA = (
    "pip install -e '.[cli]' in a clone of the repository, or pip install 'ssestream[cli]' "
    "once it is published"
)
"""How to install the ``cli`` extra (Starlette, uvicorn, rich), for error messages: the
command that works from a clone first, since the package may not be on PyPI."""


def _needs_cli_extra(what: str, exc: ImportError) -> ModuleNotFoundError:
    error = ModuleNotFoundError(
        f"{what} needs the cli extra ({exc.name or exc} is missing): {INSTALL_CLI_EXTRA}",
        name=exc.name,
    )
    error.__cause__ = exc
    return error


DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024
"""The largest request body the server reads: 1 MiB (a chat request with a long
conversation is some KiB). A larger one gets ``413`` (announced by ``Content-Length``: at
once, unread; chunked: as soon as the limit is passed) and the connection is closed."""

DEFAULT_REQUEST_TIMEOUT = 10.0
"""Seconds a client has to send a request: its head from the moment the connection is
open (or the previous response ended), and its body from the moment the head arrived.
A slower one is dropped (a head) or gets ``408`` (a body); either way the connection is
closed, so a slow or idle client cannot hold a connection forever."""

DEFAULT_KEEP_ALIVE = 5
"""Seconds an idle keep-alive connection is kept open between requests (uvicorn's
``timeout_keep_alive``)."""

MAX_REQUEST_HEAD_BYTES = 16 * 1024
"""The largest request head (request line and headers), in bytes: uvicorn's
``h11_max_incomplete_event_size``; a larger one gets ``400``."""

# --- The app --------------------------------------------------------------------------


class _AbortConnectionError(Exception):
    """Raised inside a response body to make uvicorn close the socket mid-body."""


def _is_abort(exc: BaseException | None) -> bool:
    if isinstance(exc, _AbortConnectionError):
        return True
    return any(_is_abort(inner) for inner in getattr(exc, "exceptions", ()))


class _QuietAbort(logging.Filter):
    """Drops uvicorn's "Exception in ASGI application" record for a planned reset."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and _is_abort(record.exc_info[1]))


class _RedactedAccessLog(logging.Filter):
    """Redacts the request target in uvicorn's access log (``"POST /v1/x?key=..."``):
    ``serve`` prints it, and a client may put its key in the query (Gemini's ``?key=``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_url(args[2]), *args[3:])
        return True


def _quiet_aborts() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietAbort) for f in logger.filters):
        logger.addFilter(_QuietAbort())
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _RedactedAccessLog) for f in access.filters):
        access.addFilter(_RedactedAccessLog())


def _openai_error(status: int, message: str, error_type: str) -> ErrorResponse:
    return ErrorResponse.openai(status, message, error_type=error_type)


def create_app(
    recordings: Sequence[Recording | str | os.PathLike[str]],
    *,
    pace: Pace = "recorded",
    fault: str = "none",
    first_token_delay: float = DEFAULT_FIRST_TOKEN_DELAY,
    event_gap: float = DEFAULT_EVENT_GAP,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
) -> Starlette:
    """Build the Starlette app of ``ssestream serve``: an OpenAI-compatible endpoint.

    Routes (each also without the ``/v1`` prefix):

    * ``GET /v1/models``: ``{"object": "list", "data": [...]}``, one model per recorded
      model (the request's ``model``, else the chunks' ``model``).
    * ``POST /v1/chat/completions``: the next recorded exchange, cycling in order; when
      the recordings hold several models and the request's ``model`` is one of them, the
      next exchange of that model. With ``"stream": true`` the recorded stream, each
      planned read written as one HTTP chunk at its due time; otherwise the
      ``chat.completion`` JSON rebuilt from the stream (by
      :class:`ssestream.ChatCompletionAccumulator`), sent when the recorded stream ends.
    * ``POST /v1/responses``: the same for the recorded OpenAI Responses API exchanges
      (recognised by :func:`~ssestream.testing.is_responses_exchange`); without
      ``"stream": true`` the ``response`` object rebuilt by
      :class:`ssestream.ResponseStream`. The faults that
      rewrite chunks (``malformed``, ``no-usage``, ``error-in-stream``, ``no-done``)
      leave a Responses stream as recorded; the others apply as to chat.

    A route whose API has no recording answers 404 with OpenAI's error JSON.

    Any API key is accepted. Other paths answer 404 with OpenAI's error JSON.

    The app's ``state`` holds ``models`` (the model names served), ``exchanges`` (how
    many), ``routes`` (the POST routes that have recordings) and ``longest_silence``:
    the longest wait, in seconds, for the next byte of any planned response (the
    non-streaming answer waits for the whole recorded stream), so that a client's read
    timeout can be set above it.

    Args:
        recordings: loaded :class:`~ssestream.testing.Recording` s or paths (``.sse``
            bodies, ``.jsonl`` recordings). Exchanges recorded for other paths than
            ``/chat/completions`` and ``/responses`` are left out.
        pace: ``"recorded"`` (the recorded timing), ``"none"`` (no delay at all) or a
            speed factor (the recorded times divided by it).
        fault: one of :data:`FAULTS` (``"none"``: healthy).
        first_token_delay: the delay of ``fault="slow-first-token"``, in seconds (not
            scaled by ``pace``).
        event_gap: seconds between two events of a recording without timing (``.sse``),
            before ``pace`` applies.
        max_request_bytes: the largest request body read, in bytes; a larger one gets
            413 with OpenAI's error JSON and the connection is closed, without the rest
            being read (see :data:`DEFAULT_MAX_REQUEST_BYTES`).
        request_timeout: seconds to receive the whole body once the head arrived; a
            slower body gets 408 and the connection is closed (the head's own limit is
            the server's: :func:`running_server`).

    Raises:
        ValueError: an unknown fault, a bad pace or delay, recordings without any chat
            or Responses exchange, or a recorded body that cannot be decoded.
        RecordingFormatError: a ``.jsonl`` file is not a valid recording.
        OSError: a file cannot be read.
        ModuleNotFoundError: starlette is not installed: the message names the ``cli``
            extra and how to install it (:data:`INSTALL_CLI_EXTRA`).
    """
    import anyio

    try:
        from starlette.applications import Starlette
        from starlette.exceptions import HTTPException
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response, StreamingResponse
        from starlette.routing import Route
    except ImportError as exc:
        raise _needs_cli_extra("ssestream.testing.create_app", exc) from None

    if not (isinstance(max_request_bytes, int) and max_request_bytes > 0):
        raise ValueError(f"max_request_bytes must be an int > 0, not {max_request_bytes!r}")
    if not (math.isfinite(request_timeout) and request_timeout > 0):
        raise ValueError(f"request_timeout must be a number of seconds > 0: {request_timeout!r}")
    loaded = [r if isinstance(r, Recording) else load_recording(r) for r in recordings]
    catalog = Catalog(
        loaded,
        pace=pace,
        fault=fault,
        first_token_delay=first_token_delay,
        event_gap=event_gap,
    )
    _quiet_aborts()

    async def sleep_until(deadline: float) -> None:
        delay = deadline - anyio.current_time()
        if delay > 0:
            await anyio.sleep(delay)

    async def body(plan: Plan, start: float) -> AsyncIterator[bytes]:
        for due, data in timed_reads(plan):
            await sleep_until(start + due)
            if data:
                yield data
        if plan.stall:
            await anyio.sleep_forever()  # ended when the client disconnects
        await sleep_until(start + plan.end_at)
        if plan.error is not None:
            raise _AbortConnectionError(plan.error.message)

    async def respond(plan: Plan, start: float) -> Response:
        await sleep_until(start + plan.headers_at)
        whole = (
            not plan.stall
            and plan.error is None
            and len(plan.reads) <= 1
            and max([plan.end_at, *(plan.due or ())]) <= plan.headers_at
        )
        if whole:
            content = plan.reads[0] if plan.reads else b""
            return _with_headers(Response(content, status_code=plan.status_code), plan.headers)
        return _with_headers(
            StreamingResponse(body(plan, start), status_code=plan.status_code), plan.headers
        )

    def error(response: ErrorResponse) -> Response:
        return _with_headers(
            Response(response.body, status_code=response.status_code), response.headers
        )

    def refuse(status: int, message: str) -> Response:
        response = error(_openai_error(status, message, "invalid_request_error"))
        response.headers["connection"] = "close"  # the rest of the body is never read
        return response

    async def read_body(request: Request) -> bytes | Response:
        """The body, or the 413/408 response when it is too large or too slow."""
        too_large = (
            f"The request body is larger than this server's limit of {max_request_bytes} bytes."
        )
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_request_bytes:
            return refuse(413, too_large)
        body = bytearray()
        with anyio.move_on_after(request_timeout) as scope:
            async for piece in request.stream():
                body += piece
                if len(body) > max_request_bytes:
                    return refuse(413, too_large)
        if scope.cancelled_caught:
            return refuse(408, f"The request body did not arrive within {request_timeout:g} s.")
        return bytes(body)

    async def models(request: Request) -> Response:
        if catalog.fault == "auth":
            return error(AUTH_401)
        return JSONResponse({"object": "list", "data": catalog.models()})

    async def chat_completions(request: Request) -> Response:
        return await answer(request, "chat")

    async def responses(request: Request) -> Response:
        return await answer(request, "responses")

    async def answer(request: Request, kind: str) -> Response:
        start = anyio.current_time()
        if catalog.fault == "auth":
            return error(AUTH_401)
        if not catalog.serves(kind):
            what = "chat-completion" if kind == "chat" else "Responses API"
            message = f"This server was given no {what} recording: {request.url.path} has none."
            return error(_openai_error(404, message, "invalid_request_error"))
        body = await read_body(request)
        if isinstance(body, Response):
            return body
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            payload = None
        if not isinstance(payload, dict):
            return error(
                _openai_error(
                    400,
                    "We could not parse the JSON body of your request: expected a JSON object.",
                    "invalid_request_error",
                )
            )
        model = payload.get("model")
        entry = catalog.pick(model if isinstance(model, str) else None, kind)
        plan = entry.stream if payload.get("stream") is True else entry.json
        return await respond(plan, start)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        message = f"Unknown request URL: {request.method} {request.url.path}."
        return error(_openai_error(status, message, "invalid_request_error"))

    app = Starlette(
        routes=[Route(path, models, methods=["GET"]) for path in ("/v1/models", "/models")]
        + [
            Route(path, chat_completions, methods=["POST"])
            for path in ("/v1/chat/completions", "/chat/completions")
        ]
        + [Route(path, responses, methods=["POST"]) for path in ("/v1/responses", "/responses")],
        exception_handlers={404: not_found, 405: not_found},
    )
    app.state.models = [model["id"] for model in catalog.models()]
    app.state.exchanges = len(catalog.entries)
    app.state.routes = [
        route
        for kind, route in (("chat", "/v1/chat/completions"), ("responses", "/v1/responses"))
        if catalog.serves(kind)
    ]
    app.state.longest_silence = max(
        max(longest_silence(entry.stream), longest_silence(entry.json)) for entry in catalog.entries
    )
    return app


def _with_headers(response: _R, headers: Headers) -> _R:
    """``response`` with ``headers`` as sent: the recorded bytes of each value (Starlette
    would encode a ``str`` value as latin-1, failing on "café" recorded as UTF-8), in
    place of any header Starlette set under the same name (``content-length``)."""
    wire = wire_headers(headers)
    names = {name.lower() for name, _ in wire}
    response.raw_headers = [
        pair for pair in response.raw_headers if pair[0].lower() not in names
    ] + [(name.lower(), value) for name, value in wire]
    return response


# --- Running it -----------------------------------------------------------------------


def _bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (0: a free port), with TCP_NODELAY.

    A streaming server must not let Nagle's algorithm hold a small read back until the
    previous one is acknowledged (with delayed ACKs, ~40 ms on Linux). asyncio sets
    TCP_NODELAY only on sockets whose ``proto`` is IPPROTO_TCP, which
    ``socket.create_server`` does not give; Linux passes the option on from the
    listening socket to the accepted ones.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=128)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _head_timeout_protocol(head_timeout: float) -> type:
    """uvicorn's h11 protocol, plus a deadline for each request head.

    uvicorn closes a keep-alive connection idle *after* a response
    (``timeout_keep_alive``), but not one that never sends a complete head: a client
    that connects and sends nothing, or one byte a minute, holds it forever. This
    subclass arms a timer when the connection opens and after each response, cancels it
    when a request head is complete, and closes the connection when it fires first.
    """
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeadTimeoutProtocol(H11Protocol):
        _head_timer: Any = None

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(head_timeout, self._head_timed_out)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeadTimeoutProtocol


def _uvicorn_server(
    app: Any,
    *,
    log_level: str,
    graceful_seconds: int,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    keep_alive: int = DEFAULT_KEEP_ALIVE,
) -> Any:
    try:
        import uvicorn
    except ImportError as exc:
        raise _needs_cli_extra("serving (uvicorn)", exc) from None

    config = uvicorn.Config(
        app,
        http=_head_timeout_protocol(request_timeout),
        ws="none",
        lifespan="off",
        log_level=log_level,
        timeout_graceful_shutdown=graceful_seconds,
        timeout_keep_alive=keep_alive,
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
    )
    return uvicorn.Server(config)


def serve_forever(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    keep_alive: int = DEFAULT_KEEP_ALIVE,
    on_listening: Callable[[str], None] | None = None,
) -> None:
    """Serve ``app`` with uvicorn in this thread until interrupted (``ssestream serve``).

    The socket is bound first, so that ``on_listening`` gets the base URL
    (``http://HOST:PORT``, without ``/v1``; ``port=0`` takes a free port) before the
    first request can come. uvicorn handles Ctrl+C: open responses get 1 s to finish,
    then ``KeyboardInterrupt`` is raised again here.

    Raises:
        OSError: the address cannot be bound (port in use, no such interface).
        ModuleNotFoundError: uvicorn is not installed (the message names the extra).
    """
    server = _uvicorn_server(
        app,
        log_level=log_level,
        graceful_seconds=1,
        request_timeout=request_timeout,
        keep_alive=keep_alive,
    )
    sock = _bind(host, port)
    with sock:
        if on_listening is not None:
            on_listening(_url(sock))
        server.run(sockets=[sock])


@contextmanager
def running_server(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    log_level: str = "warning",
    startup_timeout: float = 10.0,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    keep_alive: int = DEFAULT_KEEP_ALIVE,
) -> Iterator[str]:
    """Run ``app`` with uvicorn in a background thread; yield its base URL.

    The URL is ``http://127.0.0.1:PORT``, without ``/v1``; ``port=0`` (the default)
    takes a free port. On exit the server stops: open responses get 1 s to finish, then
    are cancelled (a stalled stream included), and the thread is joined.

    Args:
        app: an ASGI app, e.g. from :func:`create_app`.
        host: the address to listen on (loopback by default).
        port: the TCP port; 0 for a free one.
        log_level: uvicorn's log level (``"warning"``: quiet).
        startup_timeout: seconds to wait for the server to accept connections.
        request_timeout: seconds a client has to send a complete request head, from
            the moment it connects or its previous response ended; then the connection
            is closed (see :data:`DEFAULT_REQUEST_TIMEOUT`).
        keep_alive: seconds an idle connection is kept between requests.

    Heads larger than :data:`MAX_REQUEST_HEAD_BYTES` get 400; the body's limits are the
    app's (:func:`create_app`).

    Raises:
        OSError: the address cannot be bound (port in use...).
        RuntimeError: the server did not start within ``startup_timeout``.
        ModuleNotFoundError: uvicorn is not installed (the message names the ``cli``
            extra).
    """
    server = _uvicorn_server(
        app,
        log_level=log_level,
        graceful_seconds=1,
        request_timeout=request_timeout,
        keep_alive=keep_alive,
    )
    sock = _bind(host, port)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="ssestream-serve", daemon=True
    )
    try:
        thread.start()
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the uvicorn server did not start")
            time.sleep(0.005)
        yield _url(sock)
    finally:
        server.should_exit = True
        thread.join(5.0)
        if thread.is_alive():
            server.force_exit = True
            thread.join()
        sock.close()
