"""Evaluating the AI features against the seeder's ground truth: pure functions over polars.

Inputs, as the notebook reads them (ClickHouse / PostgreSQL exports):
  ground truth  `seed_ground_truth`: event_id, severity, category (+ root_cause, family)
  assignments   `event_groups`: event_id, group_id (event_id of the same type in both)
  analyses      `error_groups`: group_id (id), exception_type, culprit, ai_summary (JSON)
  calls         `ai_calls`: purpose, model, status, attempts, prompt_tokens,
                completion_tokens, latency_ms
  anomalies     `ai_anomalies` or `detect_on_frame`: project_id, group_id, start_hour,
                end_hour; seeded spikes: day (+ project_id)

An issue's true label is the majority over its events (ties: alphabetical), with
the share of its events that agree, so impure issues can be set apart. The
seeder's fine categories (`deadlock`, `key_error`...) are first put in the
prompt's terms by `core.ai_answer.normalize_category`, the same function that
normalizes the model's answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import polars as pl

from core.ai_answer import normalize_category
from core.anomaly import Anomaly, AnomalyConfig, HourlyCount, detect_anomalies

SEVERITY_ORDER = {"low": 0, "medium": 1, "high": 2, "critical": 3}
LABELS = ("severity", "category")


def _ints(*names: str) -> dict[str, Any]:
    return dict.fromkeys(names, pl.Int64)


def _floats(*names: str) -> dict[str, Any]:
    return dict.fromkeys(names, pl.Float64)


_TEXTS = ("exception_type", "culprit", "summary", "likely_cause", "suggested_fix")
PREDICTION_SCHEMA = {
    "group_id": pl.Int64,
    **dict.fromkeys((*_TEXTS, "severity", "category", "model", "prompt_version"), pl.String),
    **_ints("prompt_tokens", "completion_tokens"),
    "latency_ms": pl.Float64,
}


def issue_truth(ground_truth: pl.DataFrame, assignments: pl.DataFrame) -> pl.DataFrame:
    """One row per group: majority severity and category over its events, and agreement.
    Joined on (project_id, event_id) when both frames have project_id."""
    keys = [k for k in ("project_id", "event_id") if k in ground_truth and k in assignments]
    categories = ground_truth["category"].unique().to_list()
    truth = ground_truth.select(*keys, *LABELS).with_columns(
        pl.col("category").replace_strict({c: normalize_category(c) for c in categories})
    )
    events = assignments.select(*keys, "group_id").join(truth, on=keys, how="inner")
    sizes = events.group_by("group_id").agg(pl.len().alias("events"))
    result = sizes
    for label in LABELS:
        majority = (
            events.group_by("group_id", label)
            .agg(pl.len().alias("n"))
            .sort(["group_id", "n", label], descending=[False, True, False])
            .group_by("group_id", maintain_order=True)
            .first()
            .rename({"n": f"{label}_votes"})
        )
        result = result.join(majority, on="group_id")
        result = result.with_columns(
            (pl.col(f"{label}_votes") / pl.col("events")).alias(f"{label}_agreement")
        ).drop(f"{label}_votes")
    return result.sort("group_id")


def _summary_document(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    return json.loads(value) if isinstance(value, str | bytes) else dict(value)


def predictions(analyses: pl.DataFrame) -> pl.DataFrame:
    """Flatten `ai_summary` documents (dicts or JSON text); rows without one are dropped."""
    rows = []
    for row in analyses.iter_rows(named=True):
        document = _summary_document(row.get("ai_summary"))
        if not document:
            continue
        answer = document.get("answer", {})
        rows.append(
            {
                "group_id": row["group_id"],
                "exception_type": row.get("exception_type") or "",
                "culprit": row.get("culprit") or "",
                **{k: answer.get(k, "") for k in ("summary", "likely_cause", "suggested_fix")},
                "severity": answer.get("severity", ""),
                "category": answer.get("category", ""),
                "model": document.get("model", ""),
                "prompt_version": document.get("prompt_version", ""),
                "prompt_tokens": int(document.get("prompt_tokens", 0)),
                "completion_tokens": int(document.get("completion_tokens", 0)),
                "latency_ms": float(document.get("latency_ms", 0.0)),
            }
        )
    return pl.DataFrame(rows, schema=PREDICTION_SCHEMA)


def join_predictions(predicted: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Issues with both a prediction and a truth: `<label>_pred` next to `<label>_true`."""
    return (
        predicted.select("group_id", *LABELS)
        .join(truth.select("group_id", *LABELS), on="group_id", how="inner", suffix="_true")
        .rename({label: f"{label}_pred" for label in LABELS})
    )


