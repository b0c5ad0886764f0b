"""ssestream.check: is streaming from an OpenAI-compatible endpoint really working?

The library behind ``ssestream check``, for use from Python (a CI job, a notebook)::

    from ssestream.check import analyse, probe

    report = analyse(probe("http://localhost:8000/v1", "qwen3"))
    print(report.verdict)          # "streaming works" or "problems: buffered, ..."
    for problem in report.problems:
        print(problem.code, problem.message, problem.evidence, problem.hint)

Two halves with one boundary between them, as in the rest of the package:

* **the probe** (I/O, :func:`probe`): an ``httpx`` sync client sends ``GET {base}/models``,
  one normal chat request and the same request with ``"stream": true`` twice (with
  ``Accept-Encoding: identity``, then with ``gzip, deflate`` allowed as httpx, the openai
  SDK and browsers send it). For each streaming response it records every network read of
  the body (arrival time from ``time.perf_counter()`` relative to sending the request, and
  size before decompression), and feeds the body through :class:`ChatStreamParser`, so
  that the read that completed each chunk is known. It decides nothing.
* **the analysis** (pure, :func:`analyse`): from those records to metrics, chunk
  deviations and problems. It can be tested on synthetic timings without any network.

The package's rooms: ``_records`` (the measurements, the thresholds, the report),
``_shape`` (chunk-shape validation), ``_analysis`` (each stream's metrics, and the
report put together), ``_rules`` (the verdict rules, with the principle they follow),
``_compare`` (several models or routes side by side),
``_probe`` (the requests; the only I/O) and ``_report`` (the rendering for people, with
rich). Everything public is exported here.
"""

from ._analysis import analyse, analyse_stream, stream_timings
from ._compare import Comparison, compare
from ._probe import CheckObserver, probe
from ._records import (
    DEFAULT_MAX_TIME,
    DEFAULT_MAX_TOKENS,
    DEFAULT_PROMPT,
    MAX_CHUNKS,
    MAX_READS,
    PROBLEM_CODES,
    REFUSAL_CODES,
    CheckData,
    ChunkArrival,
    ChunkDeviation,
    Exchange,
    NetworkRead,
    Problem,
    Report,
    StreamError,
    StreamMetrics,
    StreamRecord,
    Thresholds,
)
from ._report import LiveObserver, render_comparison, render_report
from ._shape import validate_chunk

__all__ = [
    "DEFAULT_MAX_TIME",
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_PROMPT",
    "MAX_CHUNKS",
    "MAX_READS",
    "PROBLEM_CODES",
    "REFUSAL_CODES",
    "CheckData",
    "CheckObserver",
    "ChunkArrival",
    "ChunkDeviation",
    "Comparison",
    "Exchange",
    "LiveObserver",
    "NetworkRead",
    "Problem",
    "Report",
    "StreamError",
    "StreamMetrics",
    "StreamRecord",
    "Thresholds",
    "analyse",
    "analyse_stream",
    "compare",
    "probe",
    "render_comparison",
    "render_report",
    "stream_timings",
    "validate_chunk",
]
