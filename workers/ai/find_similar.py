"""Similar issues for one issue: embed it when the endpoint can, then compare and store.

`find_similar` runs inside `analyze_group` (on the facts it already loaded);
`refresh_similarity` runs it alone. An endpoint that refuses embeddings (404,
400: no embeddings model) is remembered in Redis for an hour and the lexical
method is used meanwhile; a stored embedding is reused while the issue's
features do not change, so re-analyses cost no embedding tokens.
"""

from __future__ import annotations

import msgspec

from workers.ai.budget import Budget
from workers.ai.errors import BudgetExceeded, MalformedAnswer, ProviderError, ProviderRejected
from workers.ai.facts import GroupFacts, load_facts
from workers.ai.provider import (
    DEFAULT_OPTIONS,
    AIOptions,
    EmbeddingResult,
    Endpoint,
    NotConfigured,
    Provider,
    resolve_endpoint,
)
from workers.ai.similar import SimilarityOutcome, compare_and_store, load_features
from workers.ai.similarity import GroupFeatures, embedding_text, features_from_facts
from workers.ai.store import record_call
from workers.context import WorkerContext

# An endpoint that refused embeddings is not asked again for this long.
_EMBEDDINGS_UNAVAILABLE_S = 3600


def refresh_similarity(
    ctx: WorkerContext, group_id: int, *, options: AIOptions = DEFAULT_OPTIONS
) -> SimilarityOutcome:
    """Recompute one issue's neighbours and suggestions, without asking for an analysis."""
    facts = load_facts(ctx, group_id)
    if facts is None or facts.group.merged_into is not None:
        return SimilarityOutcome()
    endpoint = resolve_endpoint(ctx.settings, facts.group.config.ai, options)
    if isinstance(endpoint, NotConfigured):
        return find_similar(ctx, facts, None)
    with Provider(endpoint, options) as provider:
        return find_similar(ctx, facts, provider)


def _budget(ctx: WorkerContext) -> Budget:
    return Budget(ctx.stack.redis, ctx.settings.redis_namespace)


def _embeddings_flag(ctx: WorkerContext, endpoint: Endpoint) -> str:
    return (
        f"{ctx.settings.redis_namespace}:ai:no-embeddings:"
        f"{endpoint.base_url}:{endpoint.embedding_model}"
    )


def _embed(ctx: WorkerContext, facts: GroupFacts, provider: Provider) -> list[float] | None:
    """The issue's embedding, or None (no embeddings API, budget spent, endpoint failing)."""
    endpoint, group = provider.endpoint, facts.group
    if ctx.stack.redis.exists(_embeddings_flag(ctx, endpoint)):
        return None
    document = embedding_text(facts)
    try:
        _budget(ctx).reserve_call(
            group.project_id,
            group.config.ai,
            estimated_tokens=len(document) // 4 + 1,
            count_call=False,
        )
        result = provider.embed([document])
    except BudgetExceeded:
        return None
    except (ProviderError, MalformedAnswer) as e:
        if isinstance(e, ProviderRejected | MalformedAnswer):
            # No embeddings model here (404/400): lexical similarity until the flag expires.
            flag = _embeddings_flag(ctx, endpoint)
            ctx.stack.redis.set(flag, e.kind, ex=_EMBEDDINGS_UNAVAILABLE_S)
        _record_embedding(ctx, facts, provider, status=e.kind, attempts=getattr(e, "attempts", 1))
        return None
    _budget(ctx).record_tokens(group.project_id, result.tokens)
    _record_embedding(ctx, facts, provider, status="ok", attempts=result.attempts, result=result)
    return result.vectors[0]


def _record_embedding(
    ctx: WorkerContext,
    facts: GroupFacts,
    provider: Provider,
    *,
    status: str,
    attempts: int,
    result: EmbeddingResult | None = None,
) -> None:
    with ctx.stack.pool.connection() as conn:
        record_call(
            conn,
            project_id=facts.group.project_id,
            group_id=facts.group.id,
            purpose="embedding",
            model=provider.endpoint.embedding_model,
            status=status,
            attempts=attempts,
            prompt_tokens=result.tokens if result else 0,
            latency_ms=result.latency_ms if result else 0.0,
        )


def _needs_embedding(previous: GroupFeatures | None, features: GroupFeatures, model: str) -> bool:
    """False when the stored embedding was made from the same features by the same model."""
    if previous is None or previous.embedding is None:
        return True
    same_input = (previous.text_tokens, previous.frame_tokens) == (
        features.text_tokens,
        features.frame_tokens,
    )
    return not same_input or previous.embedding_model != model


def find_similar(
    ctx: WorkerContext, facts: GroupFacts, provider: Provider | None
) -> SimilarityOutcome:
    """Store the issue's features (embedded by `provider` when given) and its neighbours."""
    features = features_from_facts(facts)
    with ctx.stack.pool.connection() as conn:
        previous = load_features(conn, facts.group.id)
    # Skipping the request keeps the stored embedding: store_features never drops one.
    if provider is not None and _needs_embedding(
        previous, features, provider.endpoint.embedding_model
    ):
        vector = _embed(ctx, facts, provider)
        if vector is not None:
            features = msgspec.structs.replace(
                features, embedding=vector, embedding_model=provider.endpoint.embedding_model
            )
    with ctx.stack.pool.connection() as conn, conn.transaction():
        return compare_and_store(conn, facts.group.project_id, features, facts.group.first_seen)
