"""HTTP helpers shared by the tools (``ssestream.check``, ``ssestream.testing``, the CLI):
the media type of a header value and the undoing of a ``Content-Encoding``.

One copy of each, so that the probe, the replay planner and the recording server agree
on what a ``Content-Type`` says and on how a compressed body is read. The streams
themselves leave decompression to httpx.
"""

from __future__ import annotations

import zlib
from typing import Protocol

__all__ = ["BodyDecoder", "body_decoder", "media_type"]


def media_type(value: str | None) -> str:
    """The media type of a ``Content-Type`` (or any ``type; params``) header value: lower
    case, without parameters; ``""`` for ``None`` or an empty value (RFC 9110 8.3.1)."""
    return (value or "").split(";", 1)[0].strip().lower()


class BodyDecoder(Protocol):
    """An incremental decoder: ``decompress`` each piece, ``flush`` at the end.

    Both raise ``zlib.error`` on a corrupt body.
    """

    def decompress(self, data: bytes) -> bytes: ...  # pragma: no cover
    def flush(self) -> bytes: ...  # pragma: no cover


class _Identity:
    def decompress(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


class _Deflate:
    """``deflate`` as servers send it: zlib-wrapped (RFC 9110 8.4.1.2), or raw, as many
    do and as httpx accepts."""

    def __init__(self) -> None:
        self._first = True
        self._decoder = zlib.decompressobj()

    def decompress(self, data: bytes) -> bytes:
        if self._first and data:
            self._first = False
            try:
                return self._decoder.decompress(data)
            except zlib.error:
                self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._decoder.decompress(data)

    def flush(self) -> bytes:
        return self._decoder.flush()


def body_decoder(encoding: str | None) -> BodyDecoder | None:
    """A decoder for one ``Content-Encoding`` coding, or ``None`` for one that cannot be
    undone here (``br``, ``zstd``...). ``""`` and ``identity`` pass the bytes through;
    ``gzip``/``x-gzip`` and ``deflate`` are what httpx asks for without extra packages."""
    coding = (encoding or "").strip().lower()
    if coding in ("", "identity"):
        return _Identity()
    if coding in ("gzip", "x-gzip"):
        return zlib.decompressobj(zlib.MAX_WBITS | 16)
    if coding == "deflate":
        return _Deflate()
    return None
