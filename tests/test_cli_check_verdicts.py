"""The verdict rules of ``check`` as properties of the pure analysis (issue 12).

Streams are generated as a healthy server sends them: a role chunk with the head, the
first token after some prompt time, then content (or reasoning, then content) at a steady
pace with jitter, mostly one chunk per read, sometimes two or three when the client read
late; a usage chunk, ``finish_reason`` and ``[DONE]``. The non-streaming answer takes
about as long as the whole stream. Then:

* scaling every time (and the one absolute threshold, ``slow_first_token``) by any factor
  from 0.1 to 20 changes no verdict: the rules rest on ratios and counts;
* adding a constant delay before the first token turns the healthy stream into
  ``slow_first_token`` and nothing else (a high TTFT alone is no evidence of buffering);
* a steady slow stream, and a long reasoning phase followed by the answer, are healthy.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ssestream.check import (
    CheckData,
    ChunkArrival,
    Exchange,
    NetworkRead,
    StreamRecord,
    Thresholds,
    analyse,
)

BASE = "http://api.test/v1"
SSE = {"content-type": "text/event-stream", "transfer-encoding": "chunked"}
PROPERTY = settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)


def _payload(delta: dict[str, Any], *, finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


@dataclasses.dataclass(frozen=True)
class Shape:
    """A stream as times: ``head`` (role chunk), then one time per text chunk."""

    head: float
    times: tuple[float, ...]
    reads: tuple[int, ...]  # the read that carried each text chunk
    reasoning: int  # how many of the text chunks are reasoning, before the content
    normal: float  # the non-streaming answer's latency

    def scaled(self, factor: float) -> Shape:
        return Shape(
            self.head * factor,
            tuple(t * factor for t in self.times),
            self.reads,
            self.reasoning,
            self.normal * factor,
        )

    def delayed(self, delay: float, *, normal_too: bool) -> Shape:
        return Shape(
            self.head,
            tuple(t + delay for t in self.times),
            self.reads,
            self.reasoning,
            self.normal + delay if normal_too else self.normal,
        )

    def data(self) -> CheckData:
        count = len(self.times)
        payloads = [_payload({"role": "assistant"})]
        for i in range(count):
            kind = "reasoning_content" if i < self.reasoning else "content"
            payloads.append(_payload({kind: f"w{i} "}, finish="stop" if i == count - 1 else None))
        usage = _payload({})
        usage["choices"] = []
        usage["usage"] = {"prompt_tokens": 9, "completion_tokens": count, "total_tokens": 9 + count}
        payloads.append(usage)
        end = self.times[-1]
        times = [self.head, *self.times, end]
        groups = [0, *(read + 1 for read in self.reads), self.reads[-1] + 1]
        reads = [
            NetworkRead(time=max(t for t, g in zip(times, groups, strict=True) if g == r), size=90)
            for r in range(groups[-1] + 1)
        ]
        chunks = tuple(
            ChunkArrival(read=g, time=t, payload=p)
            for t, g, p in zip(times, groups, payloads, strict=True)
        )
        record = StreamRecord(
            run="identity",
            accept_encoding="identity",
            exchange=Exchange(
                method="POST",
                url=f"{BASE}/chat/completions",
                status=200,
                headers=SSE,
                http_version="HTTP/1.1",
                time=self.head,
            ),
            reads=tuple(reads),
            chunks=chunks,
            done=True,
            streamed=True,
            end_time=end + self.head * 0.01,
        )
        gzip = dataclasses.replace(record, run="gzip", accept_encoding="gzip, deflate")
        normal = Exchange(
            method="POST",
            url=f"{BASE}/chat/completions",
            status=200,
            headers={"content-type": "application/json"},
            time=self.normal,
            body=(
                b'{"id": "c", "object": "chat.completion", "created": 1, "model": "m", '
                b'"choices": [{"index": 0, "message": {"role": "assistant", "content": "1"}, '
                b'"finish_reason": "stop"}], "usage": {"prompt_tokens": 9, '
                b'"completion_tokens": 40, "total_tokens": 49}}'
            ),
        )
        models = Exchange(
            method="GET",
            url=f"{BASE}/models",
            status=200,
            headers={"content-type": "application/json"},
            time=self.head,
            body=b'{"object": "list", "data": [{"id": "m", "object": "model"}]}',
        )
        return CheckData(
            base_url=BASE,
            model="m",
            discovery=models,
            non_streaming=normal,
            streams=(record, gzip),
        )


@st.composite
def healthy(
    draw: st.DrawFn,
    *,
    gap: st.SearchStrategy[float] | None = None,
    reasoning: bool | None = None,
) -> Shape:
    count = draw(st.integers(10, 80))
    head = draw(st.floats(0.01, 0.3))
    first = head + draw(st.floats(0.05, 1.5))
    step = draw(gap if gap is not None else st.floats(0.005, 0.1))
    times = [first]
    reads = [0]
    late = draw(st.sets(st.integers(2, count - 1), max_size=count // 8))
    for i in range(1, count):
        times.append(times[-1] + step * draw(st.floats(0.5, 1.5)))
        # A read that came late carries this chunk together with the one before.
        shared = i in late and i - 1 not in late
        reads.append(reads[-1] if shared else reads[-1] + 1)
    for i in range(1, count):
        if reads[i] == reads[i - 1]:
            times[i - 1] = times[i]  # both arrived with that read
    with_reasoning = draw(st.booleans()) if reasoning is None else reasoning
    thinking = draw(st.integers(5, count - 5)) if with_reasoning else 0
    total = times[-1]
    normal = total * draw(st.floats(0.8, 1.3))
    return Shape(head, tuple(times), tuple(reads), thinking, normal)


def verdict(shape: Shape, slow_first_token: float = 3.0) -> list[str]:
    report = analyse(shape.data(), Thresholds(slow_first_token=slow_first_token))
    return [problem.code for problem in report.problems]


@given(healthy(), st.floats(0.1, 20.0))
@PROPERTY
def test_scaling_every_time_changes_no_verdict(shape: Shape, factor: float) -> None:
    assert verdict(shape.scaled(factor), 3.0 * factor) == verdict(shape)


@given(healthy())
@PROPERTY
def test_generated_healthy_streams_are_healthy(shape: Shape) -> None:
    assert verdict(shape) == []


@given(healthy(), st.floats(3.5, 60.0), st.booleans(), st.floats(0.1, 20.0))
@PROPERTY
def test_a_constant_delay_before_the_first_token_is_a_slow_first_token_only(
    shape: Shape, delay: float, normal_too: bool, factor: float
) -> None:
    delayed = shape.delayed(delay, normal_too=normal_too)
    assert verdict(delayed) == ["slow_first_token"]
    assert verdict(delayed.scaled(factor), 3.0 * factor) == ["slow_first_token"]


@given(healthy(gap=st.floats(0.2, 2.0), reasoning=False))
@PROPERTY
def test_a_steady_slow_stream_is_healthy(shape: Shape) -> None:
    assert verdict(shape) == []


@given(healthy(gap=st.floats(0.01, 0.05), reasoning=True), st.floats(5.0, 60.0))
@PROPERTY
def test_a_long_reasoning_phase_then_the_answer_is_healthy(shape: Shape, thinking: float) -> None:
    # Stretch the reasoning part so that it lasts ``thinking`` seconds in all.
    split = shape.reasoning
    reasoning_span = shape.times[split - 1] - shape.times[0] or 1.0
    factor = thinking / reasoning_span
    times = [shape.times[0] + (t - shape.times[0]) * factor for t in shape.times[:split]]
    shift = times[-1] - shape.times[split - 1]
    times += [t + shift for t in shape.times[split:]]
    stretched = dataclasses.replace(shape, times=tuple(times), normal=times[-1])
    assert verdict(stretched) == []


def test_reasoning_summaries_a_second_apart_then_a_fast_answer_are_healthy() -> None:
    # 10 reasoning chunks 1 s apart, then 80 answer chunks 10 ms apart: together the
    # answer's gaps are "near zero" next to the reasoning's (89%) and the reasoning's
    # gaps take 87% of the time, which read as partial buffering before the phases were
    # measured apart.
    times = [0.3 + 1.0 * i for i in range(10)] + [9.8 + 0.01 * i for i in range(80)]
    shape = Shape(0.05, tuple(times), tuple(range(90)), 10, times[-1])
    assert verdict(shape) == []


# --------------------------------------------------------------------------- the demo


def test_the_demo_read_timeout_exceeds_every_wait_its_server_plans(
    monkeypatch: Any, capsys: Any
) -> None:
    # Issue 12: the demo's read timeout (3 s) was shorter than the 4 s its own
    # slow-first-token fault waits, and than the 3.3 s its non-streaming answer takes at
    # --pace 0.5. The timeout now follows the server's plans.
    pytest.importorskip("starlette")
    import ssestream
    from ssestream.check import CheckData
    from ssestream.cli import _check, _parser, main
    from ssestream.testing import create_app

    demo = Path(ssestream.__file__).parent / "_data" / _check.DEMO_RECORDING
    normal = create_app([demo]).state.longest_silence
    assert create_app([demo], pace=0.5).state.longest_silence == pytest.approx(2 * normal)
    slow = create_app([demo], fault="slow-first-token", first_token_delay=4.0)
    assert slow.state.longest_silence >= 4.0

    seen: list[float] = []

    def fake_probe(base_url: str, model: str, **options: Any) -> Any:
        seen.append(options["timeout"])
        return CheckData(base_url=base_url, model=model)

    monkeypatch.setattr(_check, "probe", fake_probe)
    for args in (["--fault", "slow-first-token"], ["--pace", "0.5"], []):
        main(["check", "--demo", "--json", *args])
    capsys.readouterr()
    assert seen[0] >= 4.0 + _parser.DEMO_TIMEOUT  # the 4 s wait, then 3 s to spare
    assert seen[1] >= 2 * normal + _parser.DEMO_TIMEOUT
    assert seen[2] == pytest.approx(normal + _parser.DEMO_TIMEOUT)
    main(["check", "--demo", "--json", "--timeout", "1.5"])
    assert seen[3] == 1.5  # an explicit --timeout is kept


def test_the_demo_at_half_speed_is_healthy(capsys: Any) -> None:
    pytest.importorskip("uvicorn")
    from ssestream.cli import main

    status = main(["check", "--demo", "--json", "--pace", "0.5"])
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "streaming works"
    assert status == 0
