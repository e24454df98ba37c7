"""What both framework retrievers put in a document's metadata for one search hit, so they agree."""

from __future__ import annotations

from typing import Any, Dict

from .models import SearchHit


def hit_metadata(hit: SearchHit) -> Dict[str, Any]:
    return {
        "id": hit.chunk_id,
        "document_id": hit.document_id,
        "external_id": hit.external_id,
        "title": hit.title,
        "heading_path": list(hit.heading_path),
        "page": hit.page,
        "score": float(hit.score),
        "metadata": dict(hit.metadata),
    }
