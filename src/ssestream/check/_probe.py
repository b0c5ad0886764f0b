"""The probe (I/O): the requests of a check, every read and chunk timed. It decides
nothing; :func:`ssestream.check.analyse` does.

Reads. A read is one ``read()`` of the connection that returned body bytes, taken from
the ``network_stream`` that httpx exposes in ``response.extensions`` (HTTP/1.1); bytes
that came in with the response head count as a read at the head's time. Where that
extension is missing (HTTP/2, a mock transport) each piece of ``response.iter_raw()`` is
counted as a read instead (``reads_source`` says which). ``iter_raw()`` alone would not
do: it hands out each HTTP/1.1 chunk separately even when one read carried many.

Chunks. Each ``data:`` payload other than ``[DONE]`` is a chunk, numbered from 1 in
stream order, whether it could be decoded or not. The body is fed to the parser one line
at a time, so a chunk that is not JSON is attributed exactly and the check goes on with a
fresh parser after it (a client would stop there: that is reported, not imitated).
"""

from __future__ import annotations

import contextlib
import re
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar, cast

from .. import (
    END,
    NEED_DATA,
    ChatCompletionChunk,
    ChatStreamParser,
    ChunkParseError,
    LimitExceededError,
    ResponseStreamEvent,
    ResponseStreamParser,
    SSEStreamError,
    StreamAPIError,
)
from .._http import body_decoder
from .._redact import redact_text, redact_url
from ._records import (
    BODY_EXCERPT_BYTES,
    DEFAULT_MAX_TIME,
    DEFAULT_MAX_TOKENS,
    DEFAULT_PROMPT,
    MAX_CHUNKS,
    MAX_READS,
    RUNS,
    CheckData,
    ChunkArrival,
    Exchange,
    NetworkRead,
    StreamError,
    StreamRecord,
)
from ._rules import refusal_problem

__all__ = ["CheckObserver", "probe"]


class CheckObserver:
    """Receives the probe's progress, for a live view. Every method here does nothing.

    Methods are called from the thread that runs :func:`probe`, in this order:
    ``request`` and ``response`` around each request (``response`` also after a stream
    ended), and ``text`` for each piece of text of choice 0 while a stream arrives.
    """

    def request(self, step: str, description: str) -> None:
        """A request is about to be sent. ``step``: ``"discovery"``, ``"non_streaming"``,
        ``"identity"`` or ``"gzip"``."""

    def text(self, step: str, kind: str, text: str) -> None:
        """A stream delivered text: ``kind`` is ``"content"`` or ``"reasoning"``."""

    def response(self, step: str, exchange: Exchange, record: StreamRecord | None) -> None:
        """A request is over: ``record`` is set for the streaming ones."""


_Item = TypeVar("_Item", ChatCompletionChunk, ResponseStreamEvent)


