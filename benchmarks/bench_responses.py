"""Time a Responses API stream, bytes -> typed events -> the final Response, against the
openai SDK's own helper on the same bytes.

Same method as ``bench_parse.py`` (whose ``measure`` runs the rounds): every competitor
reads the same bytes cut into the same reads, rounds interleaved with a rotating order, CPU
time (``time.process_time``) per sample; reported are the median, its ratio to the floor's
and the spread (interquartile range / median).

Streams:

* ``text``: 2,000 ``response.output_text.delta`` events shaped as OpenAI sends them
  (``obfuscation``, ``logprobs: []``, ``sequence_number``), framed with ``event:`` lines,
  between the usual created / item / part events and a ``response.completed`` carrying the
  whole text;
* ``real recordings``: the files of ``tests/fixtures/responses`` that the SDK's helper
  reads to the end (34 of 39; it raises on the other five, see ``tests/test_responses.py``).

Competitors:

  floor                    split the body into lines, ``json.loads`` each data line
                           (the least work any reader must do; every recording here has
                           one data line per event)
  openai SDK full path     ``openai.Stream`` of ``ResponseStreamEvent`` over an
                           ``httpx2.Response`` (the SDK's client), each event fed to
                           ``ResponseStreamState.handle_event`` (what
                           ``client.responses.stream(...)`` does), then the final response
  ssestream parser         ``ResponseStreamParser`` over the reads, then ``.snapshot``
  ssestream ResponseStream (bytes)   the sync twin over the reads (an iterable)
  ssestream ResponseStream (httpx)   the sync twin over an ``httpx.Response``
  ssestream events() (bytes)         ``stream.events()``: the chat event records too, and
                                     the ChatCompletion they add up to

Run:  python benchmarks/bench_responses.py [--rounds N] [--reads 7,64,4096]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_parse  # noqa: E402

import ssestream  # noqa: E402

FIXTURES = HERE.parent / "tests" / "fixtures" / "responses"
# The SDK's helper raises on these (tests/test_responses.py names each failure).
SDK_FAILS = {
    "langchain-openai-gpt-4o-mini-incomplete.sse",
    "pydantic-ai-openai-background-resume-starting-after.sse",
    "vercel-ai-github-copilot-id-rotation.sse",
    "aibridge-handwritten-error-event.sse",
    "vercel-ai-openai-error-insufficient-quota.sse",
}


def _event(payload: dict[str, Any]) -> bytes:
    return f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n".encode()


def text_stream(n: int = 2000) -> bytes:
    """A Responses text stream of ``n`` deltas, shaped and framed as OpenAI sends it."""
    response = {
        "id": "resp_bench",
        "object": "response",
        "created_at": 1782321657,
        "status": "in_progress",
        "model": "gpt-4o-2024-08-06",
        "output": [],
        "usage": None,
    }
    item = {"id": "msg_bench", "type": "message", "status": "in_progress", "role": "assistant"}
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    words = [f" word{i % 97}" for i in range(n)]
    text = "".join(words)
    seq = iter(range(1 << 30))
    where = {"item_id": "msg_bench", "output_index": 0, "content_index": 0}
    out = [
        _event({"type": "response.created", "response": response, "sequence_number": next(seq)}),
        _event(
            {
                "type": "response.output_item.added",
                "item": {**item, "content": []},
                "output_index": 0,
                "sequence_number": next(seq),
            }
        ),
        _event(
            {
                "type": "response.content_part.added",
                **where,
                "part": part,
                "sequence_number": next(seq),
            }
        ),
    ]
    out.extend(
        _event(
            {
                "type": "response.output_text.delta",
                **where,
                "delta": word,
                "logprobs": [],
                "obfuscation": "MWsYL9iUMgwoT",
                "sequence_number": next(seq),
            }
        )
        for word in words
    )
    done_part = {**part, "text": text}
    done_item = {**item, "status": "completed", "content": [done_part]}
    out += [
        _event(
            {
                "type": "response.output_text.done",
                **where,
                "text": text,
                "logprobs": [],
                "sequence_number": next(seq),
            }
        ),
        _event(
            {
                "type": "response.content_part.done",
                **where,
                "part": done_part,
                "sequence_number": next(seq),
            }
        ),
        _event(
            {
                "type": "response.output_item.done",
                "item": done_item,
                "output_index": 0,
                "sequence_number": next(seq),
            }
        ),
        _event(
            {
                "type": "response.completed",
                "response": {
                    **response,
                    "status": "completed",
                    "output": [done_item],
                    "usage": {"input_tokens": 9, "output_tokens": n, "total_tokens": n + 9},
                },
                "sequence_number": next(seq),
            }
        ),
    ]
    return b"".join(out)


def recordings() -> list[bytes]:
    return [
        path.read_bytes() for path in sorted(FIXTURES.glob("*.sse")) if path.name not in SDK_FAILS
    ]


# --------------------------------------------------------------------------- competitors


def floor(pieces: list[bytes]) -> Any:
    loads = json.loads
    body = b"".join(pieces)
    return [loads(line[6:]) for line in body.split(b"\n") if line.startswith(b"data: {")]


def openai_full(pieces: list[bytes]) -> Any:
    import httpx2
    import openai
    from openai import omit
    from openai.lib.streaming.responses import ResponseStreamState
    from openai.types.responses import ResponseStreamEvent

    class Pieces(httpx2.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            return iter(pieces)

    response = httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=Pieces())
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=omit, text_format=omit)
    stream = openai.Stream(
        cast_to=ResponseStreamEvent,  # type: ignore[arg-type]
        response=response,
        client=bench_parse._openai_client(),
    )
    final = None
    for event in stream:
        for handled in state.handle_event(event):
            if handled.type == "response.completed":
                final = handled.response
    return final


def ssestream_parser(pieces: list[bytes]) -> Any:
    parser = ssestream.ResponseStreamParser()
    next_event = parser.next_event
    need, end = ssestream.NEED_DATA, ssestream.END
    for piece in pieces:
        if parser.receive_data(piece):
            while (item := next_event()) is not need:
                if item is end:
                    return parser.snapshot
    parser.receive_eof()
    while next_event() is not end:
        pass
    return parser.snapshot


def ssestream_stream(pieces: list[bytes]) -> Any:
    stream = ssestream.ResponseStream(pieces)
    for _ in stream:
        pass
    return stream.snapshot


def ssestream_httpx(pieces: list[bytes]) -> Any:
    with ssestream.ResponseStream(bench_parse.httpx_response(pieces)) as stream:
        for _ in stream:
            pass
    return stream.snapshot


def ssestream_events(pieces: list[bytes]) -> Any:
    events = list(ssestream.ResponseStream(pieces).events())
    return events[-1].response  # StreamEnded: the Response, beside the ChatCompletion


COMPETITORS = {
    "floor": floor,
    "openai SDK full path": openai_full,
    "ssestream parser": ssestream_parser,
    "ssestream ResponseStream (bytes)": ssestream_stream,
    "ssestream ResponseStream (httpx)": ssestream_httpx,
    "ssestream events() (bytes)": ssestream_events,
}


def check_agreement(bodies: list[bytes]) -> None:
    """Both readers must give the same final output text before anything is timed."""
    for body in bodies:
        sdk = openai_full([body])
        ours = ssestream_parser([body])
        if sdk is None or sdk.output_text != ours.output_text:
            raise SystemExit(f"the readers disagree on {body[:200]!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--reads", default="7,64,4096")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.reads.split(",")]
    streams = {"text (2,000 deltas)": [text_stream()], "real recordings (34 files)": recordings()}
    print("| stream | read bytes | competitor | median ms | x floor | spread |")
    print("|---|---:|---|---:|---:|---:|")
    for name, bodies in streams.items():
        check_agreement(bodies)
        for size in sizes:
            split_bodies = [bench_parse.split(body, size) for body in bodies]
            samples = bench_parse.measure(split_bodies, COMPETITORS, args.rounds)
            floor_s = samples["floor"].median
            for competitor, sample in samples.items():
                print(
                    f"| {name} | {size} | {competitor} | {sample.median * 1000:.2f} "
                    f"| {sample.median / floor_s:.2f} | {sample.spread:.2f} |"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
