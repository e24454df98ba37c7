"""Moving a collection to another embedding model: start (admin), follow, cancel.

The old model serves every search until the switch; ``get_reindex`` shows documents done of total, the rate
and the time left. Shared by the sync and async clients like every other route (``_run`` sends the call).
"""

from __future__ import annotations

import time
from typing import Any

from ._call import _Call, _segment
from .errors import RagApiError, RequestTimeoutError
from .models import Reindex


def _path(collection: str) -> str:
    return f"/v1/collections/{_segment(collection)}/reindex"


class ReindexEndedError(RagApiError):
    """A move awaited with ``wait_for_reindex`` ended without the switch: ``reindex.state`` is failed or cancelled.

    The collection stays on its model; ``reindex`` is the move as it ended (``reindex.error`` says why it failed).
    """

    def __init__(self, reindex: Reindex) -> None:
        how = "failed" if reindex.state == "failed" else f"was {reindex.state}"
        why = f": {reindex.error}" if reindex.error else ""
        super().__init__(
            0,
            f"reindex_{reindex.state}",
            f"The move of collection {reindex.collection} to {reindex.to_model} {how}{why}",
        )
        self.reindex = reindex


class _ReindexWait:
    """One wait for a collection's move to end; polls that got no answer (or a 5xx) do not end it."""

    def __init__(self, collection: str, timeout: float, poll_interval: float) -> None:
        self.collection, self.timeout, self.poll_interval = collection, timeout, poll_interval
        self.deadline = time.monotonic() + timeout
        self.last = "unanswered"

    def ended(self, reindex: Reindex) -> bool:
        """True once switched; raises ReindexEndedError when it failed or was cancelled."""
        if reindex.state == "switched":
            return True
        if reindex.state in ("failed", "cancelled"):
            raise ReindexEndedError(reindex)
        self.last = f"{reindex.state} ({reindex.documents.done} of {reindex.documents.total} documents)"
        return False

    def unanswered(self, error: RagApiError) -> None:
        if error.status != 0 and error.status < 500:
            raise error
        self.last = f"unanswered ({error.detail})"

    def check_time(self) -> None:
        if time.monotonic() + self.poll_interval > self.deadline:
            raise RequestTimeoutError(
                0, "timeout", f"The move of collection {self.collection} is {self.last} after {self.timeout} s"
            )


class _ReindexOperations:
    def _run(self, call: _Call) -> Any:  # pragma: no cover - implemented by the clients
        raise NotImplementedError

    def start_reindex(self, collection: str, model: str) -> Any:
        """Moves the collection to ``model`` (a served model); 409 while a move of it runs."""
        return self._run(
            _Call("POST", _path(collection), lambda _s, b: Reindex.from_json(b), json={"model": model})
        )

    def get_reindex(self, collection: str) -> Any:
        """The collection's latest move: state, documents done of total, rate and time left."""
        return self._run(_Call("GET", _path(collection), lambda _s, b: Reindex.from_json(b)))

    def cancel_reindex(self, collection: str) -> Any:
        """Cancels the running move; the old model keeps serving. 404 when none runs."""
        return self._run(_Call("DELETE", _path(collection), lambda _s, b: Reindex.from_json(b)))
