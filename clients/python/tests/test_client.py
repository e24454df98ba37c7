"""The client against a live stack: every route it has, and the errors it types."""

from __future__ import annotations

import asyncio

import pytest

from conftest import SHARED_DOCS
from rag_client import (
    AsyncRagClient,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RagClient,
)


def test_search_finds_the_document_with_its_fields(stack: dict, tenant: dict) -> None:
    with RagClient(stack["url"], tenant["key"]) as client:
        answer = client.search("handbook", "book flights and hotels", top_k=3)
    first = answer.results[0]
    assert first.external_id == "travel-policy"
    assert first.title == "Travel policy"
    assert first.metadata == {"lang": "en"}
    assert "fourteen days" in first.text
    assert answer.signals


def test_the_same_text_again_is_unchanged_and_new_text_is_the_next_version(stack: dict, tenant: dict) -> None:
    with RagClient(stack["url"], tenant["key"]) as client:
        first = client.add_document("handbook", "Parking is on level two.", external_id="parking")
        again = client.add_document("handbook", "Parking is on level two.", external_id="parking")
        assert (first.unchanged, again.unchanged, again.id) == (False, True, first.id)
        client.wait_for_document(first.id, timeout=120)
        changed = client.add_document("handbook", "Parking is on level three.", external_id="parking")
        assert (changed.id, changed.version) == (first.id, 2)


def test_chunks_page_in_reading_order(stack: dict, tenant: dict) -> None:
    with RagClient(stack["url"], tenant["key"]) as client:
        first = client.get_document_chunks(tenant["travel_id"], limit=1)
    assert [chunk.position for chunk in first.chunks] == [0]
    assert "fourteen days" in first.chunks[0].text
    assert first.next_cursor is None


def test_batch_results_one_per_document(stack: dict, tenant: dict) -> None:
    with RagClient(stack["url"], tenant["key"]) as client:
        batch = client.add_documents(
            "handbook",
            [{"external_id": "b1", "text": "First batch note."}, {"external_id": "b2", "text": " "}],
        )
    assert (batch.accepted, batch.rejected) == (1, 1)
    assert [item.status for item in batch.results] == [202, 422]
    assert batch.results[1].code == "validation_failed"


def test_uploads_a_real_file_and_polls_it_to_ready(stack: dict, tenant: dict) -> None:
    with RagClient(stack["url"], tenant["key"]) as client:
        accepted = client.upload_document(
            "handbook", SHARED_DOCS / "pdf" / "en_markitdown_test.pdf", external_id="papers/autogen.pdf"
        )
        document = client.wait_for_document(accepted.id, timeout=180)
    assert document.status == "ready", document.error
    assert document.media_type == "application/pdf"
    assert document.external_id == "papers/autogen.pdf"
    assert document.chunks > 0


def test_keys_are_created_listed_and_revoked(stack: dict, tenant: dict) -> None:
    with RagClient(stack["url"], tenant["key"]) as admin:
        reader = admin.create_api_key(tenant["id"], "reader", collections=["handbook"], name="reader")
        assert reader.key.startswith("rag_")
        assert reader.id in [key.id for key in admin.list_api_keys()]
        with RagClient(stack["url"], reader.key) as client:
            assert [c.name for c in client.list_collections()] == ["handbook"]
            with pytest.raises(PermissionDeniedError):
                client.create_collection("other")
            admin.revoke_api_key(reader.id)
            with pytest.raises(AuthenticationError):
                client.list_collections()


def test_problems_become_typed_errors(stack: dict, tenant: dict) -> None:
    with RagClient(stack["url"], tenant["key"]) as client:
        with pytest.raises(NotFoundError) as missing:
            client.get_document("00000000-0000-4000-8000-000000000000")
        assert missing.value.status == 404 and missing.value.request_id
        with pytest.raises(ConflictError):
            client.create_collection("handbook")
        with pytest.raises(BadRequestError) as invalid:
            client.search("handbook", "flights", top_k=0)
        assert any(error["path"] == "top_k" for error in invalid.value.errors)


def test_the_async_client_does_the_same(stack: dict, tenant: dict) -> None:
    async def run() -> list:
        async with AsyncRagClient(stack["url"], tenant["key"]) as client:
            accepted = await client.add_document("handbook", "The office closes at six.", external_id="hours")
            document = await client.wait_for_document(accepted.id, timeout=120)
            assert document.status == "ready"
            answer = await client.search("handbook", "when does the office close", top_k=3)
            return [hit.external_id for hit in answer.results]

    assert "hours" in asyncio.run(run())
