"""Re-emit a stream as ``text/event-stream`` bytes: the gateway side of a stream.

A gateway (a proxy, a backend-for-frontend) reads an upstream stream and sends it on to
a browser or another client. :class:`Relay` turns any async iterable of chunks (an
:class:`~ssestream.AsyncChatStream`, or chunks of your own) into the bytes of an
OpenAI-compatible stream, for Starlette's / FastAPI's ``StreamingResponse``; an
:class:`~ssestream.AsyncResponseStream` (or Responses events of your own) likewise,
each event named by its type, no ``[DONE]``, errors as the Responses ``error`` event,
and the :class:`~ssestream.Response` rebuilt instead of the completion. For chat:

* every chunk as OpenAI writes it (:func:`~ssestream.encode_chunk`), after an optional
  per-chunk transform, and ``data: [DONE]`` at the end;
* an upstream :class:`~ssestream.SSEStreamError` re-emitted as OpenAI's in-stream error
  event, ``data: {"error": {"message", "type", "param", "code"}}``, and no ``[DONE]``:
  a downstream :class:`~ssestream.ChatStream` raises :class:`~ssestream.StreamAPIError`
  with the same message, type, code and param;
* a keep-alive comment (``: keep-alive``) whenever upstream has been quiet for
  ``keepalive`` seconds, so that proxies and browsers do not time the connection out
  (comments are ignored by every SSE reader, WHATWG HTML 9.2.6);
* the completion rebuilt from the upstream chunks, for logging and billing.

Strategy: without keep-alives the relay is a plain loop. With them, one task reads
upstream and one sleeps until upstream has been quiet for ``keepalive`` seconds; both
hand their item to the body generator through an unbuffered anyio memory stream, so
no read of upstream is ever cancelled by a timer (a cancelled read breaks the
upstream connection) and upstream is read at most one chunk ahead of the client. It
runs on asyncio and trio (anyio).

The body generator holds a task group, so it must be closed in the task that iterates
it: :meth:`Relay.response` builds a ``StreamingResponse`` that does so when the client
goes away (Starlette's own leaves the generator open, to be finalised later from another
task).
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Mapping
from contextlib import aclosing
from typing import Any, TypeAlias

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from ._accumulator import ChatCompletionAccumulator
from ._encoder import _DUMPS, DONE, encode_chunk, encode_event, encode_response_event
from ._exceptions import (
    APIStatusError,
    ChunkParseError,
    LimitExceededError,
    SSEStreamError,
    StreamAPIError,
    StreamInterruptedError,
    UnexpectedContentTypeError,
)
from ._parser import NEED_DATA
from ._responses_parser import ResponseStreamParser
from ._responses_streams import AsyncResponseStream
from ._responses_types import Response, ResponseStreamEvent
from ._types import ChatCompletion, ChatCompletionChunk

__all__ = ["Relay", "relay_headers"]

Chunk: TypeAlias = "ChatCompletionChunk | ResponseStreamEvent | Mapping[str, Any]"

KEEPALIVE = encode_event(comment="keep-alive")

# The ``code`` of the error event for upstream errors that carry none of their own.
_ERROR_CODES: dict[type[SSEStreamError], str] = {
    StreamInterruptedError: "stream_interrupted",
    ChunkParseError: "invalid_chunk",
    LimitExceededError: "limit_exceeded",
    UnexpectedContentTypeError: "unexpected_content_type",
    APIStatusError: "upstream_status",
}

# What the reader and the keep-alive timer hand to the body generator.
_CHUNK, _PING, _END, _ERROR, _FAILURE = range(5)


def relay_headers(headers: Mapping[str, str] | None = None) -> dict[str, str]:
    """The response headers of a relayed event stream, with ``headers`` added.

    * ``Content-Type: text/event-stream; charset=utf-8`` (WHATWG HTML 9.2; what OpenAI
      sends);
    * ``Cache-Control: no-cache``: no cache may store or delay the stream;
    * ``X-Accel-Buffering: no``: nginx (and the proxies that follow its convention)
      passes each write on at once instead of buffering the response, which would
      deliver the whole stream at its end.

    Keys of ``headers`` replace these (compared case-insensitively).
    """
    result = {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",
    }
    if headers:
        replaced = {key.lower() for key in headers}
        result = {k: v for k, v in result.items() if k.lower() not in replaced}
        result.update(headers)
    return result


def _error_fields(error: SSEStreamError) -> dict[str, Any]:
    """The fields of OpenAI's error object for an upstream error: ``message``,
    ``type``, ``param``, ``code`` (API reference, "Errors").

    A :class:`StreamAPIError` keeps its own fields; other errors (the upstream
    connection broke, a chunk was not JSON...) get ``type: "server_error"`` and a
    ``code`` naming what happened (``stream_interrupted``, ``invalid_chunk``,
    ``limit_exceeded``, ``unexpected_content_type``, ``upstream_status``, else
    ``upstream_error``), unless they carry their own.
    """
    error_type = getattr(error, "error_type", None)
    code = getattr(error, "code", None)
    if not isinstance(error, StreamAPIError):
        error_type = error_type or "server_error"
        code = code or next(
            (c for kind, c in _ERROR_CODES.items() if isinstance(error, kind)), "upstream_error"
        )
    return {
        "message": error.message,
        "type": error_type,
        "param": getattr(error, "param", None),
        "code": code,
    }


class _ChatWire:
    """What a chat relay writes: chunks as ``data:`` lines, ``[DONE]`` at the end, the
    error as ``data: {"error": {...}}``; the completion rebuilt from the chunks."""

    end = DONE
    encode = staticmethod(encode_chunk)

    def __init__(self) -> None:
        self.accumulator = ChatCompletionAccumulator()
        self.add = self.accumulator.add

    @staticmethod
    def error(error: SSEStreamError) -> bytes:
        return encode_chunk({"error": _error_fields(error)})


class _ResponsesWire:
    """What a Responses relay writes: each event named by its ``type``, no end marker
    (OpenAI sends none), the error as the Responses ``error`` event (``type``,
    ``code``, ``message``, ``param``: API reference, "Streaming events"). The response
    is rebuilt by a :class:`ResponseStreamParser` fed the events as they are relayed,
    so the relay states exactly what a client rebuilds from them."""

    end = None
    encode = staticmethod(encode_response_event)

    def __init__(self) -> None:
        self.parser = ResponseStreamParser(max_line_bytes=None, max_event_bytes=None)

    def add(self, event: Any) -> bytes:
        """Rebuild from ``event``; return its encoding, which the relay sends when no
        transform changes the event (one encoding per event)."""
        data = encode_response_event(event)
        parser = self.parser
        parser.receive_data(data)
        if parser.next_event() is NEED_DATA and _type(event) == "error":
            # An error event of the caller's own iterable: raised now (the parser waits
            # for the event after it), and relayed as the relay's own error event.
            parser.receive_eof()
            parser.next_event()
        return data

    def error(self, error: SSEStreamError) -> bytes:
        """The ``error`` event, then, if upstream's response had failed (OpenAI's
        ``error`` then ``response.failed``), a ``response.failed`` with it; both go
        into the rebuilt response too."""
        fields = _error_fields(error)
        data = encode_event(
            _DUMPS({"type": "error", **{k: fields[k] for k in ("code", "message", "param")}}),
            event="error",
        )
        partial = getattr(error, "partial_response", None)
        if isinstance(partial, Response) and partial.status == "failed":
            data += encode_response_event(
                {"type": "response.failed", "response": partial.to_dict()}
            )
        parser = self.parser
        parser.receive_data(data)
        parser.receive_eof()
        with contextlib.suppress(SSEStreamError):
            parser.next_event()  # raises the error: the rebuild has ended with it
        return data


def _type(event: Any) -> Any:
    return event.get("type") if isinstance(event, Mapping) else getattr(event, "type", None)


class Relay:
    """Relay a chat or Responses stream as ``text/event-stream`` bytes, for
    ``StreamingResponse``.

    Iterate it (``async for data in relay``), or hand it to Starlette / FastAPI::

        async def chat(request):
            upstream = AsyncChatStream(await client.send(upstream_request, stream=True))
            relay = Relay(upstream)
            return relay.response()  # or StreamingResponse(relay, headers=relay_headers())

    It yields each chunk as OpenAI writes it, ``data: [DONE]`` at the end, OpenAI's
    error event instead if upstream raises a :class:`~ssestream.SSEStreamError` (then
    no ``[DONE]``), and ``: keep-alive`` comments while upstream is quiet. Anything else
    upstream raises (a bug, an exception of your iterable) propagates: the response then
    breaks off, and the client sees an interrupted stream. When the relay ends, early
    or not, it closes upstream (its ``aclose()``, if it has one).

    Open upstream before you build the response: an error status from upstream is then
    an exception you can turn into a proper HTTP status, instead of an error event
    after a 200.

    A Responses API stream (``chunks`` an :class:`~ssestream.AsyncResponseStream`, or
    ``api="responses"``) is relayed as OpenAI sends one: each event as ``event: <type>``
    and ``data: <JSON>`` (:func:`~ssestream.encode_response_event`), no ``[DONE]``,
    and an upstream error as the Responses ``error`` event, which a downstream
    :class:`~ssestream.ResponseStream` raises as the same
    :class:`~ssestream.StreamAPIError`. :attr:`snapshot` is then the
    :class:`~ssestream.Response` rebuilt from the relayed events.

    Args:
        chunks: the upstream chunks: an :class:`~ssestream.AsyncChatStream`, or any async
            iterable of :class:`~ssestream.ChatCompletionChunk` or payload ``dict``; or
            the upstream Responses events: an :class:`~ssestream.AsyncResponseStream`,
            or any async iterable of :class:`~ssestream.ResponseStreamEvent` or payload
            ``dict`` (with ``api="responses"``).
        api: ``"chat"`` or ``"responses"``; ``None`` (the default): ``"responses"``
            for an :class:`~ssestream.AsyncResponseStream`, else ``"chat"``.
        keepalive: seconds of upstream silence after which a keep-alive comment is
            sent (and again after each further ``keepalive`` seconds); ``None``: never.
            Default 15.
        transform: called with each chunk (as upstream gave it) before it is sent;
            returns the chunk to send (a ``ChatCompletionChunk`` or a ``dict``) or
            ``None`` to send nothing. It must not mutate its argument (it is also what
            :attr:`completion` is built from); build a new ``dict`` instead.

    Attributes:
        completion: the :class:`~ssestream.ChatCompletion` rebuilt from the upstream
            chunks (before ``transform``), readable during and after the stream: the
            usage for billing, the content for logs. After an upstream error it holds
            everything before the error. (A chat relay's.)
        snapshot: a Responses relay's :class:`~ssestream.Response`, rebuilt likewise
            from the upstream events.
        error: the upstream :class:`~ssestream.SSEStreamError` that was re-emitted as
            an error event, or ``None``.
        done: whether the stream ended normally: ``data: [DONE]`` was sent (chat), or
            upstream ended without an error (Responses).

    Raises:
        RuntimeError: the relay is iterated a second time; ``completion`` of a
            Responses relay, ``snapshot`` of a chat relay.
        ValueError: ``keepalive`` is not a positive number of seconds, or ``api`` is
            neither ``"chat"`` nor ``"responses"``.
    """

    def __init__(
        self,
        chunks: AsyncIterable[Chunk],
        *,
        keepalive: float | None = 15.0,
        transform: Callable[[Chunk], Chunk | None] | None = None,
        api: str | None = None,
    ) -> None:
        if keepalive is not None and not (keepalive > 0 and math.isfinite(keepalive)):
            raise ValueError(f"keepalive must be a positive number of seconds, not {keepalive}")
        if api is None:
            api = "responses" if isinstance(chunks, AsyncResponseStream) else "chat"
        if api not in ("chat", "responses"):
            raise ValueError(f'api must be "chat" or "responses", not {api!r}')
        self._chunks = chunks
        self._keepalive = keepalive
        self._transform = transform
        self._wire: _ChatWire | _ResponsesWire = _ChatWire() if api == "chat" else _ResponsesWire()
        self._body: AsyncGenerator[bytes, None] | None = None
        self._quiet_since = 0.0
        self.error: SSEStreamError | None = None
        self.done = False

    @property
    def completion(self) -> ChatCompletion:
        """The completion rebuilt from the upstream chunks so far (see the class)."""
        wire = self._wire
        if not isinstance(wire, _ChatWire):
            raise RuntimeError("a Responses relay has no completion: read its .snapshot")
        return wire.accumulator.completion

    @property
    def snapshot(self) -> Response:
        """The response rebuilt from the upstream Responses events so far (see the class)."""
        wire = self._wire
        if not isinstance(wire, _ResponsesWire):
            raise RuntimeError("a chat relay has no Response: read its .completion")
        return wire.parser.snapshot

    def __aiter__(self) -> AsyncGenerator[bytes, None]:
        if self._body is not None:
            raise RuntimeError("a Relay can be iterated only once")
        self._body = self._run()
        return self._body

    async def aclose(self) -> None:
        """Stop: close the body generator and upstream. Safe to call more than once.

        Call it from the task that iterated the relay (the body holds a task group).
        """
        if self._body is None:
            self._body = self._run()  # never started: closing it runs nothing
            await _close(self._chunks)
        await self._body.aclose()

    def response(
        self,
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        background: Any = None,
    ) -> Any:
        """A Starlette ``StreamingResponse`` of this relay (FastAPI accepts it too).

        Its headers are :func:`relay_headers` with ``headers`` added. Unlike a plain
        ``StreamingResponse(relay)``, it closes the relay, and so upstream, in the task
        that iterated it, as soon as the client goes away. Needs Starlette (the ``cli``
        extra, or FastAPI).
        """
        response_class = _response_class()
        return response_class(
            self, status_code=status_code, headers=relay_headers(headers), background=background
        )

    # -- the body ---------------------------------------------------------------------

    def _encode(self, chunk: Any) -> bytes | None:
        data = self._wire.add(chunk)  # the Responses wire's encoding of the chunk, if any
        if self._transform is not None:
            chunk = self._transform(chunk)
            if chunk is None:
                return None
            data = None
        return data if data is not None else self._wire.encode(chunk)

    async def _run(self) -> AsyncGenerator[bytes, None]:
        try:
            if self._keepalive is None:
                try:
                    async for chunk in self._chunks:
                        data = self._encode(chunk)
                        if data is not None:
                            yield data
                except SSEStreamError as exc:
                    self.error = exc
            else:
                # aclosing: closing this generator closes the inner one in this task.
                async with aclosing(self._run_with_keepalive(self._keepalive)) as body:
                    async for data in body:
                        yield data
            if self.error is not None:
                yield self._wire.error(self.error)
            else:
                self.done = True
                if self._wire.end is not None:
                    yield self._wire.end
        finally:
            await _close(self._chunks)

    async def _run_with_keepalive(self, keepalive: float) -> AsyncGenerator[bytes, None]:
        send, receive = anyio.create_memory_object_stream[tuple[int, Any]](0)
        self._quiet_since = anyio.current_time()
        # An exception raised inside the task group would reach the caller wrapped in an
        # ExceptionGroup (GeneratorExit too): it is kept, and acted on once the group
        # has ended.
        failure: Exception | None = None
        closing = False
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._read, send.clone())
            tasks.start_soon(self._ping, send, keepalive)
            try:
                async with receive:
                    while True:
                        kind, item = await receive.receive()
                        if kind == _CHUNK:
                            data = self._encode(item)
                            if data is not None:
                                yield data
                        elif kind == _PING:
                            yield KEEPALIVE
                        elif kind == _ERROR:
                            self.error = item
                            break
                        elif kind == _FAILURE:
                            failure = item
                            break
                        else:
                            break
            except Exception as exc:  # the transform's, or the accumulator's
                failure = exc
            except GeneratorExit:  # closed at a yield: end the group, then stop
                closing = True
            finally:
                tasks.cancel_scope.cancel()
        if failure is not None:
            raise failure
        if closing:
            return

    async def _read(self, send: MemoryObjectSendStream[tuple[int, Any]]) -> None:
        async with send:
            item: tuple[int, Any] = (_END, None)
            try:
                async for chunk in self._chunks:
                    self._quiet_since = anyio.current_time()
                    if not await _hand_over(send, (_CHUNK, chunk)):
                        return
            except SSEStreamError as exc:
                item = (_ERROR, exc)
            except Exception as exc:  # re-raised by the body, where the caller sees it
                item = (_FAILURE, exc)
            await _hand_over(send, item)

    async def _ping(self, send: MemoryObjectSendStream[tuple[int, Any]], keepalive: float) -> None:
        async with send:
            while True:
                await anyio.sleep_until(self._quiet_since + keepalive)
                if anyio.current_time() >= self._quiet_since + keepalive:
                    if not await _hand_over(send, (_PING, None)):
                        return
                    self._quiet_since = anyio.current_time()


async def _hand_over(send: MemoryObjectSendStream[tuple[int, Any]], item: tuple[int, Any]) -> bool:
    """Give ``item`` to the body; False if the body has stopped listening (it ended
    between two items, before cancelling this task)."""
    try:
        await send.send(item)
    except anyio.BrokenResourceError:
        return False
    return True


async def _close(chunks: Any) -> None:
    """Close upstream, even while being cancelled."""
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        with anyio.CancelScope(shield=True):
            await aclose()


@functools.cache
def _response_class() -> type[Any]:
    from starlette.responses import StreamingResponse
    from starlette.types import Send

    class RelayResponse(StreamingResponse):
        """A ``StreamingResponse`` that closes its :class:`Relay` in the iterating task."""

        async def stream_response(self, send: Send) -> None:
            try:
                await super().stream_response(send)
            finally:
                body = self.body_iterator
                assert isinstance(body, Relay)
                with anyio.CancelScope(shield=True):
                    await body.aclose()

    return RelayResponse
