"""The ``<think>`` splitter: rules on real content, every split point, and Hypothesis.

The oracle is the rule applied to the whole text at once (module docstring of
``ssestream._think``); the splitter must give the same result for any split of the text
into fragments, and remove nothing but the tags.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ssestream._think import ThinkTags, ThinkTagSplitter

OPEN, CLOSE = "<think>", "</think>"
VLLM_QWEN3 = Path(__file__).parent / "fixtures/providers/vllm-qwen3-0.6b-tool-thinktags.sse"


def whole(text: str, *, starts_inside: bool = False) -> tuple[str, str]:
    """The rule on the whole text (the oracle)."""
    rest = text.lstrip()
    lead = text[: len(text) - len(rest)]
    if rest.startswith(OPEN):
        content, body = lead, rest[len(OPEN) :]
    elif starts_inside:
        content, body = "", text
    else:
        return text, ""
    end = body.find(CLOSE)
    if end < 0:
        return content, body
    return content + body[end + len(CLOSE) :], body[:end]


def run(fragments: list[str], **options: bool) -> tuple[str, str]:
    splitter = ThinkTagSplitter(**options)
    content, reasoning = [], []
    for fragment in fragments:
        c, r = splitter.feed(fragment)
        content.append(c)
        reasoning.append(r)
    c, r = splitter.flush()
    return "".join(content) + c, "".join(reasoning) + r


def splits(text: str) -> list[list[str]]:
    """Whole, character by character, and cut in two at every point."""
    out = [[text], list(text)]
    out += [[text[:i], text[i:]] for i in range(len(text) + 1)]
    return out


def qwen3_content() -> str:
    """The content a vLLM server without a reasoning parser streamed for Qwen3."""
    pieces = []
    for line in VLLM_QWEN3.read_text().splitlines():
        if line.startswith("data: {"):
            choices = json.loads(line[6:])["choices"]
            pieces.extend(choice["delta"].get("content") or "" for choice in choices)
    return "".join(pieces)


def test_the_real_qwen3_content() -> None:
    text = qwen3_content()
    assert text.startswith("<think>")
    content, reasoning = run([text])
    assert OPEN not in content
    assert CLOSE not in content
    assert reasoning.strip().startswith("Okay")
    assert content == text[text.index(CLOSE) + len(CLOSE) :]
    for fragments in splits(text)[:3]:
        assert run(fragments) == (content, reasoning)


CASES = {
    "block then answer": ("<think>plan</think>\n\nanswer", False, ("\n\nanswer", "plan")),
    "leading whitespace": ("\n <think>a</think>b", False, ("\n b", "a")),
    "no block": ("plain answer", False, ("plain answer", "")),
    "tag later is text": ("see <think>x</think>", False, ("see <think>x</think>", "")),
    "unclosed": ("<think>still thinking", False, ("", "still thinking")),
    "only an open tag prefix": ("<thi", False, ("<thi", "")),
    "missing open tag": ("plan</think>answer", True, ("answer", "plan")),
    "missing open, sent anyway": ("<think>plan</think>answer", True, ("answer", "plan")),
    "missing open, unclosed": ("plan", True, ("", "plan")),
    "second block is text": (
        "<think>a</think>b<think>c</think>",
        False,
        ("b<think>c</think>", "a"),
    ),
    "close tag prefix at end": ("<think>a</thi", False, ("", "a</thi")),
    "non-ASCII": ("<think>é😀</think>ü", False, ("ü", "é😀")),
    "empty block": ("<think></think>x", False, ("x", "")),
    "empty": ("", False, ("", "")),
}


@pytest.mark.parametrize("name", CASES)
def test_rules_at_every_split(name: str) -> None:
    text, starts_inside, expected = CASES[name]
    assert whole(text, starts_inside=starts_inside) == expected
    for fragments in splits(text):
        assert run(fragments, starts_inside=starts_inside) == expected, fragments


TEXT = st.lists(
    st.sampled_from(
        [OPEN, CLOSE, "<", "</", "<th", "</thin", "k>", ">", " ", "\n", "a", "é", "😀"]
    ),
    max_size=14,
).map("".join)


@given(text=TEXT, cuts=st.lists(st.integers(min_value=0), max_size=8), inside=st.booleans())
def test_any_split_gives_the_whole_result(text: str, cuts: list[int], inside: bool) -> None:
    points = sorted({c % (len(text) + 1) for c in cuts})
    fragments = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    content, reasoning = run(fragments, starts_inside=inside)
    assert (content, reasoning) == whole(text, starts_inside=inside)
    # Only tags are removed.
    removed = len(text) - len(content) - len(reasoning)
    assert removed in (0, len(OPEN), len(CLOSE), len(OPEN) + len(CLOSE))


def test_peek_changes_nothing_and_feed_after_flush_is_content() -> None:
    splitter = ThinkTagSplitter()
    assert splitter.feed("<think>ab</th") == ("", "ab")
    assert splitter.peek() == ("", "</th")
    assert splitter.peek() == ("", "</th")
    assert splitter.feed("ink>c") == ("c", "")
    assert splitter.reasoning_closed
    other = ThinkTagSplitter()
    assert other.feed(" <thi") == ("", "")
    assert other.peek() == (" <thi", "")
    assert other.flush() == (" <thi", "")
    assert other.feed("nk>x") == ("nk>x", "")


def test_custom_tags_and_options() -> None:
    tags = ThinkTags(open_tag="<seed:think>", close_tag="</seed:think>")
    splitter = tags.splitter()
    assert splitter.feed("<seed:think>r</seed:") == ("", "r")
    assert splitter.feed("think>c") == ("c", "")
    with pytest.raises(ValueError, match="empty"):
        ThinkTags(open_tag="")
    with pytest.raises(ValueError, match="empty"):
        ThinkTagSplitter(close_tag="")
    with pytest.raises(TypeError, match="takes text"):
        ThinkTagSplitter().feed(b"<think>")  # type: ignore[arg-type]


def test_work_is_linear() -> None:
    """A long reasoning fed one character at a time: operations grow with the size."""
    import ssestream._think as think

    calls = 0
    original = think._held

    def counting(text: str, tag: str) -> int:
        nonlocal calls
        calls += len(text)
        return original(text, tag)

    think._held = counting
    try:
        sizes = []
        for n in (2_000, 8_000):
            calls = 0
            run(["<think>", *("</thin" + "x" * 3) * (n // 9)])
            sizes.append(calls)
    finally:
        think._held = original
    assert sizes[1] / sizes[0] < 4 * 1.5


def _think_stream(fragments: list[str], *, finish: bool) -> bytes:
    """A stream in the envelope of the real vLLM Qwen3 recording (its id, model, created),
    whose content is ``fragments``; with ``finish``, a ``finish_reason`` and ``[DONE]``
    follow, else the body just ends (an interrupted stream)."""
    from ssestream import ChatStream, encode_chunk

    first = next(iter(ChatStream([VLLM_QWEN3.read_bytes()]))).to_dict()
    envelope = {key: first[key] for key in ("id", "object", "created", "model")}
    body = b"".join(
        encode_chunk({**envelope, "choices": [{"index": 0, "delta": {"content": text}}]})
        for text in fragments
    )
    if finish:
        last = {"index": 0, "delta": {}, "finish_reason": "stop"}
        body += encode_chunk({**envelope, "choices": [last]}) + b"data: [DONE]\n\n"
    return body


@pytest.mark.parametrize("finish", [True, False], ids=["finished", "interrupted"])
@pytest.mark.parametrize(
    "fragments",
    [["<think>the user", " asks</thin"], ["  <thi"]],
    ids=["inside-ends-in-close-prefix", "before-ends-in-open-prefix"],
)
def test_text_held_at_the_end_is_emitted_as_a_delta(fragments: list[str], finish: bool) -> None:
    """The events of a stream add up to its completion, even when the content ends in
    what could have been the start of a tag: the held text comes out as a delta, and the
    ``*Done`` events carry the whole text."""
    from ssestream import ChatStream, ContentDelta, ContentDone, ReasoningDelta, ReasoningDone

    stream = ChatStream([_think_stream(fragments, finish=finish)], think_tags=True)
    events = list(stream.events())
    message = stream.completion.choices[0].message
    content, reasoning = message.content or "", message.reasoning_content or ""
    assert content + reasoning  # the held text is in the completion
    deltas = "".join(e.delta for e in events if isinstance(e, ContentDelta))
    thoughts = "".join(e.delta for e in events if isinstance(e, ReasoningDelta))
    assert (deltas, thoughts) == (content, reasoning)
    done = [e.content for e in events if isinstance(e, ContentDone)]
    assert done == ([content] if content else [])
    thought = [e.reasoning for e in events if isinstance(e, ReasoningDone)]
    assert thought == ([reasoning] if reasoning else [])