def per_class_scores(joined: pl.DataFrame, label: str) -> pl.DataFrame:
    """Precision, recall and F1 of each class of `label`."""
    pred, true = pl.col(f"{label}_pred"), pl.col(f"{label}_true")
    classes = sorted(
        set(joined[f"{label}_pred"].to_list()) | set(joined[f"{label}_true"].to_list())
    )
    rows = []
    for cls in classes:
        tp = joined.filter((pred == cls) & (true == cls)).height
        predicted = joined.filter(pred == cls).height
        support = joined.filter(true == cls).height
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(
            {
                "class": cls,
                "support": support,
                "predicted": predicted,
                "precision": precision,
                "recall": recall,
                "f1": f1,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "class": pl.String,
            **_ints("support", "predicted"),
            **_floats("precision", "recall", "f1"),
        },
    )


def confusion(joined: pl.DataFrame, label: str) -> pl.DataFrame:
    """Counts per (true, predicted) pair, long form, largest first."""
    return (
        joined.group_by(f"{label}_true", f"{label}_pred")
        .agg(pl.len().alias("n"))
        .rename({f"{label}_true": "true", f"{label}_pred": "predicted"})
        .sort(["n", "true", "predicted"], descending=[True, False, False])
    )


def label_scores(joined: pl.DataFrame) -> pl.DataFrame:
    """Per label: issues scored, accuracy, macro F1 over the true classes; for severity also
    the share within one level and the mean distance on the low..critical scale."""
    rows = []
    for label in LABELS:
        correct = joined.filter(pl.col(f"{label}_pred") == pl.col(f"{label}_true")).height
        classes = per_class_scores(joined, label).filter(pl.col("support") > 0)
        row = {
            "label": label,
            "issues": joined.height,
            "accuracy": correct / joined.height if joined.height else None,
            "macro_f1": classes["f1"].mean() if classes.height else None,
            "within_one": None,
            "mean_distance": None,
        }
        if label == "severity" and joined.height:
            distance = (
                pl.col("severity_pred").replace_strict(SEVERITY_ORDER, default=None)
                - pl.col("severity_true").replace_strict(SEVERITY_ORDER, default=None)
            ).abs()
            row["within_one"] = joined.select((distance <= 1).mean()).item()
            row["mean_distance"] = joined.select(distance.mean()).item()
        rows.append(row)
    return pl.DataFrame(
        rows,
        schema={
            "label": pl.String,
            "issues": pl.Int64,
            **_floats("accuracy", "macro_f1", "within_one", "mean_distance"),
        },
    )


def culprit_terms(culprit: str) -> list[str]:
    """What naming a culprit means: its function or its module/file, in Sentry's forms
    "module in function", "function(file)" (JavaScript) or a bare name."""
    culprit = culprit.strip()
    if " in " in culprit:
        location, function = culprit.rsplit(" in ", 1)
        terms = [function, location]
    elif match := re.fullmatch(r"(.+?)\((.+)\)", culprit):
        terms = [match.group(1), match.group(2)]
    else:
        terms = [culprit]
    return [t.strip() for t in terms if len(t.strip()) >= 3 and t.strip() != "?"]


def _mentions(text: str, terms: Iterable[str]) -> bool:
    """A whole-word mention: "pay" is not named by "payment"."""
    return any(re.search(rf"(?<!\w){re.escape(term)}(?!\w)", text, re.IGNORECASE) for term in terms)