class _StreamFeeder(Generic[_Item]):
    """Feeds a body to a stream parser and records each item (a chat chunk, a Responses
    event) as a :class:`ChunkArrival` with the read that completed it: the one read loop
    of the probe. The APIs differ only in what the constructor takes.

    Args:
        parser: the stream parser (``receive_data``/``receive_eof``, ``streamed``,
            ``finished``).
        next_item: the parser's pull method: an item, ``NEED_DATA`` or ``END``.
        on_item: called with each item, after it is recorded (the live view).
        ends: the errors that end the stream as a bad chunk (recorded with why, see
            :func:`_parse_error`); a :class:`StreamAPIError` always ends it as the
            stream's ``error``.
        done: whether the stream reached its proper end, asked once it is over.

    Attributes:
        chunks: every item (or bad chunk) so far. ``done``, ``streamed``, ``error``: the
            stream's end, body kind and error. ``finished``: nothing more is read.
        event_reads: the reads whose bytes completed at least one event (StreamTimings'
            ``reads``).
    """

    def __init__(
        self,
        parser: ChatStreamParser | ResponseStreamParser,
        next_item: Callable[[], _Item | object],
        on_item: Callable[[_Item], None],
        *,
        ends: tuple[type[SSEStreamError], ...],
        done: Callable[[], bool],
    ) -> None:
        self.parser = parser
        self._next_item = next_item
        self._on_item: Callable[[_Item], None] = on_item
        self._ends = ends
        self._done = done
        self.chunks: list[ChunkArrival] = []
        self.done = False
        self.streamed: bool | None = None
        self.error: StreamError | None = None
        self.finished = False
        self.event_reads: set[int] = set()
        self._read = 0
        self._at = 0.0

    def _bad_chunk(self, exc: ChunkParseError) -> None:
        """A chunk the parser skipped (its ``on_bad_chunk``): recorded, and reading goes on."""
        self.chunks.append(ChunkArrival(read=self._read, time=self._at, error=_parse_error(exc)))

    def feed(self, data: bytes, read: int, at: float) -> None:
        if self.finished:
            return
        self._read, self._at = read, at
        if self.parser.receive_data(data):
            self.event_reads.add(read)
        self._drain(read, at)

    def eof(self, read: int, at: float) -> None:
        if not self.finished:
            self.parser.receive_eof()
            self._drain(read, at)
            self.finished = True

    def _drain(self, read: int, at: float) -> None:
        parser = self.parser
        while True:
            try:
                item = self._next_item()
            except StreamAPIError as exc:
                self.error = StreamError(
                    message=exc.message, after_chunks=len(self.chunks), time=at
                )
                self.finished = True
                return
            except self._ends as exc:  # not a chunk (a plain JSON body...), or a limit
                self.chunks.append(ChunkArrival(read=read, time=at, error=_parse_error(exc)))
                self.finished = True
                return
            if parser.streamed is not None and not self.streamed:
                self.streamed = parser.streamed
            if item is NEED_DATA:
                return
            if item is not END:
                chunk = cast(_Item, item)
                self.chunks.append(ChunkArrival(read=read, time=at, payload=chunk.to_dict()))
                self._on_item(chunk)
                if not parser.finished:  # a terminal event, or a plain JSON body's one chunk
                    continue
            self.done = self._done()
            self.finished = True
            return


class _Feeder(_StreamFeeder[ChatCompletionChunk]):
    """The chat API's feeder: :class:`ChatStreamParser`; ``done``: ``data: [DONE]`` came.

    A chunk that cannot be decoded is recorded and skipped through the parser's own
    ``on_bad_chunk`` option, so the rest of the stream is still read and checked; a body
    that is not a stream, or a limit, ends it.
    """

    def __init__(self, on_chunk: Callable[[ChatCompletionChunk], None]) -> None:
        parser = ChatStreamParser(on_bad_chunk=self._bad_chunk)
        super().__init__(
            parser,
            parser.next_chunk,
            on_chunk,
            ends=(ChunkParseError, LimitExceededError),
            done=lambda: parser.done,
        )


class _ResponsesFeeder(_StreamFeeder[ResponseStreamEvent]):
    """The Responses API's feeder: :class:`ResponseStreamParser`, each event a chunk;
    ``done``: the terminal event (``response.completed`` / ``response.incomplete``)
    arrived. An event that cannot be read ends the stream, as it ends a client's."""

    def __init__(self, on_event: Callable[[ResponseStreamEvent], None]) -> None:
        parser = ResponseStreamParser()
        super().__init__(
            parser,
            parser.next_event,
            on_event,
            ends=(SSEStreamError,),  # not JSON, a wrong type, a limit, not SSE
            done=lambda: parser.terminal_event in ("response.completed", "response.incomplete"),
        )


_NUMBERED = re.compile(r"^event \d+ \(([^)]*)\): ")  # "event 31 (response.x.delta): ..."


def _parse_error(exc: SSEStreamError) -> str:
    """Why a payload is not a chunk (or a Responses event), without the parser's event
    numbering: the check numbers chunks from 1, in its own evidence."""
    if exc.event is None:  # a whole body that is not JSON: the message quotes it
        return exc.message
    data = exc.event.data
    cause = exc.__cause__
    if isinstance(cause, ValueError):
        return f"not JSON ({cause}): {data[:120]!r}"
    if data and not data.lstrip().startswith("{"):
        return f"JSON but not an object: {data[:120]!r}"
    return _NUMBERED.sub(r"\1: ", exc.message)


