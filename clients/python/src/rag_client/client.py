"""Sync and async clients of the public API, one method per route, over httpx.

Both clients share one description of each call (``_Operations``); only sending differs. Calls turned away
with 429 or 503 are sent again (see ``retry.py``); every other failure raises a typed ``RagApiError``.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import os
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Union

import httpx

from ._call import _Call, _segment
from .errors import NetworkError, RagApiError, RequestTimeoutError, error_for
from .models import (
    ApiKeyInfo,
    BatchResult,
    Collection,
    CollectionSummary,
    CreatedApiKey,
    Document,
    DocumentAccepted,
    DocumentChunks,
    Reindex,
    SearchResponse,
    Tenant,
    _from_json,
)
from .reindex import _ReindexOperations, _ReindexWait
from .retry import RETRYABLE_STATUSES, RetryPolicy

PathLike = Union[str, "os.PathLike[str]"]


def _accepted(status: int, body: Any) -> DocumentAccepted:
    accepted = _from_json(DocumentAccepted, body)
    accepted.unchanged = status == 200
    return accepted


def _document_fields(
    external_id: Optional[str],
    title: Optional[str],
    metadata: Optional[Dict[str, Any]],
    acl: Optional[Sequence[str]],
) -> Dict[str, Any]:
    fields: Dict[str, Any] = {}
    if external_id is not None:
        fields["external_id"] = external_id
    if title is not None:
        fields["title"] = title
    if metadata is not None:
        fields["metadata"] = metadata
    if acl is not None:
        fields["acl"] = list(acl)
    return fields


class _Operations(_ReindexOperations):
    """Every route as a call description; ``_run`` sends it (and is a coroutine in the async client)."""

    def create_tenant(self, id: str, name: Optional[str] = None) -> Any:
        body: Dict[str, Any] = {"id": id, **({"name": name} if name else {})}
        return self._run(_Call("POST", "/v1/tenants", lambda _s, b: _from_json(Tenant, b), json=body))

    def create_api_key(
        self,
        tenant: str,
        role: str,
        *,
        collections: Optional[Sequence[str]] = None,
        principals: Optional[Sequence[str]] = None,
        expires_at: Optional[str] = None,
        name: Optional[str] = None,
    ) -> Any:
        body: Dict[str, Any] = {"tenant": tenant, "role": role}
        for key, value in (
            ("collections", collections),
            ("principals", principals),
            ("expires_at", expires_at),
            ("name", name),
        ):
            if value is not None:
                body[key] = list(value) if isinstance(value, (list, tuple)) else value
        return self._run(_Call("POST", "/v1/api-keys", lambda _s, b: _from_json(CreatedApiKey, b), json=body))

    def list_api_keys(self, tenant: Optional[str] = None) -> Any:
        return self._run(
            _Call(
                "GET",
                "/v1/api-keys",
                lambda _s, b: [_from_json(ApiKeyInfo, k) for k in b["keys"]],
                params={"tenant": tenant} if tenant is not None else None,
            )
        )

    def revoke_api_key(self, id: str) -> Any:
        return self._run(_Call("DELETE", f"/v1/api-keys/{_segment(id)}", lambda _s, b: b))

    def create_collection(self, name: str, *, model: Optional[str] = None) -> Any:
        """Creates a collection on ``model`` (a served model, GET /v1/models), or on the default one."""
        body = {"name": name, **({"model": model} if model is not None else {})}
        return self._run(_Call("POST", "/v1/collections", lambda _s, b: Collection.from_json(b), json=body))

    def list_collections(self) -> Any:
        return self._run(
            _Call("GET", "/v1/collections", lambda _s, b: [Collection.from_json(c) for c in b["collections"]])
        )

    def get_collection(self, name: str) -> Any:
        """The collection with its documents by status, chunks, model and its move to another model."""
        return self._run(
            _Call("GET", f"/v1/collections/{_segment(name)}", lambda _s, b: CollectionSummary.from_json(b))
        )

    def delete_collection(self, name: str) -> Any:
        return self._run(_Call("DELETE", f"/v1/collections/{_segment(name)}", lambda _s, b: b))

    def add_document(
        self,
        collection: str,
        text: str,
        *,
        external_id: Optional[str] = None,
        title: Optional[str] = None,
        metadata: Optional[Dict[str, Any]] = None,
        acl: Optional[Sequence[str]] = None,
        media_type: Optional[str] = None,
    ) -> Any:
        """Adds a text document (``media_type`` text/plain, text/markdown or text/html).

        The same text under the same external_id is a no-op (``unchanged``); other text becomes the next version.
        """
        body = {"text": text, **_document_fields(external_id, title, metadata, acl)}
        if media_type is not None:
            body["media_type"] = media_type
        return self._run(_Call("POST", f"/v1/collections/{_segment(collection)}/documents", _accepted, json=body))

    def add_documents(self, collection: str, documents: Iterable[Dict[str, Any]]) -> Any:
        """Up to 100 JSON documents in one request; each gets its own result, a bad one fails only itself."""
        return self._run(
            _Call(
                "POST",
                f"/v1/collections/{_segment(collection)}/documents/batch",
                lambda _s, b: BatchResult.from_json(b),
                json={"documents": list(documents)},
            )
        )

    def upload_document(
        self,
        collection: str,
        path: PathLike,
        *,
        external_id: Optional[str] = None,
        title: Optional[str] = None,
        metadata: Optional[Dict[str, Any]] = None,
        acl: Optional[Sequence[str]] = None,
        filename: Optional[str] = None,
    ) -> Any:
        """Uploads a file, streamed from disk; the server tells its type from the content and reads its title."""
        upload = {
            "path": os.fspath(path),
            "filename": filename or os.path.basename(os.fspath(path)),
            "fields": _document_fields(external_id, title, metadata, acl),
        }
        return self._run(
            _Call("POST", f"/v1/collections/{_segment(collection)}/documents", _accepted, upload=upload)
        )

    def get_document(self, id: str) -> Any:
        return self._run(_Call("GET", f"/v1/documents/{_segment(id)}", lambda _s, b: _from_json(Document, b)))

    def get_document_chunks(self, id: str, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> Any:
        """A page of the document's chunks in reading order; pass ``next_cursor`` for the next page."""
        params = {k: str(v) for k, v in (("limit", limit), ("cursor", cursor)) if v is not None}
        return self._run(
            _Call(
                "GET",
                f"/v1/documents/{_segment(id)}/chunks",
                lambda _s, b: DocumentChunks.from_json(b),
                params=params or None,
            )
        )

    def delete_document(self, id: str) -> Any:
        return self._run(_Call("DELETE", f"/v1/documents/{_segment(id)}", lambda _s, b: b))

    def search(
        self,
        collection: str,
        query: str,
        *,
        top_k: int = 10,
        mode: Optional[str] = None,
        filter: Optional[Dict[str, Any]] = None,
        **options: Any,
    ) -> Any:
        """Searches a collection; ``options`` are the other fields of POST /v1/search (fusion, weights, cursor...)."""
        body: Dict[str, Any] = {"collection": collection, "query": query, "top_k": top_k, **options}
        if mode is not None:
            body["mode"] = mode
        if filter is not None:
            body["filter"] = filter
        return self._run(_Call("POST", "/v1/search", lambda _s, b: SearchResponse.from_json(b), json=body))


