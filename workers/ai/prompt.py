"""The analysis prompt: compact, secret-free, versioned.

Built only from fields chosen for the purpose (title, culprit, exception chain,
the innermost in-app frames with a few source lines, tag/release/environment
distributions, first/last seen, parameterized messages). Request data, user
data, extra, breadcrumbs, local variables and contexts (including the seeder's
ground truth in `contexts.seed`) are never read. Everything that is read goes
through `redact`, messages also through the grouping engine's parameterization.

Changing the wording or the facts included is a new PROMPT_VERSION: cached
answers are keyed by it, so a new version re-analyzes issues on their next run.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from workers.ai.event_view import EventView, Frame, frame_location, in_app_frames, text
from workers.ai.facts import GroupFacts, SampleEvent
from workers.ai.redact import is_sensitive_name, mask_identities, redact_code_line, redact_text
from workers.ai.schema import CATEGORIES, SEVERITIES
from workers.grouping.parameterize import normalize_message

PROMPT_VERSION = "issue-analysis-1"
MAX_FRAMES = 5
MAX_MESSAGES = 4
MAX_TAG_KEYS = 6
MAX_LINE_CHARS = 160

# Tags that identify people or requests, or carry the seeder's labels: never in a prompt.
_EXCLUDED_TAG_KEYS = frozenset(
    {
        "user",
        "user.id",
        "user.email",
        "user.ip",
        "user.username",
        "ip",
        "email",
        "url",
        "request_id",
        "trace",
        "trace_id",
        "span_id",
        "release",
        "environment",
        "level",
    }
)

SYSTEM_PROMPT = f"""You triage issues for an error-monitoring service, as a senior engineer.
You get one issue: its title and culprit (where it was raised), the exception chain, the \
innermost application stack frames with source lines, how often and where it happens, and \
example messages in which variable parts are replaced by placeholders such as <int>.

Answer with one JSON object and nothing else, with these keys:
"summary": at most two sentences; name the exception type and the culprit.
"likely_cause": the most probable root cause, from the evidence given.
"suggested_fix": a concrete change, pointing at the code in the frames when you can.
"severity": one of {", ".join(f'"{s}"' for s in SEVERITIES)}.
"severity_reason": one sentence.
"category": one of {", ".join(f'"{c}"' for c in CATEGORIES)}.