class _ReadTap:
    """Records each read of the connection while a response body is read.

    Uses the ``network_stream`` that httpx puts in ``response.extensions`` (HTTP/1.1):
    its ``read`` is wrapped on the instance for the duration of the body and restored
    by :meth:`remove`. Without it (HTTP/2, mock transports), each ``iter_raw()`` piece
    is counted as a read.
    """

    def __init__(self, response: Any, started: float, head_time: float) -> None:
        self.reads: list[NetworkRead] = []
        self.started = started
        self.head_time = head_time
        self._stream = response.extensions.get("network_stream")
        self.installed = False
        read = getattr(self._stream, "read", None)
        if callable(read):
            reads = self.reads

            def tapped(max_bytes: int, timeout: float | None = None) -> bytes:
                data: bytes = read(max_bytes, timeout)
                if data:
                    reads.append(NetworkRead(time=time.perf_counter() - started, size=len(data)))
                return data

            try:
                self._stream.read = tapped
                self.installed = True
            except (AttributeError, TypeError):
                pass
        self.source = "network" if self.installed else "iter_raw"

    def attribute(self, size: int, now: float) -> int:
        """The index of the read that delivered an ``iter_raw()`` piece of ``size`` bytes."""
        if self.source == "iter_raw":
            self.reads.append(NetworkRead(time=now, size=size))
        elif not self.reads:  # the piece came in with the response head
            self.reads.append(NetworkRead(time=self.head_time, size=size))
        return len(self.reads) - 1

    def remove(self) -> None:
        if self.installed:
            with contextlib.suppress(AttributeError):
                del self._stream.read
            self.installed = False


def _error_kind(exc: BaseException) -> str:
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return "connect" if isinstance(exc, httpx.ConnectTimeout) else "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connect"
    return "transport"


def _describe(exc: BaseException, secrets: Sequence[str] = ()) -> str:
    """``"ConnectError: ..."``: the first line of the message, with every secret (the
    API key, a header value quoted by h11's "Illegal header value", URL userinfo)
    redacted, since the message goes to the terminal and the ``--json`` report."""
    text = str(exc) or exc.__class__.__doc__ or ""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return redact_text(f"{type(exc).__name__}: {first}", secrets)


def _head(method: str, url: str, response: Any, head_time: float) -> Exchange:
    return Exchange(
        method=method,
        url=redact_url(url),
        status=response.status_code,
        headers={name.lower(): value for name, value in response.headers.items()},
        http_version=response.http_version,
        time=head_time,
    )


class _Budget:
    """The check's time: ``timeout`` for each silence, ``deadline`` for everything.

    Each request gets a read timeout of at most the time left, so that no wait goes
    past the deadline (``time.perf_counter()`` based, like every time of the probe).
    """

    def __init__(self, timeout: float, max_time: float) -> None:
        self.read = timeout
        self.deadline = time.perf_counter() + max_time

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def expired(self) -> bool:
        return self.left() <= 0

    def timeout(self) -> Any:
        import httpx

        read = max(0.001, min(self.read, self.left()))
        return httpx.Timeout(read, connect=min(read, 10.0))


def _read_excerpt(response: Any, budget: _Budget | None = None) -> bytes:
    """Up to :data:`BODY_EXCERPT_BYTES` of the decoded body; the rest is left unread,
    as is anything still coming when the budget's deadline passes."""
    body = bytearray()
    for data in response.iter_bytes():
        body += data
        if len(body) >= BODY_EXCERPT_BYTES or (budget is not None and budget.expired()):
            break
    return bytes(body[:BODY_EXCERPT_BYTES])


