"""The SDK's files (sdk/v1/ at the repository's root) as the web serves them."""

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings

import protocol

SDK_DIR = Path(settings.BASE_DIR) / "sdk" / "v1"
SCRIPT = "autoproctor.js"
DECLARATIONS = "autoproctor.d.ts"
DEMO_PAGE = "demo/index.html"
DEMO_DONE_PAGE = "demo/done.html"
# The one place in autoproctor.js where the definition goes (`const PROTOCOL = ... null;`).
PROTOCOL_MARK = "/*@@PROTOCOL@@*/ null"


@dataclass(frozen=True)
class Served:
    body: bytes
    etag: str


def _served(text: str) -> Served:
    body = text.encode()
    return Served(body=body, etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"')


@cache
def script() -> Served:
    """autoproctor.js with protocol.json written in: the SDK reads its codes, events, options
    and streams from it, and needs no request for them."""
    source = (SDK_DIR / SCRIPT).read_text(encoding="utf-8")
    if source.count(PROTOCOL_MARK) != 1:
        raise RuntimeError(f"{SCRIPT} must hold {PROTOCOL_MARK!r} exactly once")
    # Compact and with '<' escaped: the definition is data inside a script.
    definition = json.dumps(protocol.definition(), separators=(",", ":")).replace("<", "\\u003c")
    return _served(source.replace(PROTOCOL_MARK, definition))


@cache
def declarations() -> Served:
    return _served((SDK_DIR / DECLARATIONS).read_text(encoding="utf-8"))


def page(name: str) -> str:
    return (SDK_DIR / name).read_text(encoding="utf-8")
