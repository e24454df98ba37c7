"""A LlamaIndex retriever over the search API: ``pip install "rag-client[llama-index]"``."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from .client import AsyncRagClient, RagClient
from .hit_metadata import hit_metadata
from .models import SearchResponse


class RagRetriever(BaseRetriever):
    """Each hit becomes a ``NodeWithScore`` (its node id is the chunk id) whose metadata carries id,
    document_id, external_id, title, heading_path, page and score."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        collection: str,
        top_k: int = 10,
        mode: Optional[str] = None,
        filters: Optional[Dict[str, Any]] = None,
        timeout: float = 30.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._base_url = base_url
        self._api_key = api_key
        self._collection = collection
        self._options: Dict[str, Any] = {"top_k": top_k, "mode": mode, "filter": filters}
        self._timeout = timeout
        self._client = RagClient(base_url, api_key, timeout=timeout)

    def _retrieve(self, query_bundle: QueryBundle) -> List[NodeWithScore]:
        return _nodes(self._client.search(self._collection, query_bundle.query_str, **self._options))

    async def _aretrieve(self, query_bundle: QueryBundle) -> List[NodeWithScore]:
        async with AsyncRagClient(self._base_url, self._api_key, timeout=self._timeout) as client:
            return _nodes(await client.search(self._collection, query_bundle.query_str, **self._options))


def _nodes(answer: SearchResponse) -> List[NodeWithScore]:
    return [
        NodeWithScore(node=TextNode(id_=hit.chunk_id, text=hit.text, metadata=hit_metadata(hit)), score=hit.score)
        for hit in answer.results
    ]
