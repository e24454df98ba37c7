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
from .models import (
    Collection,
    CollectionReindex,
    CollectionSummary,
    Document,
    DocumentAccepted,
    Reindex,
    SearchHit,
    SearchResponse,
)
from .reindex import ReindexEndedError
from .retry import RetryPolicy

__all__ = [
    "AsyncRagClient",
    "AuthenticationError",
    "BadRequestError",
    "Collection",
    "CollectionReindex",
    "CollectionSummary",
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
    "Reindex",
    "ReindexEndedError",
    "RequestTimeoutError",
    "RetryPolicy",
    "SearchHit",
    "SearchResponse",
    "ServiceUnavailableError",
    "UnsupportedMediaTypeError",
]
