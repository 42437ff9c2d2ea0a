"""Issue similarity without a model: TF-IDF over normalized text and stack structure.

Each issue becomes two bags of tokens:
  text   its exception type (one token), the words of its most frequent
         parameterized message (placeholders such as <int> dropped), its culprit
  frames its innermost in-app frames as `location:function`, plus each pair of
         consecutive frames (`a>b`), so the call path counts, not just the names
Each bag is weighted by TF-IDF over the candidate issues of the project (frames
every issue shares, like a web framework's dispatcher, weigh little) and
compared by cosine; the two scores are averaged when both issues have frames.

When the endpoint has an embeddings API, the same issues are also compared by
the cosine of their embeddings (`embedding_cosine`); which score applies is the
caller's choice. All functions here are pure.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable

import msgspec

from workers.ai.event_view import Frame, frame_location, in_app_frames, text
from workers.ai.facts import GroupFacts
from workers.ai.prompt import safe_message

FEATURES_VERSION = "features-1"
MAX_FEATURE_FRAMES = 10

_WORD = re.compile(r"[a-z][a-z0-9_]+")
_PLACEHOLDERS = frozenset(
    {
        "int",
        "float",
        "hex",
        "uuid",
        "email",
        "url",
        "ip",
        "date",
        "duration",
        "sha1",
        "md5",
        "hostname",
        "traceparent",
        "git_sha",
        "quoted_str",
        "bool",
    }
)
# Parts of frame names that change between builds or calls, not between code paths.
_VOLATILE = re.compile(r"0x[0-9a-f]+|\b[0-9a-f]{8,}\b|\d+", re.IGNORECASE)


class GroupFeatures(msgspec.Struct, frozen=True, kw_only=True):
    group_id: int
    exception_type: str
    text_tokens: list[str]
    frame_tokens: list[str]
    embedding: list[float] | None = None
    embedding_model: str | None = None


def message_tokens(message: str) -> list[str]:
    return [w for w in _WORD.findall(message.lower()) if w not in _PLACEHOLDERS]


def frame_token(frame: Frame) -> str:
    location = _VOLATILE.sub("", frame_location(frame)).lower()
    function = _VOLATILE.sub("", text(frame.function) or "?").lower()
    return f"{location}:{function}"


def frame_tokens(frames: list[Frame]) -> list[str]:
    """Frame identities and consecutive pairs, outermost first."""
    names = [frame_token(f) for f in reversed(in_app_frames(frames, MAX_FEATURE_FRAMES))]
    return names + [f"{a}>{b}" for a, b in itertools.pairwise(names)]


def _main_message(facts: GroupFacts) -> str:
    counts = Counter(safe_message(e.exception_value or e.message) for e in facts.events)
    counts.pop("", None)
    if counts:
        return counts.most_common(1)[0][0]
    return safe_message(facts.group.title)


def features_from_facts(facts: GroupFacts) -> GroupFeatures:
    group = facts.group
    view = facts.views[0] if facts.views else None
    newest = facts.events[0] if facts.events else None
    exception_type = group.exception_type or (newest.exception_type if newest else "")
    tokens = [f"type:{exception_type.lower()}"] if exception_type else []
    tokens += message_tokens(_main_message(facts))
    tokens += [f"culprit:{w}" for w in message_tokens(group.culprit)]
    return GroupFeatures(
        group_id=group.id,
        exception_type=exception_type,
        text_tokens=tokens,
        frame_tokens=frame_tokens(view.frames) if view is not None else [],
    )


def embedding_text(facts: GroupFacts) -> str:
    """What is sent to the embeddings API: the issue's identity, already secret-free."""
    features = features_from_facts(facts)
    frames = [t for t in features.frame_tokens if ">" not in t]
    lines = [
        f"{features.exception_type}: {_main_message(facts)}",
        f"culprit: {safe_message(facts.group.culprit)}",
        *(f"frame: {t}" for t in reversed(frames)),
    ]
    return "\n".join(lines)


Vector = dict[str, float]


def tfidf(documents: dict[int, list[str]]) -> dict[int, Vector]:
    """Sublinear term frequency x smoothed IDF, L2-normalized, per document."""
    count = len(documents)
    frequency = Counter(token for tokens in documents.values() for token in set(tokens))
    idf = {t: math.log((1 + count) / (1 + df)) + 1.0 for t, df in frequency.items()}
    vectors: dict[int, Vector] = {}
    for key, tokens in documents.items():
        weights = {t: (1.0 + math.log(n)) * idf[t] for t, n in Counter(tokens).items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        vectors[key] = {t: w / norm for t, w in weights.items()}
    return vectors


def cosine(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())


def embedding_cosine(a: Iterable[float], b: Iterable[float]) -> float:
    dot = norm_a = norm_b = 0.0
    for x, y in zip(a, b, strict=True):
        dot += x * y
        norm_a += x * x
        norm_b += y * y
    if norm_a == 0 or norm_b == 0:
        return 0.0
    return dot / math.sqrt(norm_a * norm_b)


def lexical_scores(target: GroupFeatures, candidates: list[GroupFeatures]) -> dict[int, float]:
    """Score in [0, 1] of each candidate against `target`."""
    everyone = [target, *candidates]
    texts = tfidf({f.group_id: f.text_tokens for f in everyone})
    frames = tfidf({f.group_id: f.frame_tokens for f in everyone if f.frame_tokens})
    scores: dict[int, float] = {}
    for other in candidates:
        text_score = cosine(texts[target.group_id], texts[other.group_id])
        if target.group_id in frames and other.group_id in frames:
            frame_score = cosine(frames[target.group_id], frames[other.group_id])
            score = 0.5 * text_score + 0.5 * frame_score
        elif target.group_id in frames or other.group_id in frames:
            # One has a stack and the other none: rarely the same code path.
            score = 0.7 * text_score
        else:
            score = text_score
        scores[other.group_id] = round(min(1.0, max(0.0, score)), 4)
    return scores


def embedding_scores(target: GroupFeatures, candidates: list[GroupFeatures]) -> dict[int, float]:
    """Cosine of embeddings, for candidates embedded by the same model as `target`."""
    if not target.embedding:
        return {}
    return {
        other.group_id: round(max(0.0, embedding_cosine(target.embedding, other.embedding)), 4)
        for other in candidates
        if other.embedding
        and other.embedding_model == target.embedding_model
        and len(other.embedding) == len(target.embedding)
    }
