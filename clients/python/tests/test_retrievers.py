"""The LangChain and LlamaIndex retrievers return the document just ingested, with its metadata."""

from __future__ import annotations

import asyncio

from rag_client.langchain import RagRetriever as LangChainRetriever
from rag_client.llama_index import RagRetriever as LlamaIndexRetriever


def test_langchain_retriever_invoke_and_ainvoke(stack: dict, tenant: dict) -> None:
    retriever = LangChainRetriever(base_url=stack["url"], api_key=tenant["key"], collection="handbook", top_k=3)
    for documents in (
        retriever.invoke("book flights and hotels"),
        asyncio.run(retriever.ainvoke("book flights and hotels")),
    ):
        first = documents[0]
        assert first.metadata["external_id"] == "travel-policy"
        assert first.metadata["document_id"] == tenant["travel_id"]
        assert first.metadata["title"] == "Travel policy"
        assert isinstance(first.metadata["score"], float) and "heading_path" in first.metadata
        assert "fourteen days" in first.page_content


def test_llama_index_retriever_retrieve_and_aretrieve(stack: dict, tenant: dict) -> None:
    retriever = LlamaIndexRetriever(base_url=stack["url"], api_key=tenant["key"], collection="handbook", top_k=3)
    for nodes in (
        retriever.retrieve("book flights and hotels"),
        asyncio.run(retriever.aretrieve("book flights and hotels")),
    ):
        first = nodes[0]
        assert first.node.metadata["external_id"] == "travel-policy"
        assert first.node.metadata["page"] is None
        assert first.score == first.node.metadata["score"]
        assert "fourteen days" in first.node.get_content()
