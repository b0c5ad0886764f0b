"""ReplayTransport: serve recorded responses to httpx and httpx2 clients, sync and async.

One object is the ``transport=`` of ``httpx.Client``, ``httpx.AsyncClient``,
``httpx2.Client`` and ``httpx2.AsyncClient``, like ``httpx.MockTransport``. Every
response is planned when the transport is built (:mod:`._plan`, pure), so a bad option
fails at once and serving is a thin loop: wait until each read is due, yield it, then
end as planned. The sync twin waits with ``time.sleep`` on ``time.monotonic``; the async
twin with ``anyio.sleep`` on ``anyio.current_time`` (so asyncio, trio and trio's mock
clocks all work).

A wait longer than the request's read timeout behaves as a socket would: it lasts the
read timeout, then raises the library's ``ReadTimeout``. A stall is an endless wait.
"""

from __future__ import annotations

import json
import math
import os
import random
import threading
import time
from collections.abc import AsyncIterator, Collection, Iterator
from types import ModuleType
from typing import Any, Literal

import anyio

from ._httplib import TransportBase, library_of, read_timeout, stream_type, transport_error
from ._plan import CutWith, ErrorResponse, Options, Plan, Split, make_plan
from ._recording import Exchange, RecordedRequest, Recording, load_recording, wire_headers

__all__ = ["Match", "ReplayTransport", "UnmatchedRequestError"]

Match = Literal["order", "path", "model"]
"""How ``ReplayTransport(match=...)`` picks the exchange that answers a request: in
recorded ``"order"``, the next recorded for the request's ``"path"``, or for its JSON
body's ``"model"``."""


class UnmatchedRequestError(AssertionError):
    """A request that no recorded exchange answers (unexpected, or one too many).

    An ``AssertionError`` because it is a failed test expectation: the client asked
    something the recording does not hold. It is not an httpx ``RequestError``, so
    clients that retry or wrap transport errors (the openai SDK) let it through as is.

    Attributes:
        method, url: the request asked.
        model: the ``model`` of the request's JSON body, or ``None``.
    """

    def __init__(self, message: str, *, method: str, url: str, model: str | None) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.model = model


