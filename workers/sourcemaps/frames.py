"""One frame resolved, as Sentry writes it: the original function, file, line, column
and source lines replace the minified ones, `data.sourcemap` names the map, and the
event's `raw_stacktrace` keeps the frame as the SDK sent it. A frame no map resolves
keeps its data; the event's `errors` say why."""

from __future__ import annotations

from typing import Any

from workers.sourcemaps.maps import Token
from workers.sourcemaps.urls import resolved_paths

# Event error types: Sentry's where it has one (EventError), ours otherwise.
NO_DEBUG_ID = "js_missing_debug_id"
NO_SOURCE_MAP = "js_no_source"
BAD_SOURCE_MAP = "js_invalid_source"
NO_COLUMN = "js_no_column"
BAD_LOCATION = "js_invalid_sourcemap_location"
MISSING_SOURCES_CONTENT = "js_missing_sources_content"


def resolved_frame(
    raw: dict[str, Any], token: Token, map_url: str, resolved_with: str
) -> dict[str, Any]:
    frame = dict(raw)
    abs_path, filename, module = resolved_paths(map_url, token.source)
    frame["abs_path"] = abs_path
    frame["filename"] = filename
    frame["lineno"] = token.lineno
    frame["colno"] = token.colno
    if token.function:
        frame["function"] = token.function
    if raw.get("module"):
        # The SDK named the bundle's module; the original source has its own.
        frame["module"] = module
    if token.context is not None:
        frame["pre_context"], frame["context_line"], frame["post_context"] = token.context
    else:
        for key in ("pre_context", "context_line", "post_context"):
            frame.pop(key, None)
    if "/node_modules/" in abs_path:
        frame["in_app"] = False
    data = dict(raw["data"]) if isinstance(raw.get("data"), dict) else {}
    data.update(sourcemap=map_url, resolved_with=resolved_with, symbolicated=True)
    frame["data"] = data
    return frame


def event_error(kind: str, url: str, reason: str) -> dict[str, Any]:
    return {"type": kind, "url": url, "reason": reason}