def _timeout_error(call: _Call, base_url: str, seconds: float) -> RagApiError:
    return RequestTimeoutError(0, "timeout", f"{call.method} {call.path}: no answer from {base_url} within {seconds} s")


def _network_error(call: _Call, base_url: str, error: Exception) -> RagApiError:
    return NetworkError(0, "network", f"{call.method} {call.path}: cannot reach {base_url}: {error}")


def _unanswered(error: RagApiError) -> bool:
    """A poll that got no answer, or a server error: says nothing about the document itself."""
    return error.status == 0 or error.status >= 500


def _outcome(call: _Call, response: httpx.Response) -> Any:
    text = response.text
    try:
        body = response.json() if text else None
    except ValueError:
        body = None
    if response.is_success:
        return call.parse(response.status_code, body)
    raise error_for(response.status_code, body, text, response.headers.get("x-request-id"))


def _request_args(call: _Call) -> Dict[str, Any]:
    args: Dict[str, Any] = {}
    if call.json is not None:
        args["json"] = call.json
    if call.params is not None:
        args["params"] = call.params
    return args


def _upload_args(call: _Call, file: Any) -> Dict[str, Any]:
    """The multipart arguments of an upload: the open file (httpx streams it in chunks) and the fields."""
    assert call.upload is not None
    args: Dict[str, Any] = {"files": {"file": (call.upload["filename"], file, "application/octet-stream")}}
    if call.upload["fields"]:
        args["data"] = {"document": jsonlib.dumps(call.upload["fields"])}
    return args


def _retry_wait(retry: RetryPolicy, attempt: int, response: httpx.Response) -> Optional[float]:
    """Seconds to wait before sending the call again, or None when this answer is final."""
    if response.status_code in RETRYABLE_STATUSES and attempt < retry.attempts:
        return retry.delay(attempt, response.headers.get("retry-after"))
    return None


class _Wait:
    """One document wait: until a status in ``statuses``; polls that got no answer do not end it."""

    def __init__(self, id: str, statuses: Sequence[str], timeout: float, interval: float) -> None:
        self.id, self.statuses, self.timeout, self.interval = id, statuses, timeout, interval
        self.deadline = time.monotonic() + timeout
        self.last = "unanswered"

    def done(self, document: Document) -> bool:
        self.last = f"still {document.status}"
        return document.status in self.statuses

    def unanswered(self, error: RagApiError) -> None:
        if not _unanswered(error):
            raise error
        self.last = f"unanswered ({error.detail})"

    def check_time(self) -> None:
        if time.monotonic() + self.interval > self.deadline:
            raise RequestTimeoutError(0, "timeout", f"Document {self.id} is {self.last} after {self.timeout} s")


