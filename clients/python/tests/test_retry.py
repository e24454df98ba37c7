"""Retries, checked on a transport that answers as a busy gateway would (no live stack needed)."""

from __future__ import annotations

import json
from typing import List

import httpx
import pytest

from rag_client import RagClient, RateLimitedError, RetryPolicy
from rag_client.retry import parse_retry_after

problem = {"type": "about:blank", "title": "x", "status": 429, "detail": "slow down", "code": "rate_limited", "request_id": "r"}
collections = {
    "collections": [{"name": "docs", "created_at": "2025-01-01T00:00:00Z", "model": None, "model_manifest_hash": None}]
}


def busy_then_ok(busy: List[httpx.Response]) -> httpx.MockTransport:
    answers = list(busy) + [httpx.Response(200, json=collections)]
    return httpx.MockTransport(lambda request: answers.pop(0))


def test_429_and_503_are_sent_again_after_retry_after_with_jitter() -> None:
    waits: List[float] = []
    transport = busy_then_ok(
        [
            httpx.Response(429, json=problem, headers={"retry-after": "2"}),
            httpx.Response(503, json={**problem, "status": 503, "code": "unavailable"}, headers={"retry-after": "1"}),
        ]
    )
    with RagClient("http://gw.test", "k", transport=transport, sleep=waits.append) as client:
        assert [c.name for c in client.list_collections()] == ["docs"]
    assert 2.0 <= waits[0] <= 2.5
    assert 1.0 <= waits[1] <= 1.25


def test_retries_are_bounded_and_other_errors_are_not_retried() -> None:
    calls: List[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.method == "GET":
            return httpx.Response(429, json=problem)
        return httpx.Response(409, json={**problem, "status": 409, "code": "conflict"})

    client = RagClient(
        "http://gw.test", "k", transport=httpx.MockTransport(answer), retry=RetryPolicy(attempts=3), sleep=lambda _s: None
    )
    with pytest.raises(RateLimitedError):
        client.list_collections()
    assert len(calls) == 3
    with pytest.raises(Exception):
        client.create_collection("docs")
    assert len(calls) == 4


def test_an_upload_is_streamed_again_on_each_try(tmp_path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.7\n" + b"x" * 200_000)
    bodies: List[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(len(request.read()))
        if len(bodies) == 1:
            return httpx.Response(429, json=problem, headers={"retry-after": "0"})
        return httpx.Response(202, json={"id": "d", "version": 1, "status": "queued", "status_url": "/v1/documents/d"})

    with RagClient("http://gw.test", "k", transport=httpx.MockTransport(answer), sleep=lambda _s: None) as client:
        accepted = client.upload_document("docs", path, external_id="report.pdf")
    assert accepted.status == "queued" and not accepted.unchanged
    assert len(bodies) == 2 and bodies[0] == bodies[1] > 200_000


def test_retry_after_as_seconds_or_a_date() -> None:
    assert parse_retry_after("7", now=0) == 7.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:10 GMT", now=4) == 6.0
    assert parse_retry_after("soon", now=0) is None
    assert json.dumps(problem)
