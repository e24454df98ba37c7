"""Python client of the rag-system retrieval API."""

from .client import AsyncRagClient, RagClient
from .errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NetworkError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RagApiError,
    RateLimitedError,
    RequestTimeoutError,
    ServiceUnavailableError,
    UnsupportedMediaTypeError,
)
from .models import Collection, Document, DocumentAccepted, SearchHit, SearchResponse
from .retry import RetryPolicy

__all__ = [
    "AsyncRagClient",
    "AuthenticationError",
    "BadRequestError",
    "Collection",
    "ConflictError",
    "Document",
    "DocumentAccepted",
    "NetworkError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RagApiError",
    "RagClient",
    "RateLimitedError",
    "RequestTimeoutError",
    "RetryPolicy",
    "SearchHit",
    "SearchResponse",
    "ServiceUnavailableError",
    "UnsupportedMediaTypeError",
]
