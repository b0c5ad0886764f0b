"""``ssestream check``: the analysis on synthetic timings, then end to end against ``serve``.

The first half builds :class:`StreamRecord` s by hand (chunk times, which read carried
each chunk, headers) and checks each verdict, including that a uniformly slower stream,
or one read by a slow client, keeps its verdict. The second half runs the command
(``main([...])``) over loopback against :func:`ssestream.testing.running_server` in the
healthy mode and in every fault mode, and against a closed port, a wrong base URL and a
server that refuses the key.
"""

from __future__ import annotations

import inspect
import json
import random
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from ssestream import check as _check
from ssestream.check import (
    CheckData,
    ChunkArrival,
    Exchange,
    NetworkRead,
    StreamError,
    StreamRecord,
    Thresholds,
    analyse,
    probe,
    validate_chunk,
)
from ssestream.check._probe import _refused_head
from ssestream.check._records import RUNS, STREAM_HEADERS
from ssestream.cli import main
from ssestream.cli._check import DEMO_RECORDING

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("rich")

from ssestream.testing import FAULTS, create_app, running_server

RECORDING = Path(__file__).parents[1] / "src/ssestream/_data" / DEMO_RECORDING
BASE = "http://api.test/v1"
SSE = {"content-type": "text/event-stream", "transfer-encoding": "chunked"}


# --------------------------------------------------------------------------- builders


def chunk_payload(
    number: int, *, text: str | None = "w ", finish: str | None = None, usage: bool = False
) -> dict[str, Any]:
    delta: dict[str, Any] = {} if text is None else {"content": text}
    payload: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage:
        payload["usage"] = {
            "prompt_tokens": 10,
            "completion_tokens": number,
            "total_tokens": 10 + number,
        }
    return payload


def stream(
    times: Sequence[float],
    *,
    groups: Sequence[int] | None = None,
    end: float | None = None,
    done: bool = True,
    usage: bool = True,
    finish: bool = True,
    headers: dict[str, str] | None = None,
    run: str = "identity",
    payloads: Sequence[dict[str, Any] | None] | None = None,
    **changes: Any,
) -> StreamRecord:
    """A stream whose chunk ``i`` arrives at ``times[i]``.

    ``groups[i]`` is the read that carried chunk ``i`` (by default one read per distinct
    time). The last chunk has ``finish_reason`` ``stop`` and ``usage`` unless told not to.
    """
    if groups is None:
        distinct = sorted(set(times))
        groups = [distinct.index(t) for t in times]
    reads = [
        NetworkRead(time=max(t for t, g in zip(times, groups, strict=True) if g == read), size=200)
        for read in range(max(groups) + 1)
    ]
    count = len(times)
    if payloads is None:
        payloads = [
            chunk_payload(
                i + 1,
                finish="stop" if finish and i == count - 1 else None,
                usage=usage and i == count - 1,
            )
            for i in range(count)
        ]
    chunks = tuple(
        ChunkArrival(read=g, time=t, payload=p, error=None if p is not None else "not JSON")
        for t, g, p in zip(times, groups, payloads, strict=True)
    )
    accept = RUNS[run]
    return StreamRecord(
        run=run,
        accept_encoding=accept,
        exchange=Exchange(
            method="POST",
            url=f"{BASE}/chat/completions",
            status=200,
            headers=SSE if headers is None else headers,
            http_version="HTTP/1.1",
            time=0.01,
        ),
        reads=tuple(reads),
        chunks=chunks,
        done=done,
        streamed=True,
        end_time=end if end is not None else (times[-1] + 0.001 if times else 0.01),
        **changes,
    )


def completion(seconds: float = 1.0) -> Exchange:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "1 2 3"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 40, "total_tokens": 50},
    }
    return Exchange(
        method="POST",
        url=f"{BASE}/chat/completions",
        status=200,
        headers={"content-type": "application/json"},
        time=seconds,
        body=json.dumps(body).encode(),
    )


def models(
    status: int = 200, body: bytes | None = None, content_type: str = "application/json"
) -> Exchange:
    if body is None:
        body = json.dumps({"object": "list", "data": [{"id": "m", "object": "model"}]}).encode()
    return Exchange(
        method="GET",
        url=f"{BASE}/models",
        status=status,
        headers={"content-type": content_type},
        time=0.01,
        body=body,
    )


def check(*streams: StreamRecord, normal: float = 1.0, **changes: Any) -> CheckData:
    fields: dict[str, Any] = {
        "base_url": BASE,
        "model": "m",
        "discovery": models(),
        "non_streaming": completion(normal),
        "streams": streams,
    }
    fields.update(changes)
    return CheckData(**fields)


def codes(data: CheckData, **thresholds: Any) -> list[str]:
    return [problem.code for problem in analyse(data, Thresholds(**thresholds)).problems]


