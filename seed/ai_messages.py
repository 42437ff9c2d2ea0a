"""AI-written error messages for `seed --ai`, cached so runs reproduce offline.

One prompt per (family, platform) asks a chat model for realistic production
error messages with their variable parts marked as `{placeholders}`. Answers
are cached in `fixtures/seed/ai_messages.json`, keyed by the prompt, each entry
saying where it came from. Without an endpoint or key the cache is used (and
the command says so); with one, entries that did not come from a model are
regenerated, model-written ones are reused (`--ai-refresh` regenerates all).

Errors: AIMessagesError when the model's answer cannot be used.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.settings import Settings
from seed.catalogue import AIMessages
from seed.catalogue.common import AIMessage
from seed.errors import AIMessagesError
from seed.model import SEVERITIES
from seed.projects import SeedProject

CACHE_PATH = Path(__file__).resolve().parents[1] / "fixtures" / "seed" / "ai_messages.json"
HAND_WRITTEN = "hand-written starter set (not model output); regenerate with --ai and an endpoint"
MESSAGES_PER_PROMPT = 8
_TYPE = re.compile(r"^[A-Za-z_$][\w$.]{0,99}$")
_CATEGORY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")

FAMILY_TEXT = {
    "javascript": "JavaScript runtime errors (TypeError, ReferenceError, RangeError, "
    "SyntaxError, ...) in application code",
    "api": "errors calling other HTTP APIs: timeouts, 5xx and 4xx answers, refused connections, "
    "rate limits, unreadable responses",
    "database": "database errors: deadlocks, constraint violations, lost connections, statement "
    "timeouts, exhausted connection pools",
    "validation": "input validation failures: missing fields, bad formats, out-of-range values, "
    "unknown enum values",
    "python": "everyday Python exceptions (KeyError, AttributeError, TypeError, ValueError, ...)",
    "java": "everyday JVM exceptions (NullPointerException, IllegalStateException, ...)",
}
PLATFORM_TEXT = {
    "javascript": "a React single-page storefront running in browsers",
    "node": "a Node.js API (Express, Prisma, axios)",
    "python": "a Django REST Framework and Celery order service on PostgreSQL (psycopg 3)",
    "java": "a Spring Boot 3 billing service on PostgreSQL (JDBC, Hibernate)",
}
PLACEHOLDERS = (
    "{id}, {order_id}, {user_id}, {email}, {url}, {uuid}, {ms}, {n}, {amount}, {name}, {word}"
)


def prompt(family: str, platform: str) -> str:
    return (
        "You write realistic production error messages for a synthetic-traffic generator.\n"
        f"Service: {PLATFORM_TEXT[platform]}.\n"
        f"Error family: {FAMILY_TEXT[family]}.\n"
        f"Return a JSON array of {MESSAGES_PER_PROMPT} objects with the keys "
        '"type" (the exception class exactly as the runtime reports it), '
        '"message" (the exception message as it appears in production), '
        '"category" (snake_case), "severity" (critical, high, medium or low) and '
        '"title" (a short human summary).\n'
        f"Mark every variable part of a message with one of these placeholders: {PLACEHOLDERS}.\n"
        "No stack traces. Answer with the JSON array only."
    )


def prompt_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def wanted_prompts(projects: tuple[SeedProject, ...]) -> list[tuple[str, str]]:
    pairs = {
        (family, p.platform) for p in projects for family in p.families if family in FAMILY_TEXT
    }
    return sorted(pairs)


def parse_messages(text: str) -> list[AIMessage]:
    """The model's answer -> messages; anything unusable is dropped, nothing usable fails."""
    try:
        data = json.loads(_FENCE.sub("", text.strip()))
    except json.JSONDecodeError as e:
        raise AIMessagesError(f"the answer is not JSON: {e}") from e
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), [])
    if not isinstance(data, list):
        raise AIMessagesError("the answer is not a JSON array")
    out = [m for m in (_message(item) for item in data) if m is not None]
    if not out:
        raise AIMessagesError("the answer holds no usable message")
    return out