def fact_mentions(predicted: pl.DataFrame) -> pl.DataFrame:
    """Whether each summary names the exception type (its last dotted part) and the culprit."""
    rows = []
    for row in predicted.iter_rows(named=True):
        kind = (row["exception_type"] or "").rsplit(".", 1)[-1]
        rows.append(
            {
                "group_id": row["group_id"],
                "mentions_type": _mentions(row["summary"], [kind]) if kind else None,
                "mentions_culprit": (
                    _mentions(row["summary"], culprit_terms(row["culprit"]))
                    if culprit_terms(row["culprit"])
                    else None
                ),
            }
        )
    return pl.DataFrame(
        rows,
        schema={"group_id": pl.Int64, "mentions_type": pl.Boolean, "mentions_culprit": pl.Boolean},
    )


def fact_summary(mentions: pl.DataFrame) -> pl.DataFrame:
    """Share of summaries naming the type, the culprit, and both (issues without one skipped)."""
    both = pl.col("mentions_type") & pl.col("mentions_culprit")
    return mentions.select(
        pl.len().alias("summaries"),
        pl.col("mentions_type").mean().alias("type_rate"),
        pl.col("mentions_culprit").mean().alias("culprit_rate"),
        both.mean().alias("both_rate"),
    )


def latency_and_cost(
    calls: pl.DataFrame,
    *,
    prompt_price_per_million: float,
    completion_price_per_million: float,
) -> pl.DataFrame:
    """Per purpose and model: calls, success rate, latency percentiles, tokens and cost
    (prices per million tokens, as providers quote them)."""
    cost = (
        pl.col("prompt_tokens") * prompt_price_per_million
        + pl.col("completion_tokens") * completion_price_per_million
    ) / 1_000_000
    ok = pl.col("status") == "ok"
    return (
        calls.with_columns(cost.alias("cost"))
        .group_by("purpose", "model")
        .agg(
            pl.len().alias("calls"),
            ok.mean().alias("success_rate"),
            (pl.col("attempts") > 1).mean().alias("retried_rate"),
            pl.col("latency_ms").filter(ok).median().alias("latency_p50_ms"),
            pl.col("latency_ms").filter(ok).quantile(0.95, "nearest").alias("latency_p95_ms"),
            pl.col("prompt_tokens").sum().alias("prompt_tokens"),
            pl.col("completion_tokens").sum().alias("completion_tokens"),
            pl.col("cost").sum().alias("cost"),
            (pl.col("cost").sum() / ok.sum()).alias("cost_per_success"),
        )
        .sort("purpose", "model")
    )


def anomalies_frame(anomalies: Iterable[Anomaly]) -> pl.DataFrame:
    rows = [
        {
            "project_id": a.project_id,
            "group_id": a.group_id,
            "kind": a.kind,
            "start_hour": datetime.fromtimestamp(a.start_hour, UTC),
            "end_hour": datetime.fromtimestamp(a.end_hour, UTC),
            "peak_hour": datetime.fromtimestamp(a.peak_hour, UTC),
            "peak_count": a.peak_count,
            "baseline": a.baseline,
            "score": a.score,
        }
        for a in anomalies
    ]
    return pl.DataFrame(
        rows,
        schema={
            **_ints("project_id", "group_id"),
            "kind": pl.String,
            **dict.fromkeys(("start_hour", "end_hour", "peak_hour"), pl.Datetime("us", "UTC")),
            **_floats("peak_count", "baseline", "score"),
        },
    )


def detect_on_frame(hourly: pl.DataFrame, *, config: AnomalyConfig | None = None) -> pl.DataFrame:
    """Run the detector over a whole exported rollup (project_id, group_id, hour, count);
    group_id 0 rows are project totals, added here when absent."""
    rows = [
        HourlyCount(
            project_id=r["project_id"],
            group_id=r["group_id"],
            hour=int(r["hour"].timestamp()),
            count=float(r["count"]),
        )
        for r in hourly.iter_rows(named=True)
    ]
    if not any(r.group_id == 0 for r in rows):
        totals: dict[tuple[int, int], float] = {}
        for r in rows:
            totals[(r.project_id, r.hour)] = totals.get((r.project_id, r.hour), 0.0) + r.count
        rows += [
            HourlyCount(project_id=p, group_id=0, hour=h, count=n) for (p, h), n in totals.items()
        ]
    if not rows:
        return anomalies_frame([])
    start = min(r.hour for r in rows)
    end = max(r.hour for r in rows) + 3600
    found = detect_anomalies(
        rows, window_start=start, window_end=end, config=config or AnomalyConfig()
    )
    return anomalies_frame(found)


