"""Every failure of a call is a RagApiError: the RFC 9457 problem the gateway answered, or a client-side one."""

from __future__ import annotations

from typing import Any, Dict, List, Optional


class RagApiError(Exception):
    """A failed call. ``status`` is 0 when no HTTP answer came (``code`` is then ``network`` or ``timeout``)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        request_id: Optional[str] = None,
        errors: Optional[List[Dict[str, Any]]] = None,
    ) -> None:
        super().__init__(f"{detail} ({status} {code})" if status else f"{detail} ({code})")
        self.status = status
        self.code = code
        self.detail = detail
        self.request_id = request_id
        self.errors = errors or []


class NetworkError(RagApiError):
    """No answer: the gateway could not be reached."""


class RequestTimeoutError(RagApiError):
    """No answer in time, or a document that did not reach the awaited status in time."""


class BadRequestError(RagApiError):
    """400 or 422: the request itself is wrong; ``errors`` names the fields."""


class AuthenticationError(RagApiError):
    """401: no credential, or one that is unknown, revoked or expired."""


class PermissionDeniedError(RagApiError):
    """403: the credential's role does not allow this."""


class NotFoundError(RagApiError):
    """404: missing, or not visible to this credential (another tenant, collection scope or ACL)."""


class ConflictError(RagApiError):
    """409: the name exists, or the collection changed under a cursor."""


class PayloadTooLargeError(RagApiError):
    """413: over a size limit the server names in ``detail``."""


class UnsupportedMediaTypeError(RagApiError):
    """415: a body or file the server does not read."""


class RateLimitedError(RagApiError):
    """429 after every retry."""


class ServiceUnavailableError(RagApiError):
    """503 after every retry: a dependency of the gateway is down."""


_by_status = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: BadRequestError,
    429: RateLimitedError,
    503: ServiceUnavailableError,
}


def error_for(status: int, body: Any, text: str, request_id: Optional[str]) -> RagApiError:
    """The typed error of a non-2xx answer: its problem+json when it is one, else the answer's own text."""
    cls = _by_status.get(status, RagApiError)
    if isinstance(body, dict) and isinstance(body.get("code"), str) and isinstance(body.get("detail"), str):
        return cls(status, body["code"], body["detail"], body.get("request_id") or request_id, body.get("errors"))
    excerpt = text.strip()[:300]
    return cls(status, f"http_{status}", f"HTTP {status}" + (f": {excerpt}" if excerpt else ""), request_id)