def _request(
    client: Any,
    method: str,
    url: str,
    secrets: Sequence[str] = (),
    budget: _Budget | None = None,
    **kwargs: Any,
) -> Exchange:
    """Send one request and read (an excerpt of) its body; failures become ``error``."""
    import httpx

    if budget is not None:
        kwargs["timeout"] = budget.timeout()
    request = client.build_request(method, url, **kwargs)
    started = time.perf_counter()
    try:
        response = client.send(request, stream=True)
        try:
            head = _head(method, url, response, time.perf_counter() - started)
            body = _read_excerpt(response, budget)
        finally:
            response.close()
    except httpx.HTTPError as exc:
        return Exchange(
            method=method,
            url=redact_url(url),
            time=None,
            error=_describe(exc, secrets),
            error_kind=_error_kind(exc),
        )
    return Exchange(
        method=method,
        url=redact_url(url),
        status=head.status,
        headers=head.headers,
        http_version=head.http_version,
        time=time.perf_counter() - started,
        body=body,
    )


def _stream(
    client: Any,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    *,
    run: str,
    observer: CheckObserver,
    secrets: Sequence[str] = (),
    budget: _Budget | None = None,
    api: str = "chat",
) -> StreamRecord:
    """One streaming request, every read and chunk (or Responses event) timed from
    sending it."""
    import httpx

    accept_encoding = RUNS[run]
    request = client.build_request(
        "POST",
        url,
        json=body,
        headers={**headers, "Accept": "text/event-stream", "Accept-Encoding": accept_encoding},
        **({"timeout": budget.timeout()} if budget is not None else {}),
    )
    started = time.perf_counter()
    try:
        response = client.send(request, stream=True)
    except httpx.HTTPError as exc:
        exchange = Exchange(
            method="POST",
            url=redact_url(url),
            error=_describe(exc, secrets),
            error_kind=_error_kind(exc),
        )
        return StreamRecord(run=run, accept_encoding=accept_encoding, exchange=exchange, api=api)
    head_time = time.perf_counter() - started
    exchange = _head("POST", url, response, head_time)
    tap: _ReadTap | None = None
    try:
        if _refused_head(response.status_code, exchange.headers, exchange.content_type):
            excerpt = _read_excerpt(response)
            return StreamRecord(
                run=run,
                accept_encoding=accept_encoding,
                exchange=Exchange(
                    method="POST",
                    url=redact_url(url),
                    status=exchange.status,
                    headers=exchange.headers,
                    http_version=exchange.http_version,
                    time=head_time,
                    body=excerpt,
                ),
                end_time=time.perf_counter() - started,
                api=api,
            )

        def on_chunk(chunk: ChatCompletionChunk) -> None:
            for choice in chunk.choices:
                if choice.index in (0, None):
                    delta = choice.delta
                    reasoning = delta.reasoning_content
                    if reasoning:
                        observer.text(run, "reasoning", reasoning)
                    if delta.content:
                        observer.text(run, "content", delta.content)

        def on_event(event: ResponseStreamEvent) -> None:
            kind = _RESPONSES_TEXT.get(event.type)
            delta = event.get("delta")
            if kind is not None and isinstance(delta, str) and delta:
                observer.text(run, kind, delta)

        feeder: _StreamFeeder[Any] = (
            _ResponsesFeeder(on_event) if api == "responses" else _Feeder(on_chunk)
        )
        decoder = body_decoder(exchange.headers.get("content-encoding", ""))
        tap = _ReadTap(response, started, head_time)
        decode_error = None
        transport_error = None
        timed_out = False
        stopped = None
        end_time = None
        if decoder is None:
            decode_error = (
                f"Content-Encoding {exchange.headers.get('content-encoding')!r} was not "
                f"asked for (Accept-Encoding: {accept_encoding}) and cannot be decoded"
            )
        else:
            index = -1
            try:
                for piece in response.iter_raw():
                    index = tap.attribute(len(piece), time.perf_counter() - started)
                    at = tap.reads[index].time
                    try:
                        data = decoder.decompress(piece)
                    except zlib.error as exc:
                        decode_error = f"the compressed body is corrupt: {exc}"
                        break
                    feeder.feed(data, index, at)
                    if feeder.finished:
                        end_time = at
                        break
                    stopped = _limit_reached(feeder, tap, budget)
                    if stopped is not None:
                        break
                else:
                    end_time = time.perf_counter() - started
                    at = tap.reads[index].time if index >= 0 else end_time
                    feeder.feed(decoder.flush(), index, at)
                    feeder.eof(index, at)
            except httpx.TimeoutException as exc:
                if budget is not None and budget.expired():
                    stopped = "max_time"  # the deadline, not a silence of --timeout
                else:
                    timed_out = True
                    transport_error = _describe(exc, secrets)
            except httpx.TransportError as exc:
                transport_error = _describe(exc, secrets)
        if end_time is None:
            end_time = time.perf_counter() - started
        tap.remove()
        return StreamRecord(
            run=run,
            accept_encoding=accept_encoding,
            exchange=exchange,
            reads=tuple(tap.reads),
            reads_source=tap.source,
            chunks=tuple(feeder.chunks),
            done=feeder.done,
            streamed=feeder.streamed,
            stream_error=feeder.error,
            transport_error=transport_error,
            timed_out=timed_out,
            decode_error=decode_error,
            stopped=stopped,
            api=api,
            event_reads=len(feeder.event_reads),
            end_time=end_time,
        )
    finally:
        if tap is not None:
            tap.remove()
        response.close()


