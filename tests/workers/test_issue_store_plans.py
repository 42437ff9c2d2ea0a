"""The batch lookups use their indexes: at scale a sequential scan per batch is the cost."""

from __future__ import annotations

import json

from core.pg.issues.batch import LOOKUP_HASHES


def _plan_nodes(plan: dict) -> list[dict]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes += _plan_nodes(child)
    return nodes


def test_hash_lookup_uses_the_primary_key(stack):
    keys = ([1, 1], ["v1", "v1"], ["0" * 32, "f" * 32])
    with stack.pool.connection() as conn, conn.transaction():
        # Sequential scans only as a last resort: a plan that still has one cannot use
        # the index (a text parameter against the char(32) column would force it).
        conn.execute("SET LOCAL enable_seqscan = off")
        rows = conn.execute("EXPLAIN (FORMAT JSON) " + LOOKUP_HASHES, keys).fetchall()
    plan = next(iter(rows[0].values()))
    plan = json.loads(plan) if isinstance(plan, str) else plan
    nodes = _plan_nodes(plan[0]["Plan"])
    # The hash itself must be part of the index condition, not a filter on every row of
    # the project (a text parameter against the char(32) column would make it one).
    conditions = [
        node.get("Index Cond", "")
        for node in nodes
        if node.get("Relation Name") == "group_hashes"
        or node.get("Index Name") == "group_hashes_pkey"
    ]
    assert any("hash" in condition for condition in conditions), nodes
