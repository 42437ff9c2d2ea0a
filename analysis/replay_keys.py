"""Replay keys: events that must group alike share one key, so each key is grouped once.

The grouping engine reads only the fields of its `Event` struct. Of those, some matter
only when a fingerprint rule reads them (`RULE_ONLY_FIELDS`: tags, release, logger,
level, sdk, transaction, culprit, request) and they vary from event to event (every
user, every release). An event's *reduced input* is the JSON object of its struct
fields as sent (raw bytes, never re-encoded), without the rule-only fields no rule of
the config reads for the event's platform family, and with only the tags rules name.
Grouping the reduced input gives the same result as grouping the event (tests check it
event by event); with the project, it is the key of the event's class.

Which fields a config reads comes from its rules (`KeySpec.for_config`): matchers
(`level:`, `logger:`, `sdk:`, `release:`, `tags.X:`) and `{{ variables }}` in
fingerprints and titles. Grouping version v1's built-in hydration rule reads
`tags.transaction` of JavaScript events, so those keep that tag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from workers.grouping import GroupingConfig
from workers.grouping.event import Event
from workers.grouping.fingerprint_vars import VARIABLE
from workers.grouping.functions import family_for_platform

FAMILIES = ("native", "javascript", "other")
RULE_ONLY_FIELDS = (
    "tags",
    "release",
    "logger",
    "level",
    "sdk",
    "transaction",
    "culprit",
    "request",
)
_MATCHER_FIELDS = {"logger": "logger", "level": "level", "sdk": "sdk", "release": "release"}
_VARIABLE_FIELDS = {"transaction": "transaction", "level": "level", "logger": "logger"}
_JSON_NAMES = dict(zip(Event.__struct_fields__, Event.__struct_encode_fields__, strict=True))
_RawEvent = msgspec.defstruct(
    "RawEvent",
    [(name, msgspec.Raw, msgspec.field(default=msgspec.Raw())) for name in Event.__struct_fields__],
    rename=_JSON_NAMES,
    gc=False,
)
_decode_raw = msgspec.json.Decoder(_RawEvent).decode
_decode_any = msgspec.json.Decoder().decode
_encode = msgspec.json.encode
_NULL = msgspec.Raw(b"null")


@dataclass(frozen=True)
class FamilySpec:
    fields: frozenset[str] = frozenset()  # rule-only fields kept whole (not tags)
    tags: frozenset[str] = frozenset()  # tag keys kept


@dataclass(frozen=True)
class KeySpec:
    """What of the rule-only fields a key keeps, per platform family."""

    native: FamilySpec = FamilySpec()
    javascript: FamilySpec = FamilySpec()
    other: FamilySpec = FamilySpec()

    def family(self, name: str) -> FamilySpec:
        return getattr(self, name)

    def covers(self, other: KeySpec) -> bool:
        """True when keys made with this spec separate everything `other` would."""
        return all(
            other.family(f).fields <= self.family(f).fields
            and other.family(f).tags <= self.family(f).tags
            for f in FAMILIES
        )

    def union(self, other: KeySpec) -> KeySpec:
        return KeySpec(
            **{
                f: FamilySpec(
                    self.family(f).fields | other.family(f).fields,
                    self.family(f).tags | other.family(f).tags,
                )
                for f in FAMILIES
            }
        )

    @classmethod
    def for_config(cls, config: GroupingConfig) -> KeySpec:
        return cls(**{f: _family_spec(config.rules_by_family[f]) for f in FAMILIES})


def _family_spec(rules) -> FamilySpec:
    fields: set[str] = set()
    tags: set[str] = set()
    for rule in rules:
        for matcher in rule.matchers:
            if matcher.key.startswith("tags."):
                tags.add(matcher.key[5:])
            elif matcher.key in _MATCHER_FIELDS:
                fields.add(_MATCHER_FIELDS[matcher.key])
        for text in (*rule.fingerprint, rule.title or ""):
            for variable in VARIABLE.findall(text):
                if variable.startswith("tags."):
                    tags.add(variable[5:])
                elif variable in _VARIABLE_FIELDS:
                    fields.add(_VARIABLE_FIELDS[variable])
    return FamilySpec(frozenset(fields), frozenset(tags))


def _kept_tags(raw: bytes, keys: frozenset[str]) -> bytes | None:
    """The tags named in `keys`, in the event's own shape (object or list of pairs)."""
    try:
        tags = _decode_any(raw)
    except msgspec.DecodeError:
        return None
    if isinstance(tags, dict):
        kept: dict | list = {k: v for k, v in tags.items() if k in keys}
    elif isinstance(tags, list):
        kept = [item for item in tags if _tag_key(item) in keys]
    else:
        return None
    return _encode(kept) if kept else None


def _tag_key(item) -> str | None:
    # The shapes the engine accepts: "key:value" strings and [key, value] pairs.
    if isinstance(item, str):
        return item.split(":", 1)[0]
    if isinstance(item, list | tuple) and item and isinstance(item[0], str):
        return item[0]
    return None


class Reducer:
    """Turns stored payloads into reduced inputs under one KeySpec."""

    def __init__(self, spec: KeySpec) -> None:
        self.spec = spec
        base = [n for n in Event.__struct_fields__ if n not in RULE_ONLY_FIELDS]
        # Per family: the fields kept, each with its `,"json name":` prefix, and the tags.
        self._plans = {
            family: (
                [(n, f',"{_JSON_NAMES[n]}":'.encode()) for n in base + sorted(fs.fields)],
                fs.tags,
            )
            for family in FAMILIES
            for fs in (spec.family(family),)
        }
        self._families: dict[bytes, str] = {}

    def _family(self, raw_platform: bytes) -> str:
        """The engine's family for this platform value; one it cannot read counts as
        missing (`decode_event` drops it), and a missing platform is "other"."""
        family = self._families.get(raw_platform)
        if family is None:
            try:
                platform = _decode_any(raw_platform) if raw_platform else None
            except msgspec.DecodeError:
                platform = None
            family = family_for_platform(platform if isinstance(platform, str) else None)
            self._families[raw_platform] = family
        return family

    def reduce(self, payload: bytes) -> bytes:
        """The reduced input: a JSON object the engine groups exactly like `payload`.
        Runs once per stored event, so it joins raw slices once instead of building
        intermediate strings (half the time of the obvious version)."""
        try:
            event: Any = _decode_raw(payload)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return payload  # not an object: the engine degrades it the same way
        fields, tag_keys = self._plans[self._family(bytes(event.platform))]
        parts: list = [b"{"]
        for name, prefix in fields:
            value = getattr(event, name)
            if value and not (len(value) == 4 and value == _NULL):
                parts.append(prefix)
                parts.append(value)
        if tag_keys and event.tags:
            tags = _kept_tags(event.tags, tag_keys)
            if tags is not None:
                parts.append(b',"tags":')
                parts.append(tags)
        if len(parts) > 1:
            parts[1] = parts[1][1:]  # the first field has no comma before it
        parts.append(b"}")
        return b"".join(parts)