def _message(item: Any) -> AIMessage | None:
    if not isinstance(item, dict):
        return None
    kind, message = item.get("type"), item.get("message")
    if not isinstance(kind, str) or not _TYPE.match(kind):
        return None
    if not isinstance(message, str) or not 0 < len(message) <= 400:
        return None
    category = str(item.get("category") or "ai_written").lower()
    severity = str(item.get("severity") or "medium").lower()
    return AIMessage(
        type=kind,
        message=message,
        category=category if _CATEGORY.match(category) else "ai_written",
        severity=severity if severity in SEVERITIES else "medium",
        title=str(item.get("title") or "")[:120],
    )


def load_cache(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"about": "", "entries": {}}
    return json.loads(path.read_text())


def save_cache(path: Path, cache: dict[str, Any]) -> None:
    cache["about"] = (
        "Error messages for `just seed --ai`, keyed by prompt (sha256 prefix). Each entry "
        "records its source. Regenerate with `just seed --ai` and an LLM endpoint "
        "(STACKWISE_OPENAI_BASE_URL, STACKWISE_OPENAI_API_KEY, STACKWISE_OPENAI_MODEL)."
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cache, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


def endpoint_configured(settings: Settings) -> bool:
    return bool(settings.openai_base_url or settings.openai_api_key)


def ask_model(settings: Settings, text: str) -> list[AIMessage]:
    from openai import OpenAI

    client = OpenAI(
        base_url=settings.openai_base_url or None,
        # Local servers (vLLM, llama.cpp, Ollama) take any key.
        api_key=settings.openai_api_key or "not-needed",
        timeout=120.0,
        max_retries=2,
    )
    response = client.chat.completions.create(
        model=settings.openai_model,
        messages=[
            {"role": "system", "content": "You answer with JSON only."},
            {"role": "user", "content": text},
        ],
        temperature=0.8,
    )
    return parse_messages(response.choices[0].message.content or "")


def _entry(family: str, platform: str, text: str, messages: list[AIMessage], source: str):
    return {
        "family": family,
        "platform": platform,
        "prompt": text,
        "source": source,
        "messages": [asdict(m) for m in messages],
    }


def resolve(
    settings: Settings,
    projects: tuple[SeedProject, ...],
    *,
    refresh: bool = False,
    path: Path = CACHE_PATH,
    say=print,
) -> AIMessages:
    """Messages per (family, platform): from the model when configured, else the cache."""
    cache = load_cache(path)
    entries = cache.setdefault("entries", {})
    online = endpoint_configured(settings)
    if not online:
        say(
            "no LLM endpoint configured (STACKWISE_OPENAI_BASE_URL / STACKWISE_OPENAI_API_KEY): "
            f"using the cached messages in {path}"
        )
    out: AIMessages = {}
    changed = False
    for family, platform in wanted_prompts(projects):
        text = prompt(family, platform)
        key = prompt_key(text)
        entry = entries.get(key)
        stale = entry is None or refresh or entry.get("source") == HAND_WRITTEN
        if online and stale:
            messages = ask_model(settings, text)
            day = datetime.now(UTC).date().isoformat()
            where = settings.openai_base_url or "api.openai.com"
            source = f"model {settings.openai_model} at {where}, {day}"
            entry = entries[key] = _entry(family, platform, text, messages, source)
            changed = True
        if entry is None:
            say(f"no cached AI messages for {family} on {platform}: using the built-in ones")
            continue
        out[(family, platform)] = [AIMessage(**m) for m in entry["messages"]]
        if not online:
            say(f"  {family}/{platform}: {len(out[(family, platform)])} ({entry['source']})")
    if changed:
        save_cache(path, cache)
        say(f"AI messages saved to {path}")
    return out
