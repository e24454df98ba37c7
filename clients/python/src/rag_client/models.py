"""What the gateway answers, as dataclasses whose fields carry the API's own names.

A test checks every class against the gateway's ``/openapi.json`` (fields, and which are required), so the
client cannot drift from the contract unnoticed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Type, TypeVar

T = TypeVar("T")


def _from_json(cls: Type[T], data: Dict[str, Any]) -> T:
    """Builds ``cls`` from an answer: known fields only, so a newer gateway's extra fields do no harm."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{name: value for name, value in data.items() if name in names})


@dataclass
class Tenant:
    id: str
    name: str


@dataclass
class ApiKeyInfo:
    id: str
    name: Optional[str]
    prefix: str
    tenant: str
    role: str
    collections: Optional[List[str]]
    principals: Optional[List[str]]
    expires_at: Optional[str]
    created_at: str
    last_used_at: Optional[str]
    revoked_at: Optional[str]


@dataclass
class CreatedApiKey(ApiKeyInfo):
    #: The key itself: shown only in this answer.
    key: str


@dataclass
class ReindexDocuments:
    done: int
    total: int


@dataclass
class CollectionReindex:
    """A collection's move to another embedding model, as the collection routes show it."""

    id: str
    #: running (the old model serves meanwhile), switched (the new one serves), cancelled or failed.
    state: str
    from_model: Optional[str]
    to_model: str
    documents: ReindexDocuments
    started_at: str
    finished_at: Optional[str]
    error: Optional[str]

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "CollectionReindex":
        answer = _from_json(cls, data)
        answer.documents = _from_json(ReindexDocuments, data["documents"])
        return answer


@dataclass
class Reindex(CollectionReindex):
    """GET /v1/collections/{name}/reindex: the move with its rate and, while it runs, the time left."""

    collection: str
    chunks_done: int
    documents_per_second: Optional[float]
    eta_seconds: Optional[float]
    #: After the switch: when the old model's vectors go, and when they went.
    drop_old_after: Optional[str]
    old_dropped_at: Optional[str]


@dataclass
class Collection:
    name: str
    created_at: str
    #: The embedding model it is on (None: the stack's default), and its manifest's sha256.
    model: Optional[str]
    model_manifest_hash: Optional[str]
    #: Its move to another model: running, or ended within the last day; None otherwise.
    reindex: Optional[CollectionReindex]

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Collection":
        # A gateway from before reindexing leaves ``reindex`` out: no move.
        answer = _from_json(cls, {"reindex": None, **data})
        if data.get("reindex") is not None:
            answer.reindex = CollectionReindex.from_json(data["reindex"])
        return answer


@dataclass
class CollectionSummary(Collection):
    """GET /v1/collections/{name}: the collection with what the caller may see of it."""

    #: Documents by status (queued, processing, ready, failed, deleting) and their total.
    documents: Dict[str, int]
    chunks: int
    last_changed_at: Optional[str]


@dataclass
class DocumentAccepted:
    id: str
    version: int
    status: str
    status_url: str
    fields_updated: Optional[List[str]] = None
    #: True when the gateway answered 200: the same content under the same external_id was already there.
    unchanged: bool = False


@dataclass
class Document:
    id: str
    external_id: Optional[str]
    title: Optional[str]
    status: str
    chunks: int
    version: int
    content_hash: str
    metadata: Dict[str, Any]
    created_at: str
    updated_at: str
    error: Optional[str] = None
    ready_version: Optional[int] = None
    media_type: Optional[str] = None
    filename: Optional[str] = None
    page_count: Optional[int] = None
    #: Principals allowed to see the document; None when the whole tenant may.
    acl: Optional[List[str]] = None


@dataclass
class DocumentChunk:
    chunk_id: str
    position: int
    text: str
    page: Optional[int]
    heading_path: List[str]
    start_offset: int
    end_offset: int


@dataclass
class DocumentChunks:
    chunks: List[DocumentChunk]
    next_cursor: Optional[str]

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "DocumentChunks":
        answer = _from_json(cls, data)
        answer.chunks = [_from_json(DocumentChunk, chunk) for chunk in data.get("chunks", [])]
        return answer


@dataclass
class SearchHit:
    document_id: str
    external_id: Optional[str]
    chunk_id: str
    score: float
    title: Optional[str]
    text: str
    highlights: List[Dict[str, int]]
    metadata: Dict[str, Any]
    page: Optional[int]
    heading_path: List[str]
    start_offset: int
    end_offset: int
    scores: Optional[Dict[str, float]] = None
    #: Each signal's own rank (from 1) of this chunk among its candidates, beside ``scores``.
    ranks: Optional[Dict[str, int]] = None


@dataclass
class SearchResponse:
    results: List[SearchHit]
    signals: List[str]
    took_ms: float
    fusion: Optional[str] = None
    weights: Optional[Dict[str, float]] = None
    next_cursor: Optional[str] = None

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "SearchResponse":
        answer = _from_json(cls, data)
        answer.results = [_from_json(SearchHit, hit) for hit in data.get("results", [])]
        return answer


@dataclass
class BatchItemResult:
    index: int
    #: The status this document alone would have had: 202 queued, 200 unchanged, 4xx refused.
    status: int
    id: Optional[str] = None
    version: Optional[int] = None
    document_status: Optional[str] = None
    status_url: Optional[str] = None
    fields_updated: Optional[List[str]] = None
    code: Optional[str] = None
    detail: Optional[str] = None
    errors: Optional[List[Dict[str, str]]] = None


@dataclass
class BatchResult:
    results: List[BatchItemResult]
    accepted: int
    unchanged: int
    rejected: int

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "BatchResult":
        answer = _from_json(cls, data)
        answer.results = [_from_json(BatchItemResult, item) for item in data.get("results", [])]
        return answer