def _anomaly_days(anomalies: pl.DataFrame) -> pl.DataFrame:
    """Each detected anomaly expanded to the days it touches, keyed by its row number."""
    return (
        anomalies.with_row_index("anomaly")
        .with_columns(
            pl.date_ranges(pl.col("start_hour").dt.date(), pl.col("end_hour").dt.date()).alias(
                "day"
            )
        )
        .explode("day")
        .select("anomaly", "project_id", "day")
    )


def anomaly_precision_recall(
    anomalies: pl.DataFrame, spikes: pl.DataFrame, *, scope: str = "project"
) -> pl.DataFrame:
    """Detected anomalies against seeded spike days, as one row: detections, true ones,
    spike days, detected spike days, precision, recall, F1.

    An anomaly is true when a day it touches is a spike day (of its project when `spikes`
    has a project_id). `scope="project"` scores project-wide anomalies only (group_id 0),
    `"all"` every anomaly."""
    if scope == "project":
        anomalies = anomalies.filter(pl.col("group_id") == 0)
    keys = ["project_id", "day"] if "project_id" in spikes.columns else ["day"]
    truth = spikes.select(*keys).unique()
    touched = _anomaly_days(anomalies)
    hits = touched.join(truth, on=keys, how="inner")
    detections = anomalies.height
    true_detections = hits["anomaly"].n_unique()
    found_days = hits.select(*keys).unique().height
    precision = true_detections / detections if detections else None
    recall = found_days / truth.height if truth.height else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall
        else None
    )
    return pl.DataFrame(
        [
            {
                "detections": detections,
                "true_detections": true_detections,
                "spike_days": truth.height,
                "detected_spike_days": found_days,
                "precision": precision,
                "recall": recall,
                "f1": f1,
            }
        ],
        schema={
            **_ints("detections", "true_detections", "spike_days", "detected_spike_days"),
            **_floats("precision", "recall", "f1"),
        },
    )


def evaluation_report(
    predicted: pl.DataFrame, truth: pl.DataFrame, calls: pl.DataFrame, prices: Mapping[str, float]
) -> dict[str, pl.DataFrame]:
    """Everything the notebook shows, keyed by section."""
    joined = join_predictions(predicted, truth)
    mentions = fact_mentions(predicted)
    return {
        "labels": label_scores(joined),
        "severity_classes": per_class_scores(joined, "severity"),
        "category_classes": per_class_scores(joined, "category"),
        "severity_confusion": confusion(joined, "severity"),
        "category_confusion": confusion(joined, "category"),
        "facts": fact_summary(mentions),
        "cost": latency_and_cost(
            calls,
            prompt_price_per_million=prices["prompt_per_million"],
            completion_price_per_million=prices["completion_per_million"],
        ),
    }


NO_MODEL = (
    "**No AI analyses and no model calls in this data: no model endpoint was configured "
    "when its issues were processed**, so there is nothing to evaluate here. Set "
    "`STACKWISE_OPENAI_BASE_URL`, `STACKWISE_OPENAI_API_KEY` and `STACKWISE_OPENAI_MODEL` "
    "(any OpenAI-compatible endpoint: OpenAI, vLLM, Ollama, llama.cpp), or per project "
    "`just project config P ai.base_url URL` and `ai.model`; then analyze issues with "
    "`just ai analyze ID`, or seed with `just seed --ai`, and render this report again."
)


def no_model_note(predicted: pl.DataFrame, calls: pl.DataFrame) -> str:
    """NO_MODEL when the data holds neither analyses nor calls: the model was never asked."""
    return NO_MODEL if predicted.height == 0 and calls.height == 0 else ""
