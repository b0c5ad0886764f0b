"""Redaction: the one place that decides what counts as a secret and hides it.

Used by everything that writes a request to a file or a terminal: the recorder
(:class:`ssestream.testing.RecordingTransport`), ``ssestream record`` and ``ssestream
check``. The rule is deny by default: a header, query parameter or JSON field whose
*name* looks like it could carry a credential is redacted, whatever its value, because a
list of known names always misses the next gateway's (``cf-aig-authorization``,
``helicone-auth``...). A false positive costs a ``"REDACTED"`` in a recording; a false
negative leaks a key.

* Names (headers, query parameters): any name containing ``auth`` (authorization,
  authentication, ``x-auth``...), ``key``, ``token``, ``secret``, ``passw``, ``pwd``,
  ``signature``, ``cookie``, ``session``, ``credential`` or ``private``, and the words
  ``sig``, ``code``, ``jwt``, ``otp`` (``?code=`` of OAuth, ``?sig=`` of Azure SAS URLs).
  Response headers are held to the same rule except the rate-limit headers
  (``x-ratelimit-remaining-tokens`` carries a count, not a secret).
* URLs: the userinfo (``http://user:password@host``) and every secret query or fragment
  parameter.
* JSON bodies: every object field named like a credential (``api_key``, ``password``,
  ``access_token``, ``client_secret``...), at any depth; counts such as ``max_tokens``
  are kept.
* Free text (an exception message, which may quote a header value, e.g. h11's
  ``Illegal header value b'Bearer sk-...\\r'``): every given secret value, every
  ``Bearer``/``Basic`` credential, every quoted header value and every URL in it.

Invariants: the caller's objects are never mutated (a redacted copy is returned), and
redaction never raises on any input of the documented types.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "REDACTED",
    "is_secret_field",
    "is_secret_name",
    "redact_headers",
    "redact_json",
    "redact_text",
    "redact_url",
]

REDACTED = "REDACTED"
"""The value that replaces a secret."""

_SECRET_PARTS = (
    "auth",
    "key",
    "token",
    "secret",
    "passw",
    "pwd",
    "signature",
    "cookie",
    "session",
    "credential",
    "private",
)
_SECRET_WORDS = frozenset({"sig", "code", "jwt", "otp", "pass", "sas"})
_WORD = re.compile(r"[a-z0-9]+")
_RATE_LIMIT = ("ratelimit", "rate-limit", "rate_limit")

# JSON fields: the normalised name (lower case, letters and digits only) ends with one
# of these, or is one of the exact words. "max_tokens" ends with "tokens": kept.
_FIELD_SUFFIXES = (
    "apikey",
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "privatekey",
    "secretkey",
    "accesskey",
    "credential",
    "credentials",
    "authorization",
    "cookie",
    "signature",
)
_FIELD_WORDS = frozenset({"auth", "key", "sig", "session", "sessionid", "pwd", "jwt"})


def is_secret_name(name: str) -> bool:
    """Whether a header or query parameter called ``name`` may hold a credential.

    Case-insensitive. See the module docstring for the rule (deny by default).
    """
    lowered = name.lower()
    if any(part in lowered for part in _SECRET_PARTS):
        return True
    return any(word in _SECRET_WORDS for word in _WORD.findall(lowered))


def is_secret_field(name: str) -> bool:
    """Whether a JSON object field called ``name`` may hold a credential.

    Narrower than :func:`is_secret_name`, because chat request bodies are full of
    harmless names with ``token`` in them: ``api_key``, ``apiKey``, ``password``,
    ``access_token``, ``client_secret``, ``private_key`` are secret; ``max_tokens``,
    ``max_completion_tokens`` are not.
    """
    normalised = "".join(_WORD.findall(name.lower()))
    return normalised in _FIELD_WORDS or normalised.endswith(_FIELD_SUFFIXES)


def _is_rate_limit(name: str) -> bool:
    return any(part in name for part in _RATE_LIMIT)


def redact_headers(
    headers: Iterable[tuple[str, str]], *, response: bool = False
) -> tuple[tuple[str, str], ...]:
    """Return ``headers`` with secret values replaced by ``"REDACTED"``, names lower-cased.

    Every name that :func:`is_secret_name` flags is redacted; for response headers
    (``response=True``) the rate-limit headers (``x-ratelimit-remaining-tokens``...) are
    kept, since they hold counts.
    """
    redacted = []
    for name, value in headers:
        lowered = name.lower()
        secret = is_secret_name(lowered) and not (response and _is_rate_limit(lowered))
        redacted.append((lowered, REDACTED if secret else value))
    return tuple(redacted)


def _redact_params(params: str) -> str:
    parts = []
    for part in params.split("&"):
        name, eq, _ = part.partition("=")
        parts.append(f"{name}={REDACTED}" if eq and is_secret_name(name) else part)
    return "&".join(parts)


def redact_url(url: str) -> str:
    """Return ``url`` with its userinfo and its secret parameters redacted.

    ``http://me:pw@host/p?key=K&a=1#access_token=T`` becomes
    ``http://REDACTED@host/p?key=REDACTED&a=1#access_token=REDACTED``. The rest of the
    URL is kept character for character.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    end = len(rest)
    for stop in "/?#":
        found = rest.find(stop)
        if found >= 0:
            end = min(end, found)
    authority, tail = rest[:end], rest[end:]
    if "@" in authority:
        authority = f"{REDACTED}@{authority.rpartition('@')[2]}"
    head, hash_sep, fragment = tail.partition("#")
    path, query_sep, query = head.partition("?")
    if query_sep:
        query = _redact_params(query)
    if hash_sep and "=" in fragment:
        fragment = _redact_params(fragment)
    return f"{scheme}{sep}{authority}{path}{query_sep}{query}{hash_sep}{fragment}"


