"""Moving a collection to another embedding model with the client, against the live stack's two models."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from typing import Callable, Iterator, List

import httpx
import pytest

from rag_client import (
    AsyncRagClient,
    CollectionReindex,
    ConflictError,
    NotFoundError,
    RagClient,
    Reindex,
    ReindexEndedError,
    RequestTimeoutError,
    RetryPolicy,
)

DOCUMENTS = 6


def served_models(stack: dict, key: str) -> dict:
    """The default model's name and another one's, as GET /v1/models lists them."""
    answer = httpx.get(f"{stack['url']}/v1/models", headers={"authorization": f"Bearer {key}"})
    models = answer.json()["data"]
    return {
        "default": next(m["id"] for m in models if m["default"]),
        "other": next(m["id"] for m in models if not m["default"]),
    }


def fill(client: RagClient, collection: str) -> None:
    client.create_collection(collection)
    accepted = [
        client.add_document(collection, f"Note {i} on servicing the {('pump', 'valve', 'fan')[i % 3]}.")
        for i in range(DOCUMENTS)
    ]
    for document in accepted:
        assert client.wait_for_document(document.id, timeout=120).status == "ready"


@pytest.fixture()
def writer_lock(stack: dict, tenant: dict) -> Iterator[Callable[[str], None]]:
    """Holds a collection's writer lock as a worker would: a move writes and switches under it, so it waits."""
    held = []

    def hold(collection: str) -> None:
        query = (
            f"SELECT id FROM \"{stack['schema']}\".collections"
            f" WHERE tenant_id = '{tenant['id']}' AND name = '{collection}'"
        )
        collection_id = subprocess.run(
            ["psql", stack["database_url"], "-Atc", query], capture_output=True, text=True, check=True
        ).stdout.strip()
        key = f"{stack['redis_prefix']}:collection-writer:{collection_id}"
        answer = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "SET", key, uuid.uuid4().hex, "PX", "300000", "NX"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert answer.stdout.strip() == "OK"
        held.append(key)

    yield hold
    for key in held:
        subprocess.run(["redis-cli", "-h", "127.0.0.1", "DEL", key], capture_output=True, check=True)


def test_a_collection_moves_to_another_model_and_shows_it(stack: dict, tenant: dict) -> None:
    models = served_models(stack, tenant["key"])
    with RagClient(stack["url"], tenant["key"]) as client:
        fill(client, "manuals")
        started = client.start_reindex("manuals", models["other"])
        assert isinstance(started, Reindex)
        assert (started.collection, started.state, started.to_model) == ("manuals", "running", models["other"])
        assert started.from_model == models["default"]
        assert started.documents.total == DOCUMENTS
        reindex = client.wait_for_reindex("manuals", timeout=120, poll_interval=0.25)
        assert isinstance(reindex, Reindex)
        assert (reindex.id, reindex.state, reindex.error) == (started.id, "switched", None)
        assert (reindex.documents.done, reindex.chunks_done) == (DOCUMENTS, DOCUMENTS)
        assert reindex.drop_old_after is not None and reindex.eta_seconds is None

        summary = client.get_collection("manuals")
        assert summary.model == models["other"] and summary.model_manifest_hash
        assert summary.documents["ready"] == DOCUMENTS
        assert isinstance(summary.reindex, CollectionReindex)
        assert (summary.reindex.id, summary.reindex.state, summary.reindex.to_model) == (
            started.id,
            "switched",
            models["other"],
        )
        listed = next(c for c in client.list_collections() if c.name == "manuals")
        assert listed.reindex == summary.reindex
        assert client.search("manuals", "servicing the valve", top_k=2, mode="dense").results
        with pytest.raises(NotFoundError):
            client.cancel_reindex("manuals")


def test_the_async_client_starts_follows_and_cancels_a_move(
    stack: dict, tenant: dict, writer_lock: Callable[[str], None]
) -> None:
    models = served_models(stack, tenant["key"])
    with RagClient(stack["url"], tenant["key"]) as client:
        fill(client, "guides")
        created = client.create_collection("on-other", model=models["other"])
        assert (created.model, created.reindex) == (models["other"], None)
    writer_lock("guides")

    async def run() -> None:
        async with AsyncRagClient(stack["url"], tenant["key"]) as client:
            started = await client.start_reindex("guides", models["other"])
            with pytest.raises(ConflictError):
                await client.start_reindex("guides", models["other"])
            running = await client.get_reindex("guides")
            assert (running.id, running.state, running.documents.done) == (started.id, "running", 0)
            summary = await client.get_collection("guides")
            assert summary.model is None and summary.reindex.state == "running"
            # Held still by the writer lock, the move is still running when the wait's time is up.
            with pytest.raises(RequestTimeoutError) as timed_out:
                await client.wait_for_reindex("guides", timeout=1, poll_interval=0.2)
            assert "move of collection guides is running (0 of 6 documents) after 1 s" in str(timed_out.value)
            assert (await client.get_reindex("guides")).state == "running"
            cancelled = await client.cancel_reindex("guides")
            assert (cancelled.id, cancelled.state) == (started.id, "cancelled")
            assert cancelled.finished_at is not None
            with pytest.raises(ReindexEndedError) as ended:
                await client.wait_for_reindex("guides", timeout=30, poll_interval=0.2)
            assert (ended.value.code, ended.value.reindex.id, ended.value.reindex.state) == (
                "reindex_cancelled",
                started.id,
                "cancelled",
            )
            assert f"to {models['other']} was cancelled" in str(ended.value)
            after = await client.get_collection("guides")
            assert after.model is None and after.reindex.state == "cancelled"

    asyncio.run(run())


def test_waiting_ends_with_an_error_naming_why_a_move_failed() -> None:
    """On a transport answering as the gateway does: a 503 poll does not end the wait, a failed move does."""
    failed = {
        "id": "6f1c2a1e-0000-4000-8000-000000000001",
        "collection": "manuals",
        "state": "failed",
        "from_model": "tiny-a",
        "to_model": "tiny-b",
        "documents": {"done": 2, "total": 6},
        "chunks_done": 2,
        "documents_per_second": None,
        "eta_seconds": None,
        "started_at": "2026-01-01T00:00:00.000Z",
        "finished_at": "2026-01-01T00:00:05.000Z",
        "error": "embedding service for tiny-b unreachable",
        "drop_old_after": None,
        "old_dropped_at": None,
    }
    busy = {"type": "about:blank", "title": "x", "status": 503, "detail": "busy", "code": "unavailable"}
    answers = [
        httpx.Response(503, json=busy),
        httpx.Response(200, json={**failed, "state": "running"}),
        httpx.Response(200, json=failed),
    ]
    paths: List[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return answers.pop(0)

    transport = httpx.MockTransport(answer)
    client = RagClient("http://gw.test", "k", transport=transport, retry=RetryPolicy(attempts=1), sleep=lambda _s: None)
    with pytest.raises(ReindexEndedError) as ended:
        client.wait_for_reindex("manuals", timeout=60, poll_interval=0.01)
    assert paths == ["/v1/collections/manuals/reindex"] * 3
    assert ended.value.code == "reindex_failed" and ended.value.reindex.state == "failed"
    assert str(ended.value) == (
        "The move of collection manuals to tiny-b failed: embedding service for tiny-b unreachable (reindex_failed)"
    )
