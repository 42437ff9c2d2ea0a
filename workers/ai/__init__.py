"""AI analysis of issues: summaries, fixes, severity, similar issues, merges, anomalies.

Works with any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp) and
degrades to local methods without one: similar issues by lexical/structural
similarity, anomalies by robust statistics. Nothing here is on the ingestion
path; actors call these functions after grouping has committed.

    analyze_group(ctx, group_id, reason=...)   one issue: similarity + model analysis
    claim_due_analyses(conn)                   what the scheduled retry should re-run
    refresh_similarity(ctx, group_id)          similar issues alone (no model analysis)
    scan_anomalies(ctx)                        spikes and new surges on hourly rollups
    decide_merge_suggestion(conn, id, ...)     a person's decision on a suggested merge
"""

from core.anomaly import Anomaly, AnomalyConfig, detect_anomalies
from workers.ai.analyze import AnalysisOutcome, analyze_group
from workers.ai.anomaly_scan import StoredAnomaly, scan_anomalies
from workers.ai.find_similar import refresh_similarity
from workers.ai.prompt import PROMPT_VERSION
from workers.ai.provider import AIOptions, NotConfigured, resolve_endpoint
from workers.ai.similar import (
    MergeSuggestion,
    SimilarIssue,
    SimilarityOutcome,
    decide_merge_suggestion,
    pending_merge_suggestions,
)
from workers.ai.store import PendingAnalysis, claim_due_analyses

__all__ = [
    "PROMPT_VERSION",
    "AIOptions",
    "AnalysisOutcome",
    "Anomaly",
    "AnomalyConfig",
    "MergeSuggestion",
    "NotConfigured",
    "PendingAnalysis",
    "SimilarIssue",
    "SimilarityOutcome",
    "StoredAnomaly",
    "analyze_group",
    "claim_due_analyses",
    "decide_merge_suggestion",
    "detect_anomalies",
    "pending_merge_suggestions",
    "refresh_similarity",
    "resolve_endpoint",
    "scan_anomalies",
]