class ReplayTransport(TransportBase):
    """A transport that replays a recording, optionally re-split, paced or broken.

    Args:
        recording: a path (``.sse`` body or ``.jsonl`` recording), the bytes of an SSE
            body (or of a ``.jsonl`` recording), or a loaded :class:`Recording`.
        match: how a request finds its exchange. ``"order"`` (default): the next one.
            ``"path"``: the first unserved exchange whose recorded URL path equals the
            request's. ``"model"``: the first whose JSON body has the same ``model``.
            Each exchange is served once; one recorded without its request (``.sse``)
            matches any request.

    Re-splitting the body:
        split: ``"recorded"`` (default: the recorded reads), ``"whole"`` (one read),
            ``"bytes"`` (one read per byte), an ``int`` N (reads of N bytes), or
            ``"random"`` (sizes drawn from 1 to 64 bytes with ``random.Random(seed)``).
        seed: the seed of ``split="random"``.

    Pacing (default: no delay at all):
        speed: replay the recorded timing scaled: each read is due at its recorded time
            divided by ``speed`` (``2.0`` = twice as fast, ``0.5`` = half speed).
        first_byte: seconds from the request to the response (headers and first read).
        gap: seconds between two reads.

    Faults (applied to the exchanges listed in ``faults_on``; ``None``: all of them):
        cut_after_bytes: end the body after this many bytes.
        cut_after_events: end the body just after the blank line that completes this
            many SSE events (``data: [DONE]`` counts; counted with ``SSEDecoder``).
        cut_with: how the cut body ends: ``"eof"`` (a clean end, as a server that
            closes early), ``"reset"`` (the library's ``ReadError``, "Connection reset
            by peer"), ``"incomplete"`` (its ``RemoteProtocolError``, "peer closed
            connection without sending complete message body").
        stall_after_bytes, stall_after_events: after this many bytes or events, the
            next read never comes. The wait lasts the request's read timeout
            (``timeout=`` of the client), then raises the library's ``ReadTimeout``; with
            no read timeout it lasts forever (async: until the caller cancels it).
        buffered: deliver the whole body as one read when it is complete, as a
            buffering proxy does (with pacing, all the delay comes before that read).
        replace_response: serve this :class:`ErrorResponse` instead of the recorded
            status, headers and body (:data:`RATE_LIMIT_429`, :data:`SERVER_ERROR_500`,
            :data:`BAD_GATEWAY_502`).
        drop_done: remove the ``data: [DONE]`` event (as some providers never send it).
            On an OpenAI Responses API stream, the ``[DONE]`` that some compatible
            servers send after the terminal event (OpenRouter); a Responses stream
            without one (OpenAI sends none) raises ``ValueError`` instead of being
            served unchanged: use ``cut_after_events`` to end it before its terminal
            event.
        drop_content_type: remove the ``content-type`` header.
        faults_on: the 0-based indices of the exchanges the faults apply to.

    Attributes:
        recording: the :class:`Recording` served.
        requests: every request received, in order (``httpx.Request`` or
            ``httpx2.Request``), matched or not: assert on them.

    Raises:
        ValueError: an option is invalid, a cut/stall asks for more bytes or events
            than an exchange's body has, or ``drop_done`` is asked of a Responses API
            stream without ``[DONE]``.
        RecordingFormatError: the recording file is invalid.

    Serving raises :class:`UnmatchedRequestError` for a request no exchange answers.
    """

    def __init__(
        self,
        recording: str | os.PathLike[str] | bytes | Recording,
        *,
        match: Match = "order",
        split: Split = "recorded",
        seed: int = 0,
        speed: float | None = None,
        first_byte: float | None = None,
        gap: float | None = None,
        cut_after_bytes: int | None = None,
        cut_after_events: int | None = None,
        cut_with: CutWith = "eof",
        stall_after_bytes: int | None = None,
        stall_after_events: int | None = None,
        buffered: bool = False,
        replace_response: ErrorResponse | None = None,
        drop_done: bool = False,
        drop_content_type: bool = False,
        faults_on: Collection[int] | None = None,
    ) -> None:
        if match not in ("order", "path", "model"):
            raise ValueError(f"match={match!r}: expected 'order', 'path' or 'model'")
        options = Options(
            split=split,
            seed=seed,
            speed=speed,
            first_byte=first_byte,
            gap=gap,
            cut_after_bytes=cut_after_bytes,
            cut_after_events=cut_after_events,
            cut_with=cut_with,
            stall_after_bytes=stall_after_bytes,
            stall_after_events=stall_after_events,
            buffered=buffered,
            replace_response=replace_response,
            drop_done=drop_done,
            drop_content_type=drop_content_type,
            faults_on=faults_on,
        )
        if not isinstance(recording, Recording):
            recording = load_recording(recording)
        self.recording = recording
        self.requests: list[Any] = []
        self._match = match
        if faults_on is not None and not all(0 <= i < len(recording) for i in faults_on):
            raise ValueError(
                f"faults_on={sorted(faults_on)!r}: the recording has exchanges 0 to "
                f"{len(recording) - 1}"
            )
        rng = random.Random(seed)
        plans: list[Plan] = []
        try:
            for exchange in recording:
                faults = faults_on is None or len(plans) in faults_on
                plans.append(make_plan(exchange, options, rng, faults=faults))
        except ValueError as exc:
            raise ValueError(f"{recording.source}, exchange {len(plans)}: {exc}") from None
        self._plans = plans
        self._served = [False] * len(plans)
        self._lock = threading.Lock()

    # -- Matching ------------------------------------------------------------------

    def _take(self, request: Any) -> Plan:
        """Record ``request``, find its exchange and mark it served."""
        method, url = request.method, str(request.url)
        model = _request_model(request.content)
        with self._lock:
            self.requests.append(request)
            for index, exchange in enumerate(self.recording):
                if not self._served[index] and self._matches(exchange.request, request, model):
                    self._served[index] = True
                    return self._plans[index]
            raise UnmatchedRequestError(
                self._unmatched_message(method, url, model), method=method, url=url, model=model
            )

    def _matches(self, recorded: RecordedRequest | None, request: Any, model: str | None) -> bool:
        if recorded is None or self._match == "order":
            return True
        if self._match == "path":
            return recorded.path == str(request.url.path)
        return recorded.model == model

    def _unmatched_message(self, method: str, url: str, model: str | None) -> str:
        asked = f"{method} {url}" + (f" (model {model!r})" if model is not None else "")
        lines = [
            f"ReplayTransport: no recorded exchange answers {asked}, matching by {self._match}; "
            f"{self.recording.source} holds {len(self.recording)} exchange(s):"
        ]
        for index, exchange in enumerate(self.recording):
            state = "served" if self._served[index] else "not served"
            lines.append(f"  #{index} {_describe(exchange)} [{state}]")
        return "\n".join(lines)

    # -- The transport API ---------------------------------------------------------

    def handle_request(self, request: Any) -> Any:
        """Serve ``request`` from a sync ``httpx.Client`` / ``httpx2.Client``.

        Raises:
            UnmatchedRequestError: no recorded exchange answers the request.
            ReadTimeout: (the request's library's) the headers are due later than the
                read timeout allows.
        """
        deadlines = _Deadlines(library_of(request), request, time.monotonic())
        request.read()
        plan = self._take(request)
        deadlines.wait(plan.headers_at)
        return self._response(plan, deadlines)

    async def handle_async_request(self, request: Any) -> Any:
        """Serve ``request`` from an ``httpx.AsyncClient`` / ``httpx2.AsyncClient``.

        Raises: as :meth:`handle_request`.
        """
        deadlines = _Deadlines(library_of(request), request, anyio.current_time())
        await request.aread()
        plan = self._take(request)
        await deadlines.wait_async(plan.headers_at)
        return self._response(plan, deadlines)

    @staticmethod
    def _response(plan: Plan, deadlines: _Deadlines) -> Any:
        lib = deadlines.lib
        stream = stream_type(lib, _ReplayStream)(plan, deadlines)
        # Bytes, not str: httpx would encode a str value as ASCII, and a recorded
        # non-ASCII value ("x-served-by: café") must come back as the bytes received.
        return lib.Response(
            plan.status_code,
            headers=wire_headers(plan.headers),
            stream=stream,
            request=deadlines.request,
        )

    def close(self) -> None:
        """Nothing to release; for the client's ``close()``."""

    async def aclose(self) -> None:
        """Nothing to release; for the async client's ``aclose()``."""


