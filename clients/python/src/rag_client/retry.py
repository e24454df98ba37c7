"""When a call the gateway turned away is sent again.

429 (rate limited) and 503 (a dependency is down, or the gateway is draining) mean the request was not
carried out, so sending it again is safe for every route, writes included: the gateway takes a document back
when it could not queue it, and the same content under the same external_id is a no-op.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Callable, Optional

RETRYABLE_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    #: Tries in all, the first included; 1 turns retries off.
    attempts: int = 8
    #: The longest single wait, in seconds, whatever Retry-After says.
    max_delay: float = 60.0
    #: The first wait when the answer names none; it doubles with each try.
    base_delay: float = 0.5

    def delay(
        self,
        attempt: int,
        retry_after: Optional[str],
        rand: Callable[[], float] = random.random,
        now: Optional[float] = None,
    ) -> float:
        """Seconds to wait before try ``attempt + 1``.

        A Retry-After the server sent is a floor; up to a quarter more is added at random so that clients
        turned away together do not come back together. Without one: exponential backoff, full jitter.
        """
        asked = parse_retry_after(retry_after, time.time() if now is None else now)
        if asked is None:
            wait = rand() * self.base_delay * 2 ** (attempt - 1)
        else:
            wait = asked * (1 + rand() / 4)
        return max(0.0, min(self.max_delay, wait))


def parse_retry_after(value: Optional[str], now: float) -> Optional[float]:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None
