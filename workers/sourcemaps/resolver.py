"""Resolve a batch's minified JavaScript frames before it is grouped.

For the events of projects that uploaded artifacts: probe each for resolvable frames,
locate their maps for the whole batch (`locate`), resolve every frame with the parsed
map (`maps`), and write the event back with resolved frames, its raw stack traces and
the reasons frames stayed unresolved (`frames`). Other events pass through untouched.

A bad map, a missing file or an event this code trips over never fails the batch: the
event keeps its frames, says why, and is grouped on what it has.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import msgspec
from symbolic.exceptions import SymbolicError

from core.artifacts.store import ArtifactStore
from core.storage.postgres import Pool
from core.wire import QueuedEvent
from workers.sourcemaps import frames
from workers.sourcemaps.index import ArtifactIndex
from workers.sourcemaps.locate import Location, Unresolved, locate
from workers.sourcemaps.maps import BadMap, MapCache, ParsedMap, parse_map
from workers.sourcemaps.probe import FrameRef, Probe, probe

log = logging.getLogger(__name__)

_decode_event = msgspec.json.decode
_encode_event = msgspec.json.encode


@dataclass
class Resolved:
    # The batch's events, in order, resolved where resolution changed them.
    events: list[QueuedEvent]
    # The events it changed (stored to ClickHouse's processed_events).
    changed: list[QueuedEvent] = field(default_factory=list)
    frames_resolved: int = 0
    frames_unresolved: int = 0


@dataclass
class _Outcome:
    """One frame: its resolved form, or the error the event records."""

    frame: FrameRef
    token: Any = None
    location: Location | None = None
    error: tuple[str, str] | None = None


class SourceMapResolver:
    def __init__(self, pool: Pool, store: ArtifactStore, *, max_maps: int) -> None:
        self.index = ArtifactIndex(pool)
        self.store = store
        self.maps = MapCache(max_maps)

    def resolve(self, events: list[QueuedEvent]) -> Resolved:
        result = Resolved(events=list(events))
        projects = self.index.projects_with_artifacts(sorted({e.project_id for e in events}))
        if not projects:
            return result
        probed = [
            (position, found)
            for position, event in enumerate(events)
            if event.project_id in projects and (found := probe(event.payload)) is not None
        ]
        if not probed:
            return result
        items = [(events[position].project_id, p) for position, p in probed]
        locations = locate(self.index, items)
        used_bundles: set[int] = set()
        for (position, found), located in zip(probed, locations, strict=True):
            event = events[position]
            outcomes = [self._resolve_frame(f, located[i]) for i, f in enumerate(found.frames)]
            used_bundles.update(o.location.source_map.bundle_id for o in outcomes if o.location)
            try:
                payload = rewrite(event.payload, found, outcomes)
            except (msgspec.DecodeError, TypeError, KeyError, IndexError, ValueError):
                log.exception("event %s: resolved frames could not be written back", event.event_id)
                continue
            if payload is None:
                continue
            changed = msgspec.structs.replace(event, payload=payload)
            result.events[position] = changed
            result.changed.append(changed)
            result.frames_resolved += sum(o.token is not None for o in outcomes)
            result.frames_unresolved += sum(o.token is None for o in outcomes)
        self.index.touch(used_bundles)
        return result

    def _resolve_frame(self, frame: FrameRef, where: Location | Unresolved) -> _Outcome:
        if isinstance(where, Unresolved):
            return _Outcome(frame, error=(where.kind, where.reason))
        parsed = self._parsed(where)
        if isinstance(parsed, BadMap):
            return _Outcome(frame, error=(frames.BAD_SOURCE_MAP, f"{where.map_url}: {parsed}"))
        if frame.colno is None:
            return _Outcome(frame, error=(frames.NO_COLUMN, "the frame has no column number"))
        try:
            token = parsed.lookup(frame.lineno, frame.colno, frame.function)
        except SymbolicError as e:
            return _Outcome(frame, error=(frames.BAD_SOURCE_MAP, f"{where.map_url}: {e}"))
        if token is None:
            reason = f"line {frame.lineno}, column {frame.colno} is not in {where.map_url}"
            return _Outcome(frame, error=(frames.BAD_LOCATION, reason))
        return _Outcome(frame, token=token, location=where)

    def _parsed(self, where: Location) -> ParsedMap | BadMap:
        minified_sha1 = where.minified.sha1 if where.minified else ""
        key = (where.source_map.sha1, minified_sha1)
        parsed = self.maps.get(key)
        if parsed is not None:
            return parsed
        map_bytes = self.store.read_file(where.source_map.sha1)
        minified = self.store.read_file(minified_sha1) if minified_sha1 else None
        if map_bytes is None:
            parsed = BadMap("the map's file is missing from the artifact folder")
        else:
            try:
                parsed = parse_map(map_bytes, minified)
            except BadMap as e:
                parsed = e
        self.maps.put(key, parsed)
        return parsed


def rewrite(payload: bytes, found: Probe, outcomes: list[_Outcome]) -> bytes | None:
    """The event with its resolved frames and errors, or None when nothing changes."""
    resolved = [o for o in outcomes if o.token is not None]
    errors = [
        frames.event_error(o.error[0], o.frame.path, o.error[1])
        for o in outcomes
        if o.error is not None and o.frame.in_app is not False
    ]
    if not resolved and not errors:
        return None
    event = _decode_event(payload)
    values = event["exception"]["values"]
    for exception_index in sorted({o.frame.exception for o in resolved}):
        stacktrace = values[exception_index]["stacktrace"]
        raw_frames = stacktrace["frames"]
        values[exception_index]["raw_stacktrace"] = {**stacktrace, "frames": raw_frames}
        stacktrace["frames"] = list(raw_frames)
    for o in resolved:
        assert o.location is not None
        stack_frames = values[o.frame.exception]["stacktrace"]["frames"]
        stack_frames[o.frame.frame] = frames.resolved_frame(
            stack_frames[o.frame.frame], o.token, o.location.map_url, o.location.resolved_with
        )
    if errors:
        existing = event.get("errors") if isinstance(event.get("errors"), list) else []
        seen = {(e.get("type"), e.get("url")) for e in existing if isinstance(e, dict)}
        for error in errors:
            if (error["type"], error["url"]) not in seen:
                seen.add((error["type"], error["url"]))
                existing.append(error)
        event["errors"] = existing
    return _encode_event(event)