def paced(
    count: int = 40, *, first: float = 0.3, gap: float = 0.02, jitter: float = 0.0, seed: int = 1
) -> list[float]:
    rng = random.Random(seed)
    times = [first]
    for _ in range(count - 1):
        times.append(times[-1] + gap * (1 + jitter * (rng.random() - 0.5)))
    return times


def scaled(times: Sequence[float], factor: float) -> list[float]:
    return [t * factor for t in times]


# --------------------------------------------------------------------------- pure helpers


def test_a_conforming_chunk_has_no_deviation() -> None:
    assert validate_chunk(chunk_payload(1, usage=True, finish="stop")) == []
    tool = chunk_payload(1, text=None)
    tool["choices"][0]["delta"]["tool_calls"] = [
        {
            "index": 0,
            "id": "call_1",
            "type": "function",
            "function": {"name": "f", "arguments": "{"},
        }
    ]
    assert validate_chunk(tool) == []
    usage_only = chunk_payload(3, usage=True)
    usage_only["choices"] = []
    assert validate_chunk(usage_only) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda p: p.pop("choices"), ("error", "choices is missing")),
        (lambda p: p.update(choices={}), ("error", "choices is a dict, not a list")),
        (
            lambda p: p["choices"][0].update(delta="x"),
            ("error", "choices[0].delta is a str, not an object"),
        ),
        (
            lambda p: p["choices"][0]["delta"].update(content=3),
            ("error", "choices[0].delta.content is a int, not a string"),
        ),
        (
            lambda p: p["choices"][0].update(finish_reason=1),
            ("error", "choices[0].finish_reason is a int, not a string"),
        ),
        (lambda p: p.update(usage=[]), ("error", "usage is a list, not an object")),
        (
            lambda p: p["choices"][0]["delta"].update(tool_calls={}),
            ("error", "choices[0].delta.tool_calls is a dict, not a list"),
        ),
        (lambda p: p.pop("created"), ("warning", "created is missing")),
        (
            lambda p: p.update(object="chat.completion"),
            ("warning", "object is 'chat.completion', not 'chat.completion.chunk'"),
        ),
        (lambda p: p["choices"][0].pop("index"), ("warning", "choices[0].index is missing")),
        (
            lambda p: p["choices"][0].update(finish_reason="eos"),
            ("warning", "choices[0].finish_reason 'eos' is not one of the API's values"),
        ),
        (
            lambda p: p["choices"][0]["delta"].update(content=[{"type": "text", "text": "x"}]),
            ("warning", "choices[0].delta.content is a list of parts, not a string"),
        ),
        (
            lambda p: p["choices"][0]["delta"].update(
                tool_calls=[{"id": "c", "function": {"arguments": ""}}]
            ),
            ("warning", "choices[0].delta.tool_calls[0].index is missing"),
        ),
    ],
)
def test_validate_chunk_names_each_deviation(change: Any, expected: tuple[str, str]) -> None:
    payload = chunk_payload(1)
    change(payload)
    assert validate_chunk(payload) == [expected]


def test_validate_chunk_refuses_a_non_object() -> None:
    assert validate_chunk([1]) == [("error", "the chunk is a JSON list, not an object")]


# --------------------------------------------------------------------------- verdicts


def test_a_paced_stream_works() -> None:
    report = analyse(check(stream(paced()), stream(paced(seed=2), run="gzip")))
    assert report.ok
    assert report.exit_status == 0
    assert report.problems == ()
    assert report.verdict == "streaming works"
    metrics = report.metrics["streaming"]
    assert metrics["chunks"] == 40
    assert metrics["reads_with_events"] == 40
    assert metrics["ttft"] == pytest.approx(0.3)
    assert metrics["inter_chunk"]["p50"] == pytest.approx(0.02)
    assert metrics["done"]
    assert metrics["usage"]
    assert metrics["finish_reason"] == "stop"
    # 40 completion tokens over the 0.78 s from the first token to the last chunk
    assert metrics["tokens_per_second"] == pytest.approx(40 / (0.02 * 39), rel=1e-3)
    # no X-Accel-Buffering, no Cache-Control: not a problem by themselves
    assert metrics["headers"]["x-accel-buffering"] is None


@pytest.mark.parametrize("factor", [0.1, 3.0, 20.0])
def test_a_uniformly_slower_or_faster_stream_keeps_its_verdict(factor: float) -> None:
    scenarios = {
        "healthy": {"times": paced(jitter=0.8)},
        "buffered": {"times": [2.0] * 40, "groups": [0] * 40},
        "partial": {
            "times": [t for b in range(4) for t in [0.3 + 0.25 * b] * 10],
            "groups": [b for b in range(4) for _ in range(10)],
        },
        "late": {"times": [2.0 + 0.0005 * i for i in range(40)]},
    }
    for name, scenario in scenarios.items():
        base = codes(check(stream(**scenario), normal=1.0), slow_first_token=1e9)
        times = scaled(scenario["times"], factor)
        slow = codes(
            check(stream(**{**scenario, "times": times}), normal=factor),
            slow_first_token=1e9,
        )
        assert slow == base, name


