"""Event factories for grouping tests: plain functions with keyword overrides."""

from __future__ import annotations

import importlib.util
import json
import sys
from hashlib import md5
from pathlib import Path
from typing import Any

from workers.grouping import GroupingConfig, GroupingResult, get_config, group_event

ENVELOPES = Path(__file__).parents[2] / "fixtures" / "envelopes"
# The recorder's own envelope decoder: test inputs as the SDKs really sent them.
_spec = importlib.util.spec_from_file_location(
    "envelope_codec", ENVELOPES.parent / "record" / "envelope_codec.py"
)
codec = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("envelope_codec", codec)
_spec.loader.exec_module(codec)


def recorded_event(name: str) -> dict[str, Any]:
    """The event item of a recorded envelope, e.g. `node/message_error`."""
    sidecar = json.loads((ENVELOPES / f"{name}.json").read_text())
    body = (ENVELOPES / f"{name}.envelope").read_bytes()
    envelope = codec.parse_envelope(
        codec.decode_body(body, sidecar["headers"].get("content-encoding"))
    )
    return next(item.json() for item in envelope.items if item.type == "event")


def expected_hash(*values: str) -> str:
    """Sentry's hash_from_values, written out independently of the library."""
    return md5("".join(values).encode("utf-8")).hexdigest()


def group(event: dict[str, Any], config: GroupingConfig | None = None, **kw) -> GroupingResult:
    return group_event(event, config or get_config("v1"), **kw)


def py_frame(module="app.views", function="handle", *, in_app=True, lineno=10, **extra) -> dict:
    return {
        "module": module,
        "function": function,
        "filename": module.replace(".", "/") + ".py",
        "abs_path": "/srv/" + module.replace(".", "/") + ".py",
        "lineno": lineno,
        "in_app": in_app,
        **extra,
    }


def exception_event(
    type_="ValueError", value="bad value", frames=None, *, platform="python", **extra
) -> dict:
    exception: dict[str, Any] = {"type": type_, "value": value}
    if frames is not None:
        exception["stacktrace"] = {"frames": frames}
    return {"platform": platform, "exception": {"values": [exception]}, **extra}


def message_event(message="Something happened", *, platform="python", **extra) -> dict:
    return {"platform": platform, "logentry": {"formatted": message}, **extra}


def js_frame(function, *, url="https://cdn.example.com/static/js/main.abc123.js", **extra):
    return {
        "filename": url,
        "function": function,
        "lineno": 1,
        "colno": 1234,
        "in_app": True,
        **extra,
    }


def native_frame(function, *, package="/opt/app/bin/app", in_app=None, **extra) -> dict:
    frame = {"function": function, "package": package, "instruction_addr": "0x10001f00", **extra}
    if in_app is not None:
        frame["in_app"] = in_app
    return frame


def contributing(result: GroupingResult) -> list[tuple[str, str]]:
    """(component id, value) of the primary variant's contributing leaves."""
    assert result.explanation is not None
    variant = next(v for v in result.explanation.variants if v.name == result.variant)
    out: list[tuple[str, str]] = []

    def walk(component) -> None:
        if not component.contributes:
            return
        out.extend((component.id, value) for value in component.values)
        for child in component.children:
            walk(child)

    if variant.component is not None:
        walk(variant.component)
    return out


def hint_of(result: GroupingResult, component_id: str, variant: str | None = None) -> list:
    """(contributes, hint) of every component with this id in a variant."""
    assert result.explanation is not None
    name = variant or result.variant
    found = []

    def walk(component) -> None:
        if component.id == component_id:
            found.append((component.contributes, component.hint))
        for child in component.children:
            walk(child)

    for info in result.explanation.variants:
        if info.name == name and info.component is not None:
            walk(info.component)
    return found