_RESPONSES_TEXT = {
    "response.output_text.delta": "content",
    "response.reasoning_text.delta": "reasoning",
    "response.reasoning_summary_text.delta": "reasoning",
}
"""The Responses deltas the live view shows, and their kind."""


def _limit_reached(feeder: _StreamFeeder[Any], tap: _ReadTap, budget: _Budget | None) -> str | None:
    """Why the probe must stop reading a stream that has not ended, or ``None``."""
    if budget is not None and budget.expired():
        return "max_time"
    if len(feeder.chunks) >= MAX_CHUNKS:
        return "max_chunks"
    if len(tap.reads) >= MAX_READS:
        return "max_reads"
    return None


def _refused_head(status: int, headers: Mapping[str, str], media: str) -> bool:
    """Whether a streaming response's head means "no stream: read the body as an error".

    The rule is :class:`ChatStreamParser`'s (``receive_head``: a status >= 400, or a
    Content-Type that is neither an event stream nor JSON), so the check refuses what a
    client refuses, plus two cases only a probe sees: a redirect (3xx: the probe does
    not follow them, to report a wrong base URL) and, among the Content-Types a client
    refuses, only ``text/html`` (a web page where the API should be). Any other refused
    Content-Type on a 2xx is still read as a stream, to report what it carries
    (``bad_content_type``) rather than only that it was refused.
    """
    if 300 <= status < 400:
        return True
    if not ChatStreamParser().receive_head(status, headers):
        return False
    return status >= 400 or media == "text/html"


def _refused(exchange: Exchange) -> bool:
    return refusal_problem(exchange, what="", key_env="", key_set=False) is not None