def test_a_slow_client_that_reads_late_is_still_healthy() -> None:
    # Every 8th read comes 3 gaps late and carries the 3 chunks that waited (a loaded
    # machine): bursts are small and rare, so the stream is not "partially buffered".
    times = paced(80, gap=0.02)
    groups, read = [], 0
    for i in range(80):
        if i % 8 in (1, 2):
            times[i] = times[i - i % 8 + 3]
        groups.append(read)
        if i % 8 not in (1, 2):
            read += 1
    assert codes(check(stream(times, groups=groups))) == []


def test_speculative_decoding_in_fours_is_not_partial_buffering() -> None:
    times = [0.3 + 0.08 * (i // 4) + 0.0001 * (i % 4) for i in range(80)]
    report = analyse(check(stream(times)))
    assert report.problems == ()
    assert report.metrics["streaming"]["near_zero_gap_share"] == pytest.approx(0.75, abs=0.02)


def test_everything_in_one_read_is_buffered() -> None:
    report = analyse(
        check(stream([2.0] * 40, groups=[0] * 40, headers={**SSE, "content-length": "8000"}))
    )
    assert [p.code for p in report.problems] == ["buffered"]
    assert report.exit_status == 1
    assert not report.ok
    evidence = report.problems[0].evidence
    assert "40 chunks arrived in 1 read" in evidence
    assert any("Content-Length: 8000" in line for line in evidence)


def test_chunks_in_many_reads_but_all_at_the_end_are_buffered() -> None:
    # A proxy releases the held body: 40 chunks in 8 reads of 5, after 2 s of nothing.
    times = [2.0 + 0.0005 * (i // 5) for i in range(40)]
    report = analyse(check(stream(times)))
    assert [p.code for p in report.problems] == ["buffered"]
    [evidence] = report.problems[0].evidence
    assert "of the response time" in evidence
    assert "40 chunks in 8 reads (5.0 per read)" in evidence


def test_first_token_as_late_as_the_whole_normal_answer_is_buffered() -> None:
    # TTFT / total = 0.78 (under 0.9), but TTFT is 95% of the non-streaming latency, and
    # the answer came in a burst (five chunks a read).
    times = [0.95 + 0.035 * (i // 5) for i in range(40)]
    report = analyse(check(stream(times), normal=1.0))
    assert [p.code for p in report.problems] == ["buffered"]
    assert any("non-streaming answer took" in line for line in report.problems[0].evidence)


def test_a_late_first_token_alone_is_not_buffering() -> None:
    # Issue 12: the role chunk at once, 4 s of nothing, then 40 content chunks one per
    # read at a steady 30 ms. TTFT is 77% of the time and 4x the non-streaming answer,
    # but nothing shows a held-back body: one chunk per read, no near-zero gap.
    role = chunk_payload(0, text=None)
    role["choices"][0]["delta"] = {"role": "assistant"}
    times = [0.01] + [4.0 + 0.03 * i for i in range(40)]
    payloads = [role] + [
        chunk_payload(i + 1, finish="stop" if i == 39 else None, usage=i == 39) for i in range(40)
    ]
    report = analyse(check(stream(times, payloads=payloads), normal=1.0))
    assert [p.code for p in report.problems] == ["slow_first_token"]
    metrics = report.metrics["streaming"]
    assert metrics["chunks_per_read"] == 1.0
    assert metrics["first_output_vs_non_streaming"] == pytest.approx(4.0)


def test_a_long_prompt_then_a_short_paced_answer_is_not_buffered() -> None:
    # TTFT 0.8 s of 1.1 s (73 %), TTFT 73 % of the non-streaming latency: under both rules.
    assert codes(check(stream(paced(first=0.8, gap=0.3 / 39)), normal=1.1)) == []


def test_bursts_with_stalls_are_partially_buffered() -> None:
    times = [0.3 + 0.25 * (i // 10) for i in range(40)]
    report = analyse(check(stream(times)))
    assert [p.code for p in report.problems] == ["partially_buffered"]
    metrics = report.metrics["streaming"]
    assert metrics["bursts"] == 4
    assert metrics["reads_with_events"] == 4
    assert metrics["largest_gaps_share"] == pytest.approx(1.0)


def test_too_few_chunks_say_nothing_about_buffering() -> None:
    assert codes(check(stream([1.0] * 5, groups=[0] * 5))) == []


def test_compression_that_buffers_is_compressed() -> None:
    gzip = stream(
        [2.0] * 40, groups=[0] * 40, run="gzip", headers={**SSE, "content-encoding": "gzip"}
    )
    report = analyse(check(stream(paced()), gzip))
    assert [p.code for p in report.problems] == ["compressed"]
    assert any(
        "identity the same stream is not buffered" in line for line in report.problems[0].evidence
    )


def test_compression_even_when_identity_was_asked_is_compressed() -> None:
    compressed = {**SSE, "content-encoding": "gzip"}
    report = analyse(
        check(
            stream([2.0] * 40, groups=[0] * 40, headers=compressed),
            stream([2.0] * 40, groups=[0] * 40, headers=compressed, run="gzip"),
        )
    )
    assert [p.code for p in report.problems] == ["compressed"]
    assert "ignored Accept-Encoding: identity" in report.problems[0].hint


def test_buffering_without_compression_is_not_blamed_on_gzip() -> None:
    report = analyse(
        check(
            stream([2.0] * 40, groups=[0] * 40),
            stream(
                [2.0] * 40, groups=[0] * 40, run="gzip", headers={**SSE, "content-encoding": "gzip"}
            ),
        )
    )
    assert [p.code for p in report.problems] == ["buffered"]
    assert {line.split(":")[0] for line in report.problems[0].evidence} == {"identity", "gzip"}


def test_a_compressed_stream_that_flows_is_only_a_warning() -> None:
    gzip = stream(paced(), run="gzip", headers={**SSE, "content-encoding": "gzip"})
    report = analyse(check(stream(paced()), gzip))
    assert report.ok
    assert [w.code for w in report.warnings] == ["compressed_stream"]


def test_a_json_body_is_not_streamed() -> None:
    record = stream([0.5], end=0.5, done=False)
    record = StreamRecord(
        **{
            **{f: getattr(record, f) for f in StreamRecord.__dataclass_fields__},
            "streamed": False,
            "exchange": Exchange(
                method="POST",
                url="u",
                status=200,
                headers={"content-type": "application/json"},
                time=0.5,
            ),
        }
    )
    report = analyse(check(record))
    assert [p.code for p in report.problems] == ["not_streamed"]
    assert report.deviations["identity"] == ()


def test_malformed_chunks_are_numbered() -> None:
    payloads: list[dict[str, Any] | None] = [chunk_payload(i + 1) for i in range(10)]
    payloads[3] = None
    payloads[6] = {**chunk_payload(7), "choices": "x"}
    payloads[-1] = chunk_payload(10, finish="stop", usage=True)
    report = analyse(check(stream(paced(10), payloads=payloads)))
    assert [p.code for p in report.problems] == ["malformed_chunks"]
    problem = report.problems[0]
    assert problem.message == "2 of 10 chunks do not have the chat.completion.chunk shape"
    assert problem.evidence == ("chunk 4: not JSON", "chunk 7: choices is a str, not a list")
    assert report.metrics["streaming"]["malformed_chunks"] == 2


def test_tolerated_deviations_are_warnings() -> None:
    payloads = [
        {
            k: v
            for k, v in chunk_payload(
                i + 1, finish="stop" if i == 9 else None, usage=i == 9
            ).items()
            if k != "created"
        }
        for i in range(10)
    ]
    report = analyse(check(stream(paced(10), payloads=payloads)))
    assert report.ok
    assert [w.code for w in report.warnings] == ["chunk_deviations"]
    assert report.warnings[0].evidence == (
        "chunk 1, 2, 3, 4, 5, 6, 7, 8, ... (10 chunks): created is missing",
    )


def test_missing_done_and_missing_usage() -> None:
    assert codes(check(stream(paced(), done=False))) == ["missing_done"]
    assert codes(check(stream(paced(), usage=False))) == ["missing_usage"]
    assert codes(check(stream(paced(), done=False, usage=False))) == [
        "missing_done",
        "missing_usage",
    ]


def test_a_stream_cut_before_its_end_reports_only_missing_done() -> None:
    report = analyse(check(stream(paced(), done=False, usage=False, finish=False)))
    assert [p.code for p in report.problems] == ["missing_done"]
    assert "no chunk had a finish_reason: the answer is cut off" in report.problems[0].evidence


def test_the_root_cause_hides_its_consequences() -> None:
    cut = {"done": False, "usage": False, "finish": False}
    error = StreamError(message="overloaded", after_chunks=3, time=0.4)
    assert codes(check(stream(paced(3), stream_error=error, **cut))) == ["error_in_stream"]
    assert codes(check(stream(paced(), transport_error="ReadError: reset", **cut))) == [
        "interrupted"
    ]
    assert codes(check(stream(paced(), transport_error="ReadTimeout", timed_out=True, **cut))) == [
        "stalled"
    ]


def test_slow_first_token() -> None:
    times = paced(first=4.0)
    report = analyse(check(stream(times), normal=4.8))
    assert [p.code for p in report.problems] == ["slow_first_token"]
    assert codes(check(stream(times), normal=4.8), slow_first_token=5.0) == []
    # A buffered stream's late first token is the buffering's fault: not reported twice.
    assert codes(check(stream([4.0] * 40, groups=[0] * 40))) == ["buffered"]


def test_ttft_is_the_first_answer_token_and_reasoning_is_reported_apart() -> None:
    # StreamTimings' definitions (issue 11): reasoning does not count as the first
    # token; the verdicts use the first output, reasoning included.
    payloads = [chunk_payload(i + 1) for i in range(10)]
    for i in range(5):
        payloads[i]["choices"][0]["delta"] = {"reasoning_content": "hm "}
    payloads[-1] = chunk_payload(10, finish="stop", usage=True)
    metrics = analyse(check(stream(paced(10), payloads=payloads))).metrics["streaming"]
    assert metrics["ttft_reasoning"] == metrics["time_to_first_output"] == pytest.approx(0.3)
    assert metrics["ttft"] == pytest.approx(0.3 + 5 * 0.02)
    assert metrics["timings"]["ttft"] == metrics["ttft"]


def test_an_event_stream_without_its_content_type() -> None:
    assert codes(check(stream(paced(), headers={"transfer-encoding": "chunked"}))) == [
        "bad_content_type"
    ]
    assert codes(check(stream(paced(), headers={"content-type": "text/plain"}))) == [
        "bad_content_type"
    ]
    assert (
        codes(check(stream(paced(), headers={"content-type": "text/event-stream; charset=utf-8"})))
        == []
    )


# --------------------------------------------------------------------------- refusals


def refused(
    status: int, body: bytes = b"", content_type: str = "application/json", **headers: str
) -> Exchange:
    return Exchange(
        method="POST",
        url=f"{BASE}/chat/completions",
        status=status,
        headers={"content-type": content_type, **headers},
        time=0.01,
        body=body,
    )


def openai_error(message: str, code: str | None = None) -> bytes:
    return json.dumps(
        {"error": {"message": message, "type": "invalid_request_error", "code": code}}
    ).encode()


def test_no_connection_is_unreachable() -> None:
    failed = Exchange(
        method="GET", url=f"{BASE}/models", error="ConnectError: refused", error_kind="connect"
    )
    report = analyse(CheckData(base_url=BASE, model="m", discovery=failed))
    assert [p.code for p in report.problems] == ["unreachable"]
    assert report.exit_status == 2
    assert "ConnectError: refused" in report.problems[0].evidence[0]


@pytest.mark.parametrize(
    ("discovery", "chat", "code"),
    [
        (
            models(404, openai_error("Unknown request URL: GET /x/models.")),
            refused(404, openai_error("Unknown request URL")),
            "wrong_base_url",
        ),
        (
            models(200, b"<!doctype html><html>UI</html>", "text/html"),
            refused(405, b"", "text/plain"),
            "wrong_base_url",
        ),
        (models(), refused(200, b"<html>sign in</html>", "text/html"), "wrong_base_url"),
        (models(), refused(301, location="https://api.test/v1/chat/completions"), "wrong_base_url"),
        (
            models(401),
            refused(401, openai_error("Incorrect API key", "invalid_api_key")),
            "auth_failed",
        ),
        (
            models(),
            refused(404, openai_error("The model `x` does not exist", "model_not_found")),
            "model_not_found",
        ),
        (
            models(),
            refused(429, openai_error("Rate limit"), **{"retry-after": "2"}),
            "rate_limited",
        ),
        (
            # vLLM's error shape, read by the parser's error_fields like a client reads it
            models(),
            refused(
                404,
                b'{"object": "error", "message": "The model `x` does not exist.", "code": 404}',
            ),
            "model_not_found",
        ),
        (
            # Ollama's: {"error": "text"}
            models(),
            refused(404, b'{"error": "model \'x\' not found, try pulling it first"}'),
            "model_not_found",
        ),
        (models(), refused(502, b"<html>502 Bad Gateway</html>", "text/html"), "server_error"),
        (models(), refused(400, openai_error("bad temperature")), "http_error"),
    ],
)
def test_refusals_stop_the_check_with_exit_status_2(
    discovery: Exchange, chat: Exchange, code: str
) -> None:
    report = analyse(check(discovery=discovery, non_streaming=chat))
    assert [p.code for p in report.problems] == [code]
    assert report.exit_status == 2
    assert report.problems[0].hint


def test_the_auth_hint_names_the_variable_and_whether_a_key_was_sent() -> None:
    chat = refused(401, openai_error("no key"))
    without = analyse(check(non_streaming=chat, api_key_env="MY_KEY")).problems[0]
    assert "$MY_KEY is not set" in without.hint
    with_key = analyse(check(non_streaming=chat, api_key_env="MY_KEY", api_key_set=True)).problems[
        0
    ]
    assert "Check the key in $MY_KEY" in with_key.hint


def test_models_failing_while_chat_works_is_a_warning() -> None:
    report = analyse(check(stream(paced()), discovery=models(403)))
    assert report.ok
    assert [w.code for w in report.warnings] == ["models_endpoint"]


def test_json_output_schema() -> None:
    report = analyse(check(stream(paced(), done=False), stream(paced(), run="gzip")))
    out = json.loads(json.dumps(report.to_dict()))
    assert set(out) == {
        "ok",
        "exit_status",
        "verdict",
        "base_url",
        "model",
        "metrics",
        "problems",
        "warnings",
        "chunk_deviations",
    }
    assert out["ok"] is False
    assert out["exit_status"] == 1
    assert set(out["metrics"]) == {"discovery", "non_streaming", "streaming", "streaming_gzip"}
    for problem in out["problems"]:
        assert set(problem) == {"code", "message", "evidence", "hint"}
        assert problem["code"] in _check.PROBLEM_CODES
    run = out["metrics"]["streaming"]
    assert set(run["inter_chunk"]) == {"p50", "p90", "p99", "max", "mean"}
    assert set(run["headers"]) == set(STREAM_HEADERS)
    assert out["problems"][0]["evidence"][0].startswith("identity: ")


def test_the_check_package_exports_its_public_api_from_one_place() -> None:
    names = _check.__all__
    # isort-style, as ruff's RUF022 keeps it: CONSTANTS, then Classes, then functions.
    assert names == sorted(names, key=lambda n: (not n.isupper(), not n[:1].isupper(), n))
    public = {
        name
        for name, value in vars(_check).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert set(names) == public
    for name in ("probe", "analyse", "Report", "Thresholds", "render_report"):
        assert name in names
    for name in names:
        obj = getattr(_check, name)
        if callable(obj):
            assert (obj.__doc__ or "").strip(), name


# --------------------------------------------------------------------------- probe


def sse_body(count: int = 6, *, bad: int | None = None) -> bytes:
    """A healthy body of ``count`` chunks (under ``min_chunks``: mocks send it at once)."""
    events = []
    for i in range(count):
        data = json.dumps(
            chunk_payload(i + 1, finish="stop" if i == count - 1 else None, usage=i == count - 1)
        )
        events.append(b"data: " + (data[:20] if i == bad else data).encode() + b"\n\n")
    return b"".join(events) + b"data: [DONE]\n\n"


def mock_client(handler: Any) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_probe_sends_the_key_as_bearer_and_goes_on_after_a_bad_chunk() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": "m"}]})
        if json.loads(request.content)["stream"]:
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=iter([sse_body(bad=4)])
            )
        return httpx.Response(
            200, content=completion().body, headers={"content-type": "application/json"}
        )

    with mock_client(handler) as client:
        data = probe(BASE, "m", api_key="sk-secret", client=client)
    assert {r.headers["authorization"] for r in seen} == {"Bearer sk-secret"}
    assert [r.headers.get("accept-encoding") for r in seen[2:]] == ["identity", "gzip, deflate"]
    assert json.loads(seen[2].content)["stream_options"] == {"include_usage": True}
    record = data.streams[0]
    assert record.reads_source == "iter_raw"  # a mock transport has no network stream
    assert len(record.chunks) == 6
    assert record.done
    assert record.chunks[4].payload is None
    assert record.chunks[4].error.startswith("not JSON")
    report = analyse(data)
    assert [p.code for p in report.problems] == ["malformed_chunks"]
    assert report.problems[0].evidence[0].startswith("identity: chunk 5: not JSON")
    assert "sk-secret" not in json.dumps(report.to_dict())


def test_probe_retries_with_max_completion_tokens() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": []})
        body = json.loads(request.content)
        bodies.append(body)
        if "max_tokens" in body:
            message = "Unsupported parameter: 'max_tokens'. Use 'max_completion_tokens'."
            return httpx.Response(400, json={"error": {"message": message}})
        if body["stream"]:
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=iter([sse_body()])
            )
        return httpx.Response(
            200, content=completion().body, headers={"content-type": "application/json"}
        )

    with mock_client(handler) as client:
        report = analyse(probe(BASE, "m", client=client, max_tokens=50))
    assert [b.get("max_completion_tokens") for b in bodies] == [None, 50, 50, 50]
    assert report.ok


def test_probe_decodes_a_gzip_stream_and_reports_an_unknown_encoding() -> None:
    import gzip

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": []})
        if not json.loads(request.content)["stream"]:
            return httpx.Response(
                200, content=completion().body, headers={"content-type": "application/json"}
            )
        encoding = "gzip" if request.headers["accept-encoding"] == "identity" else "br"
        return httpx.Response(
            200,
            content=iter([gzip.compress(sse_body())]),
            headers={"content-type": "text/event-stream", "content-encoding": encoding},
        )

    with mock_client(handler) as client:
        data = probe(BASE, "m", client=client)
    identity, other = data.streams
    assert len(identity.chunks) == 6
    assert identity.done
    assert other.decode_error is not None
    assert "'br'" in other.decode_error
    assert [p.code for p in analyse(data).problems] == ["compressed"]


def test_html_at_the_base_url_is_a_wrong_base_url() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            text="<!DOCTYPE html><title>Open WebUI</title>",
            headers={"content-type": "text/html"},
        )

    with mock_client(handler) as client:
        report = analyse(probe(BASE, "m", client=client))
    assert [p.code for p in report.problems] == ["wrong_base_url"]
    assert report.exit_status == 2


# --------------------------------------------------------------------------- end to end

EVENT_GAP = 0.005  # 81 chunks: 0.4 s per stream
FIRST_TOKEN_DELAY = 0.5
SLOW_FIRST_TOKEN = 0.25  # healthy TTFT here: ~5-45 ms

# fault -> (problem codes, exit status)
EXPECTED: dict[str, tuple[list[str], int]] = {
    "none": ([], 0),
    "buffer": (["buffered"], 1),
    "partial-buffer": (["partially_buffered"], 1),
    "gzip": (["compressed"], 1),
    "not-streamed": (["not_streamed"], 1),
    "malformed": (["malformed_chunks"], 1),
    "no-done": (["missing_done"], 1),
    "no-usage": (["missing_usage"], 1),
    "slow-first-token": (["slow_first_token"], 1),
    "error-in-stream": (["error_in_stream"], 1),
    "html": (["wrong_base_url"], 2),
    "429": (["rate_limited"], 2),
    "500": (["server_error"], 2),
    "502": (["server_error"], 2),
    "auth": (["auth_failed"], 2),
    "cut": (["missing_done"], 1),
    "reset": (["interrupted"], 1),
    "stall": (["stalled"], 1),
    "no-content-type": (["bad_content_type"], 1),
}


def test_every_fault_of_serve_is_covered() -> None:
    assert set(EXPECTED) == set(FAULTS)


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[Any] = []

    def start(fault: str = "none") -> str:
        app = create_app(
            [RECORDING], fault=fault, event_gap=EVENT_GAP, first_token_delay=FIRST_TOKEN_DELAY
        )
        context = running_server(app)
        servers.append(context)
        return context.__enter__()

    yield start
    for context in reversed(servers):
        context.__exit__(None, None, None)


def run_check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    status = main(["check", "--json", "--slow-first-token", str(SLOW_FIRST_TOKEN), *args])
    out = capsys.readouterr().out
    return status, json.loads(out)


@pytest.mark.parametrize("fault", list(EXPECTED))
def test_check_against_serve(fault: str, serve: Any, capsys: pytest.CaptureFixture[str]) -> None:
    url = serve(fault)
    timeout = "1" if fault == "stall" else "10"
    status, out = run_check(
        capsys, "--base-url", f"{url}/v1", "--model", "glm-4.7-flash", "--timeout", timeout
    )
    expected_codes, expected_status = EXPECTED[fault]
    assert [p["code"] for p in out["problems"]] == expected_codes, out["problems"]
    assert status == out["exit_status"] == expected_status
    assert out["ok"] is (expected_status == 0)
    identity, gzip = out["metrics"]["streaming"], out["metrics"]["streaming_gzip"]
    if expected_status == 2:
        assert identity is None
        assert gzip is None
        return
    assert out["metrics"]["discovery"]["model_listed"] is True
    assert out["metrics"]["non_streaming"]["status"] == 200
    for run in (identity, gzip):
        assert run["status"] == 200
        assert run["reads_source"] == "network"
        figures(fault, run)


def figures(fault: str, run: dict[str, Any]) -> None:
    """The key figures of each mode (81 chunks in the recording, then [DONE])."""
    whole = fault not in ("error-in-stream", "cut", "reset", "stall", "not-streamed")
    if whole:
        assert run["chunks"] == 81
    assert run["done"] is (whole and fault != "no-done")
    assert run["usage"] is ((whole and fault != "no-usage") or fault == "not-streamed")
    if fault in ("none", "no-done", "no-usage", "malformed", "no-content-type", "slow-first-token"):
        # paced: most chunks come in reads of their own (some share one under load)
        assert run["reads_with_events"] >= 40
        assert run["finish_reason"] == "tool_calls"
        assert run["ttft_reasoning"] < run["ttft"]
        assert fault == "no-usage" or run["tokens_per_second"] > 0
    if fault == "buffer":
        assert run["reads_with_events"] <= 2  # one write of the whole body
        assert run["first_output_share"] > 0.9
    if fault == "partial-buffer":
        assert run["reads_with_events"] == 4
        assert run["bursts"] == 4
    if fault == "gzip":
        assert run["headers"]["content-encoding"] == "gzip"
        assert run["reads_with_events"] <= 2
    if fault == "not-streamed":
        assert run["streamed"] is False
        assert run["headers"]["content-type"] == "application/json"
    if fault == "malformed":
        assert run["malformed_chunks"] == 2
    if fault == "slow-first-token":
        assert run["ttft"] >= FIRST_TOKEN_DELAY
        assert run["time_to_headers"] < FIRST_TOKEN_DELAY
    if fault == "error-in-stream":
        assert run["chunks"] == 3
        assert run["error_in_stream"].startswith("The server had an error")
    if fault in ("cut", "reset", "stall"):
        assert run["chunks"] == 41
        assert run["finish_reason"] is None
    if fault == "reset":
        assert "incomplete chunked read" in run["transport_error"]
    if fault == "stall":
        assert run["timed_out"] is True
    if fault == "no-content-type":
        assert run["headers"]["content-type"] is None


def test_malformed_chunks_are_numbered_end_to_end(
    serve: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = serve("malformed")
    _, out = run_check(capsys, "--base-url", f"{url}/v1", "--model", "m")
    deviations = out["chunk_deviations"]["identity"]
    assert [(d["message"].split(" (")[0], d["chunks"]) for d in deviations] == [
        ("choices is missing", [28]),
        ("not JSON", [55]),
    ]


def test_a_closed_port_is_unreachable(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    status, out = run_check(capsys, "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "m")
    assert status == 2
    assert [p["code"] for p in out["problems"]] == ["unreachable"]
    assert out["metrics"]["non_streaming"] is None


def test_a_wrong_base_url_answers_404(serve: Any, capsys: pytest.CaptureFixture[str]) -> None:
    url = serve()
    status, out = run_check(capsys, "--base-url", f"{url}/api", "--model", "m")
    assert status == 2
    problem = out["problems"][0]
    assert problem["code"] == "wrong_base_url"
    assert [line.split(":")[0] for line in problem["evidence"]] == ["GET http", "POST http"]
    assert "/v1" in problem["hint"]


def test_the_key_is_never_printed(
    serve: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = serve("auth")
    monkeypatch.setenv("CHECK_TEST_KEY", "sk-test-very-secret")
    for extra in (["--json"], []):
        status = main(
            [
                "check",
                "--base-url",
                f"{url}/v1",
                "--model",
                "m",
                "--api-key-env",
                "CHECK_TEST_KEY",
                *extra,
            ]
        )
        captured = capsys.readouterr()
        assert status == 2
        assert "sk-test-very-secret" not in captured.out + captured.err
        assert "auth_failed" in captured.out


def test_demo_report_with_rich(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["check", "--demo", "--pace", "4"])
    out = capsys.readouterr().out
    assert status == 0
    assert "verdict: streaming works" in out
    for text in ("GET /models: HTTP 200", "TTFT", "inter-chunk p99", "x-accel-buffering", "[DONE]"):
        assert text in out


def test_demo_fault_is_detected(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["check", "--demo", "--pace", "4", "--fault", "buffer"])
    out = capsys.readouterr().out
    assert status == 1
    assert "problem: buffered" in out
    assert "hint:" in out
    assert "verdict: 1 problem(s): buffered" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "needs --base-url and --model"),
        (["--base-url", "api.test/v1", "--model", "m"], "must start with http"),
        (["--demo", "--base-url", "http://x/v1"], "leave out --base-url"),
        (
            ["--base-url", "http://x/v1", "--model", "m", "--fault", "buffer"],
            "only applies with --demo",
        ),
    ],
)
def test_usage_errors(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", *args]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("status", [200, 201, 301, 302, 400, 401, 404, 429, 500, 502])
@pytest.mark.parametrize(
    "content_type",
    [
        "text/event-stream",
        "text/event-stream; charset=utf-8",
        "",
        "application/json",
        "text/html",
        "text/plain",
        "application/x-ndjson",
    ],
)
def test_the_probe_refuses_a_streaming_head_by_the_parsers_rule(
    status: int, content_type: str
) -> None:
    from ssestream._parser import ChatStreamParser

    headers = {"content-type": content_type} if content_type else {}
    media = content_type.split(";")[0]
    client_refuses = ChatStreamParser().receive_head(status, headers)
    refused = _refused_head(status, headers, media)
    if 300 <= status < 400:
        assert refused  # a redirect the probe does not follow
    elif not client_refuses:
        assert not refused  # what a client reads as a stream, the probe reads too
    else:
        # Of what a client refuses, a 2xx that is not a web page is still read, to say
        # what it carries (bad_content_type).
        assert refused is (status >= 400 or media == "text/html")