class RagClient(_Operations):
    """The synchronous client. Use it as a context manager, or call ``close()``."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retry: Optional[RetryPolicy] = None,
        transport: Optional[httpx.BaseTransport] = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._timeout = timeout
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"authorization": f"Bearer {api_key}", "accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> "RagClient":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _run(self, call: _Call) -> Any:
        attempt = 1
        while True:
            try:
                response = self._send(call)
            except httpx.TimeoutException:
                raise _timeout_error(call, self.base_url, self._timeout) from None
            except httpx.TransportError as error:
                raise _network_error(call, self.base_url, error) from None
            wait = _retry_wait(self._retry, attempt, response)
            if wait is None:
                return _outcome(call, response)
            self._sleep(wait)
            attempt += 1

    def _send(self, call: _Call) -> httpx.Response:
        if call.upload is None:
            return self._http.request(call.method, call.path, **_request_args(call))
        with open(call.upload["path"], "rb") as file:
            return self._http.request(call.method, call.path, **_upload_args(call, file))

    def wait_for_document(
        self,
        id: str,
        *,
        statuses: Sequence[str] = ("ready", "failed"),
        timeout: float = 60.0,
        interval: float = 0.5,
    ) -> Document:
        """Polls until the document reaches one of ``statuses``; polls that got no answer do not end the wait."""
        wait = _Wait(id, statuses, timeout, interval)
        while True:
            try:
                document = self.get_document(id)
                if wait.done(document):
                    return document
            except RagApiError as error:
                wait.unanswered(error)
            wait.check_time()
            self._sleep(interval)

    def wait_for_reindex(self, collection: str, *, timeout: float = 3600.0, poll_interval: float = 2.0) -> Reindex:
        """Polls the collection's latest move until it switched and returns it (the new model serves).

        Raises ReindexEndedError when it failed or was cancelled, RequestTimeoutError when it still runs after
        ``timeout`` seconds (the move goes on), NotFoundError when the collection has no move.
        """
        wait = _ReindexWait(collection, timeout, poll_interval)
        while True:
            try:
                reindex = self.get_reindex(collection)
            except RagApiError as error:
                wait.unanswered(error)
            else:
                if wait.ended(reindex):
                    return reindex
            wait.check_time()
            self._sleep(poll_interval)


class AsyncRagClient(_Operations):
    """The asyncio client: the same methods as ``RagClient``, each a coroutine."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retry: Optional[RetryPolicy] = None,
        transport: Optional[httpx.AsyncBaseTransport] = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._retry = retry or RetryPolicy()
        self._timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"authorization": f"Bearer {api_key}", "accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    async def __aenter__(self) -> "AsyncRagClient":
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _run(self, call: _Call) -> Any:
        attempt = 1
        while True:
            try:
                response = await self._send(call)
            except httpx.TimeoutException:
                raise _timeout_error(call, self.base_url, self._timeout) from None
            except httpx.TransportError as error:
                raise _network_error(call, self.base_url, error) from None
            wait = _retry_wait(self._retry, attempt, response)
            if wait is None:
                return _outcome(call, response)
            await asyncio.sleep(wait)
            attempt += 1

    async def _send(self, call: _Call) -> httpx.Response:
        if call.upload is None:
            return await self._http.request(call.method, call.path, **_request_args(call))
        with open(call.upload["path"], "rb") as file:
            return await self._http.request(call.method, call.path, **_upload_args(call, file))

    async def wait_for_document(
        self,
        id: str,
        *,
        statuses: Sequence[str] = ("ready", "failed"),
        timeout: float = 60.0,
        interval: float = 0.5,
    ) -> Document:
        wait = _Wait(id, statuses, timeout, interval)
        while True:
            try:
                document = await self.get_document(id)
                if wait.done(document):
                    return document
            except RagApiError as error:
                wait.unanswered(error)
            wait.check_time()
            await asyncio.sleep(interval)

    async def wait_for_reindex(
        self, collection: str, *, timeout: float = 3600.0, poll_interval: float = 2.0
    ) -> Reindex:
        """The coroutine of ``RagClient.wait_for_reindex``."""
        wait = _ReindexWait(collection, timeout, poll_interval)
        while True:
            try:
                reindex = await self.get_reindex(collection)
            except RagApiError as error:
                wait.unanswered(error)
            else:
                if wait.ended(reindex):
                    return reindex
            wait.check_time()
            await asyncio.sleep(poll_interval)


__all__: List[str] = ["RagClient", "AsyncRagClient"]
