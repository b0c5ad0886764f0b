"""What the promise properties of chat and Responses streams share.

``test_promise.py`` (chat) and ``test_responses_promise.py`` (Responses API) state the
same promise over different schemas. The pieces here are theirs in common: the hostile
value strategies (garbage, deep nesting, a field that is mostly of its schema's type),
the SSE framing of a payload, the split of a body into reads, and the reading of one
body by the sync and the async twin of a stream, each read turned into everything the
caller can observe by the test module's own ``outcome``.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
from hypothesis import strategies as st

# --------------------------------------------------------------------------- strategies

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
# Garbage is biased towards the wrong-kind containers that merge rules trip on: a list
# of objects where text is expected, a list of text, an object of lists.
garbage = st.one_of(
    scalars,
    st.lists(st.dictionaries(st.text(max_size=3), scalars, max_size=2), min_size=1, max_size=2),
    st.lists(st.text(max_size=3), min_size=1, max_size=2),
    st.dictionaries(st.text(max_size=3), st.lists(scalars, max_size=2), min_size=1, max_size=2),
    st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
        ),
        max_leaves=10,
    ),
)
deep = st.integers(1, 120).map(lambda n: json.loads("[" * n + "]" * n))
text = st.text(max_size=6)
indexes = st.one_of(st.integers(0, 2), st.integers(0, 2), st.integers(-3, 2**64), st.booleans())


def field(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the schema's value (9 in 10), sometimes anything at all: so that a stream
    holds several chunks that merge, and a few that break the rules."""

    @st.composite
    def pick(draw: st.DrawFn) -> Any:
        roll = draw(st.integers(0, 39))
        if roll == 0:
            return draw(deep)
        if roll <= 2:
            return None
        if roll <= 5:
            return draw(garbage)
        return draw(good)

    return pick()


def some_of(fields: dict[str, st.SearchStrategy[Any]], most: int) -> st.SearchStrategy[Any]:
    """An object with 1 to ``most`` of ``fields``, each mostly of its schema's type."""

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        keys = draw(st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=most))
        return {key: draw(field(fields[key])) for key in dict.fromkeys(keys)}

    return build()


def data_event(payload: str) -> str:
    """``payload`` as one SSE event: a ``data:`` line per line of it, then a blank line."""
    return "".join(f"data: {line}\n" for line in payload.split("\n")) + "\n"


@st.composite
def split(draw: st.DrawFn, body: bytes) -> list[bytes]:
    """``body`` cut into reads at up to 12 drawn offsets."""
    cuts = sorted(set(draw(st.lists(st.integers(0, len(body)), max_size=12))))
    bounds = [0, *cuts, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(bounds) if b > a]


# --------------------------------------------------------------------------- the reading

Outcome = Callable[[Any, list[tuple[Any, Any]], "BaseException | None"], Any]
"""``outcome(stream, items, error)``: what the caller can observe of a read stream (the
items as ``(view, deep copy taken when handed out)`` pairs), checking the promise."""


@dataclass(frozen=True)
class Reader:
    """Reads a body with one kind of stream, by its sync and its async twin.

    Attributes:
        sync_type, async_type: the twins (``ChatStream``/``AsyncChatStream``...), built
            from an iterable of byte reads.
        outcome: the test module's :data:`Outcome`.
    """

    sync_type: Callable[[Any], Any]
    async_type: Callable[[Any], Any]
    outcome: Outcome

    def read_sync(self, reads: list[bytes]) -> Any:
        stream = self.sync_type(iter(reads))
        items = []
        error = None
        try:
            for item in stream:
                items.append((item, copy.deepcopy(item.to_dict())))  # noqa: PERF401
        except Exception as exc:  # the promise is checked in outcome()
            error = exc
        return self.outcome(stream, items, error)

    def read_async(self, reads: list[bytes], backend: str) -> Any:
        async def main() -> Any:
            async def source() -> Any:
                for data in reads:
                    yield data

            stream = self.async_type(source())
            items = []
            error = None
            try:
                async for item in stream:
                    items.append((item, copy.deepcopy(item.to_dict())))  # noqa: PERF401
            except Exception as exc:
                error = exc
            return self.outcome(stream, items, error)

        return anyio.run(main, backend=backend)

    # -- the property bodies both APIs state

    def same_whatever_the_split(self, body: bytes, data: st.DataObject) -> None:
        """A drawn split, and one byte a read, give what the whole body gives."""
        whole = self.read_sync([body])
        assert self.read_sync(data.draw(split(body))) == whole
        assert self.read_sync([body[i : i + 1] for i in range(len(body))]) == whole

    def same_in_both_twins(self, body: bytes, data: st.DataObject) -> None:
        """The async twin, on asyncio or trio, at a drawn split, gives what the sync
        twin gives for the whole body."""
        reads = data.draw(split(body))
        backend = data.draw(st.sampled_from(["asyncio", "trio"]))
        assert self.read_async(reads, backend) == self.read_sync([body])