Severity: critical = data loss, a security problem, or a core flow down for most users; \
high = a core flow failing for some users, or crashes; medium = a degraded feature with a \
workaround; low = cosmetic, expected or noisy errors.
Use only the facts given; say so when they are not enough."""


@dataclass(frozen=True)
class Prompt:
    system: str
    user: str
    version: str
    # What the answer depends on: same key, same prompt version and model = a cache hit.
    input_key: str


def _clip(line: str, limit: int = MAX_LINE_CHARS) -> str:
    line = line.rstrip()
    return line if len(line) <= limit else line[: limit - 3] + "..."


def safe_message(value: str, limit: int = 200) -> str:
    """A message fit for a prompt: secrets masked, then ids, numbers, emails... parameterized."""
    return _clip(normalize_message(redact_text(value)).replace("\n", " "), limit)


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _header(facts: GroupFacts) -> list[str]:
    group = facts.group
    users = len({e.user_key for e in facts.events if e.user_key})
    platform = next((e.platform for e in facts.events if e.platform), "unknown")
    return [
        f"Issue: {safe_message(group.title)}",
        f"Culprit: {_clip(redact_text(group.culprit)) or 'unknown'}",
        f"Level: {group.level}; platform: {platform}; status: {group.status}",
        f"Events: {group.times_seen}; users in the latest {len(facts.events)} events: {users}",
        f"First seen: {_when(group.first_seen)}; last seen: {_when(group.last_seen)}",
    ]


def _exception_chain(view: EventView | None, newest: SampleEvent | None) -> list[str]:
    # Sentry lists a chain cause first; the last exception is the one raised.
    lines = ["Exception chain (cause first, raised last):"]
    exceptions = view.exceptions if view is not None else []
    for index, exc in enumerate(exceptions[-4:], start=1):
        kind = text(exc.type) or "Error"
        value = safe_message(text(exc.value)) if exc.value else ""
        mechanism = exc.mechanism
        how = ""
        if mechanism is not None and mechanism.handled is False:
            how = f" [unhandled, {text(mechanism.type) or 'mechanism unknown'}]"
        lines.append(f"  {index}. {kind}{': ' + value if value else ''}{how}")
    if len(lines) == 1 and newest is not None and newest.exception_type:
        lines.append(f"  1. {newest.exception_type}: {safe_message(newest.exception_value)}")
    return lines if len(lines) > 1 else []


def _frame_lines(frame: Frame) -> list[str]:
    lineno = frame.lineno if isinstance(frame.lineno, int) else None
    where = frame_location(frame) + (f":{lineno}" if lineno else "")
    lines = [f"  at {text(frame.function) or '?'} ({_clip(where, 120)})"]
    pre = frame.pre_context if isinstance(frame.pre_context, list) else []
    post = frame.post_context if isinstance(frame.post_context, list) else []
    context = [(" ", line) for line in pre[-2:]]
    if frame.context_line:
        context.append((">", text(frame.context_line)))
    context += [(" ", line) for line in post[:1]]
    for marker, line in context:
        if not text(line).strip():
            continue
        lines.append(f"    {marker} {_clip(redact_code_line(text(line)))}")
    return lines


def _frames(view: EventView | None) -> list[str]:
    frames = in_app_frames(view.frames, MAX_FRAMES) if view is not None else []
    if not frames:
        return []
    lines = ["Top application frames (innermost first):"]
    for frame in frames:
        lines.extend(_frame_lines(frame))
    return lines


def _distribution(label: str, values: list[str], top: int = 4) -> str | None:
    counts = Counter(v for v in values if v)
    if not counts:
        return None
    shown = ", ".join(f"{_clip(v, 60)} x{n}" for v, n in counts.most_common(top))
    more = len(counts) - top
    return f"{label}: {shown}{f' (+{more} more)' if more > 0 else ''}"


def _tags(events: list[SampleEvent]) -> list[str]:
    keys = Counter(
        key
        for e in events
        for key in e.tags
        if key.lower() not in _EXCLUDED_TAG_KEYS
        and not key.lower().startswith("seed")
        and not is_sensitive_name(key)
    )
    lines = []
    for key, _ in keys.most_common(MAX_TAG_KEYS):
        # Not parameterized: versions ("Chrome 120") matter here; identities are masked.
        values = [mask_identities(redact_text(e.tags[key])) for e in events if key in e.tags]
        line = _distribution(f"  {_clip(key, 40)}", values, top=3)
        if line:
            lines.append(line)
    return ["Tags:", *lines] if lines else []


def _distributions(events: list[SampleEvent]) -> list[str]:
    lines = [
        _distribution("Releases", [e.release for e in events]),
        _distribution("Environments", [e.environment for e in events]),
    ]
    return [line for line in lines if line] + _tags(events)


def _messages(events: list[SampleEvent]) -> list[str]:
    counts = Counter(safe_message(e.exception_value or e.message) for e in events)
    counts.pop("", None)
    if not counts:
        return []
    lines = ["Messages (parameterized, most frequent first):"]
    lines += [f"  - {message} (x{n})" for message, n in counts.most_common(MAX_MESSAGES)]
    return lines


def _input_key(facts: GroupFacts, view: EventView | None) -> str:
    """Stable across new events of the same issue; changes when its code path or releases do."""
    frames = in_app_frames(view.frames, MAX_FRAMES) if view is not None else []
    parts = [
        PROMPT_VERSION,
        safe_message(facts.group.title),
        facts.group.culprit,
        *(text(e.type) for e in (view.exceptions if view is not None else [])),
        *(f"{frame_location(f)}:{text(f.function)}" for f in frames),
        *sorted({e.release for e in facts.events if e.release}),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def build_prompt(facts: GroupFacts) -> Prompt:
    newest = facts.events[0] if facts.events else None
    view = facts.views[0] if facts.views else None
    sections = [
        _header(facts),
        _exception_chain(view, newest),
        _frames(view),
        _distributions(facts.events),
        _messages(facts.events),
    ]
    user = "\n".join("\n".join(section) for section in sections if section)
    return Prompt(
        system=SYSTEM_PROMPT,
        user=user,
        version=PROMPT_VERSION,
        input_key=_input_key(facts, view),
    )


def estimated_tokens(prompt: Prompt, answer_tokens: int) -> int:
    # Four characters a token is close for English and code under common tokenizers.
    return (len(prompt.system) + len(prompt.user)) // 4 + answer_tokens
