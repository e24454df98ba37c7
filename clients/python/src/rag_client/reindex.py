"""Moving a collection to another embedding model: start (admin), follow, cancel.

The old model serves every search until the switch; ``get_reindex`` shows documents done of total, the rate
and the time left. Shared by the sync and async clients like every other route (``_run`` sends the call).
"""

from __future__ import annotations

from typing import Any

from ._call import _Call, _segment
from .models import Reindex


def _path(collection: str) -> str:
    return f"/v1/collections/{_segment(collection)}/reindex"


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
