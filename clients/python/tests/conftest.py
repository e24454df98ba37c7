"""The tests talk to a real stack: the four services, PostgreSQL, Redis and Milvus Lite (tests/live_stack.mjs)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import uuid
from typing import Iterator

import pytest

from rag_client import RagClient

HERE = pathlib.Path(__file__).parent
REPO_ROOT = HERE.parents[2]
SHARED_DOCS = REPO_ROOT.parent / "shared" / "data" / "docs"


@pytest.fixture(scope="session")
def stack() -> Iterator[dict]:
    process = subprocess.Popen(
        ["node", str(HERE / "live_stack.mjs")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    line = process.stdout.readline() if process.stdout else ""
    if not line:
        process.kill()
        raise RuntimeError("the test stack did not start (see its output above)")
    info = json.loads(line)
    try:
        yield info
    finally:
        if process.stdin:
            process.stdin.close()
        process.wait(timeout=60)


@pytest.fixture(scope="session")
def tenant(stack: dict) -> dict:
    """A tenant of its own with an admin key, and a collection holding one ready document."""
    tenant_id = f"py{uuid.uuid4().hex[:8]}"
    with RagClient(stack["url"], stack["admin_key"]) as admin:
        admin.create_tenant(tenant_id)
        key = admin.create_api_key(tenant_id, "admin").key
    with RagClient(stack["url"], key) as client:
        client.create_collection("handbook")
        accepted = client.add_document(
            "handbook",
            "Book flights and hotels through the corporate travel tool at least fourteen days before departure.",
            external_id="travel-policy",
            title="Travel policy",
            metadata={"lang": "en"},
        )
        client.add_document(
            "handbook",
            "Feed the sourdough starter with flour and water the evening before baking the bread.",
            external_id="sourdough",
        )
        document = client.wait_for_document(accepted.id, timeout=120)
        assert document.status == "ready", document
    return {"id": tenant_id, "key": key, "travel_id": accepted.id}
