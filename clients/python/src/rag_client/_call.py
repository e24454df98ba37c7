"""One call of the public API as both clients describe it: method, path, body, and how to read the answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional
from urllib.parse import quote


@dataclass
class _Call:
    method: str
    path: str
    parse: Callable[[int, Any], Any]
    json: Any = None
    params: Optional[Dict[str, str]] = None
    #: An upload: the file on disk and the document fields; the file is opened afresh for each try.
    upload: Optional[Dict[str, Any]] = None


def _segment(value: str) -> str:
    return quote(value, safe="")
