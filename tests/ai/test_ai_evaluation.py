"""The evaluation library on hand-built frames, with expected numbers worked out by hand."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analysis.ai_evaluation import (
    anomaly_precision_recall,
    confusion,
    culprit_terms,
    detect_on_frame,
    evaluation_report,
    fact_mentions,
    issue_truth,
    join_predictions,
    label_scores,
    latency_and_cost,
    per_class_scores,
    predictions,
)

GROUND_TRUTH = pl.DataFrame(
    {
        "event_id": ["e1", "e2", "e3", "e4", "e5", "e6"],
        "root_cause": ["a", "a", "b", "b", "c", "c"],
        "severity": ["high", "high", "low", "medium", "critical", "low"],
        # The seeder's fine categories; scored in the prompt's coarser terms.
        "category": ["key_error", "code", "upstream_timeout", "network", "deadlock", "Database"],
    }
)
ASSIGNMENTS = pl.DataFrame(
    {"event_id": ["e1", "e2", "e3", "e4", "e5", "e6", "e7"], "group_id": [1, 1, 2, 2, 2, 3, 3]}
)


def summary(severity: str, category: str, text: str, **extra) -> str:
    answer = {
        "summary": text,
        "likely_cause": "c",
        "suggested_fix": "f",
        "severity": severity,
        "category": category,
    }
    document = {
        "answer": answer,
        "model": "m",
        "prompt_version": "issue-analysis-1",
        "prompt_tokens": 900,
        "completion_tokens": 100,
        "latency_ms": 1200.0,
        **extra,
    }
    return json.dumps(document)


ANALYSES = pl.DataFrame(
    {
        "group_id": [1, 2, 3, 4],
        "exception_type": ["KeyError", "requests.exceptions.ConnectTimeout", "IntegrityError", ""],
        "culprit": ["shop.cart in load_cart", "pay(gateway.js)", "?", "x"],
        "ai_summary": [
            summary("high", "code", "A KeyError in load_cart breaks checkout."),
            summary("high", "network", "ConnectTimeout while calling the payment gateway."),
            summary("medium", "database", "Duplicate rows violate a unique constraint."),
            None,
        ],
    }
)


def test_an_issue_takes_the_majority_label_of_its_events_and_reports_agreement():
    truth = issue_truth(GROUND_TRUTH, ASSIGNMENTS)
    expected = pl.DataFrame(
        {
            "group_id": [1, 2, 3],
            "events": [2, 3, 1],
            # Group 2 ties 1-1-1 on severity: alphabetical order decides (critical).
            "severity": ["high", "critical", "low"],
            "severity_agreement": [1.0, 1 / 3, 1.0],
            "category": ["code", "network", "database"],
            "category_agreement": [1.0, 2 / 3, 1.0],
        }
    )
    assert_frame_equal(truth, expected, check_dtypes=False)


def test_predictions_flatten_stored_summaries_and_skip_issues_without_one():
    predicted = predictions(ANALYSES)
    assert predicted["group_id"].to_list() == [1, 2, 3]
    assert predicted["severity"].to_list() == ["high", "high", "medium"]
    assert predicted.row(0, named=True)["prompt_tokens"] == 900
    # Dicts (psycopg's jsonb) work as well as JSON text.
    as_dicts = ANALYSES.with_columns(
        pl.col("ai_summary").map_elements(
            lambda s: json.loads(s) if s else None, return_dtype=pl.Object
        )
    )
    assert predictions(as_dicts)["summary"].to_list() == predicted["summary"].to_list()


def test_no_analyses_yet_is_an_empty_but_typed_frame():
    empty = predictions(ANALYSES.filter(pl.col("ai_summary").is_null()))
    assert empty.height == 0
    joined = join_predictions(empty, issue_truth(GROUND_TRUTH, ASSIGNMENTS))
    assert label_scores(joined)["accuracy"].to_list() == [None, None]


def test_label_scores_accuracy_macro_f1_and_severity_distance():
    joined = join_predictions(predictions(ANALYSES), issue_truth(GROUND_TRUTH, ASSIGNMENTS))
    # severity: pred high/high/medium vs true high/critical/low -> 1 of 3 right;
    # distances 0, 1, 1 -> all within one level, mean 2/3.
    # category: pred code/network/database vs true code/network/database -> all right.
    scores = {row["label"]: row for row in label_scores(joined).iter_rows(named=True)}
    assert scores["severity"]["accuracy"] == pytest.approx(1 / 3)
    assert scores["severity"]["within_one"] == 1.0
    assert scores["severity"]["mean_distance"] == pytest.approx(2 / 3)
    # true classes critical, high, low: F1 0, 2/3 (p 1/2, r 1), 0.
    assert scores["severity"]["macro_f1"] == pytest.approx((0 + 2 / 3 + 0) / 3)
    assert scores["category"]["accuracy"] == 1.0
    assert scores["category"]["macro_f1"] == 1.0
    assert scores["category"]["within_one"] is None


def test_per_class_scores_and_confusion():
    joined = join_predictions(predictions(ANALYSES), issue_truth(GROUND_TRUTH, ASSIGNMENTS))
    classes = per_class_scores(joined, "severity")
    high = classes.filter(pl.col("class") == "high").row(0, named=True)
    assert (high["support"], high["predicted"], high["precision"], high["recall"]) == (
        1,
        2,
        0.5,
        1.0,
    )
    medium = classes.filter(pl.col("class") == "medium").row(0, named=True)
    assert (medium["support"], medium["predicted"], medium["precision"]) == (0, 1, 0.0)
    pairs = confusion(joined, "severity").rows()
    assert sorted(pairs) == [("critical", "high", 1), ("high", "high", 1), ("low", "medium", 1)]


@pytest.mark.parametrize(
    ("culprit", "terms"),
    [
        ("shop.cart in load_cart", ["load_cart", "shop.cart"]),
        ("handleClick(app.js)", ["handleClick", "app.js"]),
        ("objc_msgSend", ["objc_msgSend"]),
        ("?", []),
        ("", []),
    ],
)
def test_culprit_terms_follow_sentry_culprit_forms(culprit, terms):
    assert culprit_terms(culprit) == terms


def test_fact_mentions_check_the_type_and_the_culprit_in_the_summary():
    mentions = fact_mentions(predictions(ANALYSES))
    assert mentions.rows() == [
        (1, True, True),  # KeyError, load_cart
        (2, True, False),  # ConnectTimeout (last dotted part); "payment" does not name pay()
        (3, False, None),  # no IntegrityError; a "?" culprit cannot be checked
    ]


def test_latency_and_cost_per_purpose_and_model():
    calls = pl.DataFrame(
        {
            "purpose": ["analysis", "analysis", "analysis", "embedding"],
            "model": ["m", "m", "m", "m"],
            "status": ["ok", "ok", "timeout", "ok"],
            "attempts": [1, 2, 2, 1],
            "prompt_tokens": [1000, 3000, 0, 500],
            "completion_tokens": [200, 200, 0, 0],
            "latency_ms": [1000.0, 3000.0, 0.0, 50.0],
        }
    )
    report = latency_and_cost(calls, prompt_price_per_million=0.5, completion_price_per_million=1.5)
    analysis = report.filter(pl.col("purpose") == "analysis").row(0, named=True)
    assert analysis["calls"] == 3
    assert analysis["success_rate"] == pytest.approx(2 / 3)
    assert analysis["retried_rate"] == pytest.approx(2 / 3)
    assert analysis["latency_p50_ms"] == 2000.0  # successful calls only
    # (4000 * 0.5 + 400 * 1.5) / 1e6 = 0.0026, over two successes.
    assert analysis["cost"] == pytest.approx(0.0026)
    assert analysis["cost_per_success"] == pytest.approx(0.0013)


def hour(day: int, h: int) -> datetime:
    return datetime(2025, 1, day, h, tzinfo=UTC)


def test_anomaly_precision_recall_against_seeded_spike_days():
    anomalies = pl.DataFrame(
        {
            "project_id": [1, 1, 1, 2, 1],
            "group_id": [0, 0, 0, 0, 7],
            "start_hour": [hour(3, 9), hour(5, 23), hour(9, 1), hour(3, 2), hour(20, 1)],
            "end_hour": [hour(3, 12), hour(6, 2), hour(9, 3), hour(3, 3), hour(20, 2)],
        }
    )
    spikes = pl.DataFrame(
        {
            "project_id": [1, 1, 1, 2],
            "day": [date(2025, 1, 3), date(2025, 1, 6), date(2025, 1, 12), date(2025, 1, 3)],
        }
    )
    # Project scope: 4 detections; 3 touch a spike day of their project (3rd, 5th-6th, p2 3rd);
    # 3 of 4 spike days found (the 12th is missed).
    row = anomaly_precision_recall(anomalies, spikes).row(0, named=True)
    assert (row["detections"], row["true_detections"]) == (4, 3)
    assert (row["spike_days"], row["detected_spike_days"]) == (4, 3)
    assert row["precision"] == pytest.approx(0.75)
    assert row["recall"] == pytest.approx(0.75)
    # Issue anomalies count too with scope="all"; spike days without projects match any project.
    every = anomaly_precision_recall(anomalies, spikes.select("day"), scope="all").row(
        0, named=True
    )
    assert (every["detections"], every["true_detections"]) == (5, 3)
    assert (every["spike_days"], every["detected_spike_days"]) == (3, 2)


def test_no_detections_is_no_precision_and_zero_recall():
    empty = detect_on_frame(
        pl.DataFrame(
            schema={
                "project_id": pl.Int64,
                "group_id": pl.Int64,
                "hour": pl.Datetime("us", "UTC"),
                "count": pl.Float64,
            }
        )
    )
    row = anomaly_precision_recall(empty, pl.DataFrame({"day": [date(2025, 1, 3)]})).row(
        0, named=True
    )
    assert (row["precision"], row["recall"]) == (None, 0.0)


def test_detect_on_frame_finds_a_seeded_spike_day_in_an_exported_rollup():
    hours = pl.datetime_range(hour(1, 0), hour(28, 23), "1h", eager=True)
    counts = [10.0 + (i % 5) for i in range(len(hours))]
    spike_day = [i for i, h in enumerate(hours) if h.day == 24]
    for i in spike_day:
        counts[i] *= 8
    hourly = pl.DataFrame({"project_id": 1, "group_id": 5, "hour": hours, "count": counts})
    found = detect_on_frame(hourly)
    row = anomaly_precision_recall(found, pl.DataFrame({"day": [date(2025, 1, 24)]})).row(
        0, named=True
    )
    assert (row["precision"], row["recall"]) == (1.0, 1.0)


def test_the_report_has_every_section():
    truth = issue_truth(GROUND_TRUTH, ASSIGNMENTS)
    calls = pl.DataFrame(
        {
            "purpose": ["analysis"],
            "model": ["m"],
            "status": ["ok"],
            "attempts": [1],
            "prompt_tokens": [10],
            "completion_tokens": [5],
            "latency_ms": [5.0],
        }
    )
    report = evaluation_report(
        predictions(ANALYSES),
        truth,
        calls,
        {"prompt_per_million": 1.0, "completion_per_million": 2.0},
    )
    assert set(report) == {
        "labels",
        "severity_classes",
        "category_classes",
        "severity_confusion",
        "category_confusion",
        "facts",
        "cost",
    }
    facts = report["facts"].row(0, named=True)
    assert facts["summaries"] == 3
    assert facts["type_rate"] == pytest.approx(2 / 3)
    assert facts["culprit_rate"] == pytest.approx(1 / 2)