def redact_json(value: Any) -> Any:
    """Return a copy of a decoded JSON value with every secret field's value redacted.

    Objects are walked at any depth (iteratively: a deeply nested body cannot exhaust
    the stack); a field flagged by :func:`is_secret_field` gets ``"REDACTED"`` whatever
    it held. ``value`` itself is never changed.
    """
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while stack:
        item, parent, slot = stack.pop()
        if isinstance(item, dict):
            copy: dict[Any, Any] = {}
            parent[slot] = copy
            for key, child in item.items():
                if isinstance(key, str) and is_secret_field(key):
                    copy[key] = REDACTED
                else:
                    copy[key] = None
                    stack.append((child, copy, key))
        elif isinstance(item, list):
            items: list[Any] = [None] * len(item)
            parent[slot] = items
            stack.extend((child, items, index) for index, child in enumerate(item))
        else:
            parent[slot] = item
    return root[0]


_CREDENTIAL = re.compile(r"(?i)\b(bearer|basic|token)(\s+)[^\s'\"\\,;]+")
_QUOTED_VALUE = re.compile(r"(?i)(header value\s*)(b?(['\"]).*?\3)")
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def redact_text(text: str, secrets: Sequence[str] = ()) -> str:
    """Return ``text`` (an error message, a log line) with anything secret redacted.

    Replaces each value of ``secrets`` (also as ``repr`` would quote it, and stripped
    of surrounding whitespace), every ``Bearer``/``Basic``/``Token`` credential, the
    value quoted after "header value" (h11's and httpx's messages for an illegal header),
    and the userinfo and secret parameters of every URL.
    """
    for secret in secrets:
        forms = {secret, secret.strip(), repr(secret)[1:-1], repr(secret.encode())[2:-1]}
        for form in sorted(forms, key=len, reverse=True):  # the whole before its parts
            if len(form) >= 4:
                text = text.replace(form, REDACTED)
    text = _QUOTED_VALUE.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _CREDENTIAL.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return _URL.sub(lambda m: redact_url(m.group(0)), text)
