"""The client's models against the gateway's own /openapi.json: the same fields, the same required ones."""

from __future__ import annotations

import dataclasses
from typing import Any, Dict

import httpx
import pytest

from rag_client import models

# Each model and the response of the route it is read from (method, path, status).
answers = {
    models.Tenant: ("post", "/v1/tenants", "201"),
    models.CreatedApiKey: ("post", "/v1/api-keys", "201"),
    models.Collection: ("post", "/v1/collections", "201"),
    models.CollectionSummary: ("get", "/v1/collections/{name}", "200"),
    models.Reindex: ("get", "/v1/collections/{name}/reindex", "200"),
    models.DocumentAccepted: ("post", "/v1/collections/{name}/documents", "202"),
    models.Document: ("get", "/v1/documents/{id}", "200"),
    models.SearchResponse: ("post", "/v1/search", "200"),
    models.BatchResult: ("post", "/v1/collections/{name}/documents/batch", "200"),
    models.DocumentChunks: ("get", "/v1/documents/{id}/chunks", "200"),
}
# Fields of the client's own, not of the API.
client_only = {models.DocumentAccepted: {"unchanged"}}


def resolve(spec: Dict[str, Any], schema: Dict[str, Any]) -> Dict[str, Any]:
    while "$ref" in schema or "anyOf" in schema:
        if "anyOf" in schema:
            # A nullable object: the object.
            schema = next(s for s in schema["anyOf"] if s.get("type") != "null")
            continue
        name = schema["$ref"].split("/")[-1]
        schema = spec["components"]["schemas"][name]
    return schema


@pytest.fixture(scope="module")
def spec(stack: dict) -> Dict[str, Any]:
    return httpx.get(f"{stack['url']}/openapi.json").json()


def check(spec: Dict[str, Any], cls: type, schema: Dict[str, Any]) -> None:
    schema = resolve(spec, schema)
    properties = schema["properties"]
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in client_only.get(cls, set())}
    assert set(fields) == set(properties), f"{cls.__name__} fields differ from the API's"
    for name, field in fields.items():
        has_default = field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
        assert has_default == (name not in schema.get("required", [])), f"{cls.__name__}.{name}: required differs"


@pytest.mark.parametrize("cls", list(answers), ids=lambda cls: cls.__name__)
def test_models_match_the_openapi_description(spec: Dict[str, Any], cls: type) -> None:
    method, path, status = answers[cls]
    schema = spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
    check(spec, cls, schema)
    if cls is models.SearchResponse:
        check(spec, models.SearchHit, resolve(spec, schema)["properties"]["results"]["items"])
    if cls is models.DocumentChunks:
        check(spec, models.DocumentChunk, resolve(spec, schema)["properties"]["chunks"]["items"])
    if cls in (models.Collection, models.CollectionSummary):
        check(spec, models.CollectionReindex, resolve(spec, schema)["properties"]["reindex"])
    if cls is models.Reindex:
        check(spec, models.ReindexDocuments, resolve(spec, schema)["properties"]["documents"])
    if cls is models.BatchResult:
        check(spec, models.BatchItemResult, resolve(spec, schema)["properties"]["results"]["items"])
