"""Request/response records passed between the HTTP layer and the API modules."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any


class HeaderDict(dict):
    """A dict of HTTP headers with case-insensitive lookup (keys stored lower-case)."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__()
        for key, value in dict(items).items():
            self[key] = value

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key.lower(), value)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: HeaderDict
    body: bytes
    raw_path: str = ""
    request_id: str = ""

    def json(self) -> dict:
        """The JSON body as a dict ({} when empty); raises ValueError if malformed."""
        if not self.body.strip():
            return {}
        data = json.loads(self.body)
        if not isinstance(data, dict):
            raise ValueError("JSON body is not an object")
        return data


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(payload: dict, status: int = 200) -> Response:
    return Response(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})


def html_response(title: str, text: str, status: int = 200) -> Response:
    page = (
        f"<!DOCTYPE html><html><head><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>\n"
    )
    return Response(status, page.encode(), {"Content-Type": "text/html; charset=utf-8"})
