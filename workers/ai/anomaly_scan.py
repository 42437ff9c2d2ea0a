"""The scheduled anomaly scan: hourly rollups from ClickHouse -> `ai_anomalies`.

Two ClickHouse queries: project totals over the whole history window, and the
series of the issues that reached `min_count` in some hour of the scanned
window (the rest cannot be anomalous). Scoring is `anomaly` (pure). A detected
run that touches a stored one of the same scope and kind extends it, so an
ongoing spike seen by successive scans stays one alert; only anomalies not seen
before are returned as new, for notifications.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import msgspec

from core.anomaly import (
    DEFAULT_CONFIG,
    HOUR_S,
    WEEK_S,
    Anomaly,
    AnomalyConfig,
    HourlyCount,
    detect_anomalies,
)
from core.pg import ai
from core.storage.postgres import DbConnection
from workers.context import WorkerContext

_TOTALS_SQL = """
SELECT project_id, toUInt64(0), toUInt32(toUnixTimestamp(hour)) AS h, sum(weighted)
FROM error_metrics_hourly
WHERE hour >= toDateTime({since:UInt32}) AND hour < toDateTime({until:UInt32})
GROUP BY project_id, h
"""

_ISSUES_SQL = """
SELECT project_id, group_id, toUInt32(toUnixTimestamp(hour)) AS h, sum(weighted)
FROM error_metrics_hourly
WHERE hour >= toDateTime({since:UInt32}) AND hour < toDateTime({until:UInt32})
  AND (project_id, group_id) IN (
      SELECT project_id, group_id FROM (
          SELECT project_id, group_id, hour, sum(weighted) AS n
          FROM error_metrics_hourly
          WHERE hour >= toDateTime({start:UInt32}) AND hour < toDateTime({until:UInt32})
          GROUP BY project_id, group_id, hour)
      GROUP BY project_id, group_id
      HAVING max(n) >= {min_count:Float64})
GROUP BY project_id, group_id, h
"""


class StoredAnomaly(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    anomaly: Anomaly
    new: bool


def load_hourly_counts(
    ctx: WorkerContext, *, window_start: int, window_end: int, config: AnomalyConfig
) -> list[HourlyCount]:
    since = window_start - config.weeks * WEEK_S
    parameters = {
        "since": since,
        "start": window_start,
        "until": window_end,
        "min_count": config.min_count,
    }
    client = ctx.clickhouse()
    rows = []
    for sql in (_TOTALS_SQL, _ISSUES_SQL):
        result = client.query(sql, parameters=parameters)
        rows += [
            HourlyCount(project_id=p, group_id=g, hour=h, count=n)
            for p, g, h, n in result.result_rows
        ]
    return rows


def _ts(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def store_anomaly(conn: DbConnection, anomaly: Anomaly) -> StoredAnomaly:
    """Extend a stored anomaly this run touches, or insert a new one."""
    values = {
        "project": anomaly.project_id,
        "group": anomaly.group_id,
        "kind": anomaly.kind,
        "start": _ts(anomaly.start_hour),
        "end": _ts(anomaly.end_hour),
        "peak": _ts(anomaly.peak_hour),
        "count": anomaly.peak_count,
        "baseline": anomaly.baseline,
        "score": anomaly.score,
        "touch": timedelta(seconds=HOUR_S),
    }
    extended = ai.extend_anomaly(conn, values)
    if extended is not None:
        return StoredAnomaly(id=extended, anomaly=anomaly, new=False)
    return StoredAnomaly(id=ai.insert_anomaly(conn, values), anomaly=anomaly, new=True)


def scan_anomalies(
    ctx: WorkerContext,
    *,
    window_hours: int = 24,
    now: float | None = None,
    config: AnomalyConfig = DEFAULT_CONFIG,
) -> list[StoredAnomaly]:
    """Detect anomalies in the last `window_hours` complete hours and store them."""
    now = time.time() if now is None else now
    # The current hour is still filling up: scan complete hours only.
    window_end = int(now // HOUR_S) * HOUR_S
    window_start = window_end - window_hours * HOUR_S
    rows = load_hourly_counts(ctx, window_start=window_start, window_end=window_end, config=config)
    anomalies = detect_anomalies(
        rows, window_start=window_start, window_end=window_end, config=config
    )
    with ctx.stack.pool.connection() as conn, conn.transaction():
        return [store_anomaly(conn, a) for a in anomalies]
