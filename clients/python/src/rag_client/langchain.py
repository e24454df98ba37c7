"""A LangChain retriever over the search API: ``pip install "rag-client[langchain]"``."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from .client import AsyncRagClient, RagClient
from .hit_metadata import hit_metadata
from .models import SearchResponse


class RagRetriever(BaseRetriever):
    """Each hit becomes a ``Document`` whose metadata carries id, document_id, external_id, title,
    heading_path, page and score (and the document's own metadata under ``metadata``)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    base_url: str
    api_key: str
    collection: str
    top_k: int = 10
    mode: Optional[str] = None
    filters: Optional[Dict[str, Any]] = None
    timeout: float = 30.0

    _client: Optional[RagClient] = PrivateAttr(default=None)

    def _search_options(self) -> Dict[str, Any]:
        return {"top_k": self.top_k, "mode": self.mode, "filter": self.filters}

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> List[Document]:
        if self._client is None:
            self._client = RagClient(self.base_url, self.api_key, timeout=self.timeout)
        return _documents(self._client.search(self.collection, query, **self._search_options()))

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> List[Document]:
        # One client per call: an httpx.AsyncClient belongs to the event loop that made it.
        async with AsyncRagClient(self.base_url, self.api_key, timeout=self.timeout) as client:
            return _documents(await client.search(self.collection, query, **self._search_options()))


def _documents(answer: SearchResponse) -> List[Document]:
    return [Document(page_content=hit.text, metadata=hit_metadata(hit)) for hit in answer.results]
