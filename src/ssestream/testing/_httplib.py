"""The only module that knows there are two HTTP libraries, httpx and httpx2.

They share one API under two module names, and each client checks the classes it gets
back: ``Client._send_single_request`` asserts ``isinstance(response.stream,
<its own>.SyncByteStream)`` (``AsyncByteStream`` for ``AsyncClient``), and code above it
catches ``<its own>.ReadError``. So a transport serving both must build the response,
its byte stream and its errors from the library the *request* belongs to. Neither
library is imported here: the request's module is already loaded, and is looked up.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

__all__ = ["TransportBase", "library_of", "read_timeout", "stream_type", "transport_error"]

if TYPE_CHECKING:
    import httpx
    import httpx2

    class TransportBase(
        httpx.BaseTransport,
        httpx.AsyncBaseTransport,
        httpx2.BaseTransport,
        httpx2.AsyncBaseTransport,
    ):
        """For type checkers only: a transport of both libraries, sync and async, so that
        one object type-checks as ``transport=`` of all four clients. The two libraries'
        signatures differ only in their classes, hence the ``Any`` overrides."""

        def handle_request(self, request: Any) -> Any: ...
        async def handle_async_request(self, request: Any) -> Any: ...

else:

    class TransportBase:
        """The transports' base at run time: the context-manager protocol of httpx's
        ``BaseTransport``/``AsyncBaseTransport`` (``close``/``aclose`` on exit), without
        importing either library. Subclasses define ``close`` and ``aclose``."""

        def __enter__(self):
            return self

        def __exit__(self, exc_type, exc_value, traceback):
            self.close()

        async def __aenter__(self):
            return self

        async def __aexit__(self, exc_type, exc_value, traceback):
            await self.aclose()


_STREAM_TYPES: dict[tuple[str, type], type] = {}


def library_of(request: Any) -> ModuleType:
    """Return the module (``httpx`` or ``httpx2``) whose ``Request`` class ``request`` is.

    Raises:
        TypeError: ``request`` is not an httpx-style request.
    """
    name = type(request).__module__.partition(".")[0]
    lib = sys.modules.get(name)
    if lib is None or not all(
        hasattr(lib, attr) for attr in ("Response", "SyncByteStream", "AsyncByteStream")
    ):
        raise TypeError(
            f"expected an httpx.Request or httpx2.Request, got {type(request).__qualname__} "
            f"from {type(request).__module__}"
        )
    return lib


def stream_type(lib: ModuleType, impl: type) -> type:
    """Return a subclass of ``impl`` that is also ``lib``'s Sync- and AsyncByteStream.

    ``impl`` provides ``__iter__``/``__aiter__``/``close``/``aclose``; the result passes
    the ``isinstance`` checks of both of ``lib``'s clients. Built once per pair.
    """
    key = (lib.__name__, impl)
    cls = _STREAM_TYPES.get(key)
    if cls is None:
        cls = type(
            impl.__name__,
            (impl, lib.SyncByteStream, lib.AsyncByteStream),
            {"__module__": impl.__module__, "__qualname__": impl.__qualname__},
        )
        _STREAM_TYPES[key] = cls
    return cls


def read_timeout(request: Any) -> float | None:
    """The request's read timeout in seconds, ``None`` for none (httpx's convention)."""
    timeout = request.extensions.get("timeout")
    if isinstance(timeout, dict):
        value = timeout.get("read")
        return float(value) if value is not None else None
    return None


def transport_error(lib: ModuleType, name: str, message: str, request: Any) -> Exception:
    """Build ``lib``'s transport error named ``name`` (``ReadError`` if there is none)."""
    cls = getattr(lib, name, None)
    if not (isinstance(cls, type) and issubclass(cls, lib.TransportError)):
        cls = lib.ReadError
    error: Exception = cls(message, request=request)
    return error