def probe(
    base_url: str,
    model: str,
    *,
    api_key: str | None = None,
    api_key_env: str = "OPENAI_API_KEY",
    timeout: float = 60.0,
    max_time: float = DEFAULT_MAX_TIME,
    prompt: str = DEFAULT_PROMPT,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    observer: CheckObserver | None = None,
    client: Any = None,
    api: str = "chat",
) -> CheckData:
    """Run the requests of the check against a live endpoint and record what happened.

    Sends ``GET {base_url}/models``, a normal chat request, then the streaming request
    with ``Accept-Encoding: identity`` and with ``gzip, deflate``; stops after the first
    request that gets no usable answer. Never raises for what the server does: failures
    are recorded (see :class:`Exchange` and :class:`StreamRecord`).

    Args:
        base_url: the API root, e.g. ``"https://api.openai.com/v1"``.
        model: the model to ask.
        api_key: sent as ``Authorization: Bearer``; ``None`` or blank sends no key.
            Surrounding whitespace is stripped (a key read from a CRLF ``.env`` file ends
            in ``\\r``). Never recorded: every URL and error message in the result has
            it, the URL's userinfo and any quoted header value redacted.
        api_key_env: the variable the key came from (for the hints).
        timeout: seconds: the read timeout (the longest silence accepted) and, capped
            at 10 s, the connect timeout.
        max_time: seconds: the deadline of the whole check. A request still running
            then is cut short (a stream gets ``stopped="max_time"``, reported as
            ``too_long``) and no further request is sent; every read timeout is capped
            by the time left. A stream also stops after :data:`MAX_CHUNKS` chunks or
            :data:`MAX_READS` reads, so memory stays bounded.
        prompt, max_tokens: the chat request. A server that rejects ``max_tokens``
            with a 400 naming ``max_completion_tokens`` gets that instead.
        observer: receives the progress (live view); ``None`` for none.
        client: an ``httpx.Client`` to use (not closed); by default one is made and
            closed, without following redirects.
        api: ``"chat"`` (``POST {base_url}/chat/completions``) or ``"responses"``
            (``POST {base_url}/responses``, OpenAI's Responses API: ``input`` is the
            prompt, ``max_output_tokens`` the limit, and the stream is read with
            :class:`~ssestream.ResponseStreamParser`).

    Raises:
        ValueError: ``api`` is neither ``"chat"`` nor ``"responses"``.
    """
    if api not in ("chat", "responses"):
        raise ValueError(f"api must be 'chat' or 'responses', not {api!r}")
    import httpx

    observer = observer or CheckObserver()
    budget = _Budget(timeout, max_time)
    base_url = base_url.rstrip("/")
    headers = {"User-Agent": "ssestream-check"}
    api_key = api_key.strip() if api_key else None
    secrets = (api_key,) if api_key else ()
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    own = client is None
    if own:
        client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)), follow_redirects=False
        )
    data = CheckData(
        base_url=redact_url(base_url),
        model=model,
        api=api,
        api_key_env=api_key_env,
        api_key_set=bool(api_key),
    )
    try:
        url = f"{base_url}/models"
        observer.request("discovery", f"GET {redact_url(url)}")
        discovery = _request(
            client, "GET", url, secrets, budget, headers={**headers, "Accept": "application/json"}
        )
        observer.response("discovery", discovery, None)
        data = _replace(data, discovery=discovery)
        if discovery.error is not None:
            return data
        url = f"{base_url}/{'responses' if api == 'responses' else 'chat/completions'}"
        body: dict[str, Any] = (
            {"model": model, "input": prompt, "max_output_tokens": max_tokens}
            if api == "responses"
            else {
                "model": model,
                "messages": [{"role": "user", "content": prompt}],
                "max_tokens": max_tokens,
            }
        )
        shown = redact_url(url)
        observer.request("non_streaming", f"POST {shown} (stream: false)")
        options: dict[str, Any] = {"headers": headers}
        normal = _request(
            client, "POST", url, secrets, budget, json={**body, "stream": False}, **options
        )
        if api == "chat" and normal.status == 400 and b"max_completion_tokens" in normal.body:
            body["max_completion_tokens"] = body.pop("max_tokens")
            normal = _request(
                client, "POST", url, secrets, budget, json={**body, "stream": False}, **options
            )
        observer.response("non_streaming", normal, None)
        data = _replace(data, non_streaming=normal)
        if _refused(normal):
            return data
        streaming: dict[str, Any] = {**body, "stream": True}
        if api == "chat":
            streaming["stream_options"] = {"include_usage": True}
        records: list[StreamRecord] = []
        for run, accept_encoding in RUNS.items():
            if budget.expired():
                break
            observer.request(
                run, f"POST {shown} (stream: true, Accept-Encoding: {accept_encoding})"
            )
            record = _stream(
                client,
                url,
                streaming,
                headers,
                run=run,
                observer=observer,
                secrets=secrets,
                budget=budget,
                api=api,
            )
            records.append(record)
            observer.response(run, record.exchange, record)
            if _refused(record.exchange):
                break
        return _replace(data, streams=tuple(records))
    finally:
        if own:
            client.close()


def _replace(data: CheckData, **changes: Any) -> CheckData:
    fields = {name: getattr(data, name) for name in CheckData.__dataclass_fields__}
    return CheckData(**{**fields, **changes})
