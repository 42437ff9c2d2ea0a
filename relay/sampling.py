"""Dynamic sampling: the kept fraction follows each project's measured volume.

The rate comes from the project's tiers (by default above 10,000 events a minute keep
1%, above 1,000 keep 10%, else everything). Whether an event is kept depends only on
its trace id and the rate, so every relay keeps or drops a trace whole, errors and
transactions alike. An event whose grouping signature this relay has never seen is
always kept: its issue must not be sampled away. The signature is coarser-than-nothing
but finer than any fingerprint (exception types, number-free values, every frame's
module or file and function, the message template, the client fingerprint), so a new
issue always has a new signature; the memory of signatures is local and bounded, and
forgetting one only keeps an event that could have been dropped.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict

from core.project_config import SamplingSettings
from relay.event_view import EventView

_DIGITS = re.compile(r"\d+|0x[0-9a-f]+", re.IGNORECASE)
_SEEN_LIMIT = 200_000


def sample_rate(settings: SamplingSettings, per_minute: float) -> float:
    if not settings.enabled:
        return 1.0
    for tier in settings.tiers:  # highest threshold first (SamplingSettings)
        if per_minute > tier.above_per_minute:
            return tier.sample_rate
    return 1.0


def trace_fraction(trace_id: str) -> float:
    """A uniform number in [0, 1) fixed by the trace id (its first 8 hex digits)."""
    head = trace_id[:8]
    try:
        return int(head, 16) / 0x1_0000_0000
    except ValueError:
        digest = hashlib.blake2b(trace_id.encode(), digest_size=4).digest()
        return int.from_bytes(digest, "big") / 0x1_0000_0000


def kept(trace_id: str, rate: float) -> bool:
    return rate >= 1.0 or trace_fraction(trace_id) < rate


def signature(view: EventView) -> str:
    parts: list[str] = []
    for exception in view.exceptions():
        parts += [str(exception.type), _DIGITS.sub("0", str(exception.value or ""))[:200]]
        for frame in exception.frames:
            parts.append(f"{frame.module or frame.filename}:{frame.function}")
    if view.logentry is not None:
        parts.append(_DIGITS.sub("0", str(view.logentry.message or view.logentry.formatted)))
    if view.message is not None:
        parts.append(_DIGITS.sub("0", str(view.message))[:200])
    if view.fingerprint is not None:
        parts.append(repr(view.fingerprint))
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()


class SeenSignatures:
    """Signatures this relay has kept, newest last; bounded, forgetting the oldest."""

    def __init__(self, limit: int = _SEEN_LIMIT) -> None:
        self._seen: OrderedDict[tuple[int, str], None] = OrderedDict()
        self._limit = limit

    def first_time(self, project_id: int, signature_: str) -> bool:
        key = (project_id, signature_)
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self._limit:
            self._seen.popitem(last=False)
        return True