class _Deadlines:
    """Waits until a read is due, as a socket with the request's read timeout would.

    ``start`` is the request's time on the twin's clock: ``time.monotonic`` for
    :meth:`wait`, ``anyio.current_time`` for :meth:`wait_async`.
    """

    __slots__ = ("lib", "request", "start", "timeout")

    def __init__(self, lib: ModuleType, request: Any, start: float) -> None:
        self.lib = lib
        self.request = request
        self.start = start
        self.timeout = read_timeout(request)

    def _delay(self, due: float, now: float) -> tuple[float, bool]:
        """How long to wait for ``due``, and whether the wait ends in a read timeout."""
        delay = due - (now - self.start)
        if self.timeout is not None and delay > self.timeout:
            return self.timeout, True
        return max(delay, 0.0), False

    def error(self, name: str, message: str) -> Exception:
        """The request library's transport error ``name``."""
        return transport_error(self.lib, name, message, self.request)

    def wait(self, due: float) -> None:
        """Sleep until ``due`` (seconds since the request; ``inf``: never)."""
        delay, times_out = self._delay(due, time.monotonic())
        if delay == math.inf:
            while True:  # a stall with no read timeout: as a dead socket, forever
                time.sleep(3600)
        if delay > 0:
            time.sleep(delay)
        if times_out:
            raise self.error("ReadTimeout", "timed out")

    async def wait_async(self, due: float) -> None:
        """The async twin of :meth:`wait`; the caller may cancel it."""
        delay, times_out = self._delay(due, anyio.current_time())
        if delay == math.inf:
            await anyio.sleep_forever()
        if delay > 0:
            await anyio.sleep(delay)
        if times_out:
            raise self.error("ReadTimeout", "timed out")


class _ReplayStream:
    """The body of one replayed response: the sync and async twins of one loop.

    Made a subclass of the library's ``SyncByteStream`` and ``AsyncByteStream`` by
    ``stream_type``.
    """

    def __init__(self, plan: Plan, deadlines: _Deadlines) -> None:
        self._plan = plan
        self._deadlines = deadlines

    def _end_error(self) -> Exception | None:
        error = self._plan.error
        return None if error is None else self._deadlines.error(error.type, error.message)

    def __iter__(self) -> Iterator[bytes]:
        plan, wait = self._plan, self._deadlines.wait
        if plan.due is None:
            yield from plan.reads
        else:
            for due, data in zip(plan.due, plan.reads, strict=True):
                wait(due)
                yield data
        wait(math.inf if plan.stall else plan.end_at)
        error = self._end_error()
        if error is not None:
            raise error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        plan, wait = self._plan, self._deadlines.wait_async
        if plan.due is None:
            for data in plan.reads:
                yield data
        else:
            for due, data in zip(plan.due, plan.reads, strict=True):
                await wait(due)
                yield data
        await wait(math.inf if plan.stall else plan.end_at)
        error = self._end_error()
        if error is not None:
            raise error

    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


def _request_model(content: bytes) -> str | None:
    """The ``model`` of a JSON request body, ``None`` if there is none."""
    try:
        body = json.loads(content)
    except ValueError:
        return None
    return RecordedRequest(method="", url="", json=body).model


def _describe(exchange: Exchange) -> str:
    request = exchange.request
    if request is None:
        return f"(any request) -> {exchange.status_code}"
    model = f" (model {request.model!r})" if request.model is not None else ""
    return f"{request.method} {request.url}{model} -> {exchange.status_code}"
