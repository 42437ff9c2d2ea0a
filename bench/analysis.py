"""Benchmark the workbench: replay a new rule set over 1,000,000 stored events with the diff
against today's issues, and the dashboard queries over 10,000,000 events.

    uv run just bench analysis [--from-units DIR]

Data is made once and cached under ~/.cache/stackwise/bench-analysis (XDG_CACHE_HOME):
- `events-1m/`: a million seeded events (`seed` generator, 30 days, 300 root causes; a
  uniform sample of exactly 1,000,000 from a larger generation, whose transactions are
  stored apart) in the layout of `just export`, with today's issues (`event_groups`) as
  the workers' v1 grouping assigned them. `--from-units DIR` reuses unit files an earlier
  generation left.
- `clickhouse-10m/`: chdb with 10,000,000 `event_groups` rows made by
  `INSERT ... SELECT FROM numbers()`, which feed the hourly rollups as in production.

Prints the cold replay (read, index, group, diff), a warm re-run under other rules, each
dashboard query's time (median of three), and one summary line:

    bench analysis: <figures> (target replay 1M < 30 s, queries on 10M < 1 s) ok|short
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

# Run as a script, this file's folder leads sys.path, and this file is named like the
# package it measures: drop the folder so `import analysis` finds the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import duckdb  # noqa: E402
import polars as pl  # noqa: E402
import pyarrow.dataset as pa_dataset  # noqa: E402

from analysis.dashboards import QUERIES  # noqa: E402
from analysis.parquet_source import ParquetSource  # noqa: E402
from analysis.replay import ReplayIndex, RuleSet  # noqa: E402
from analysis.replay_diff import current_assignments, diff  # noqa: E402

REPLAY_TARGET_S = 30.0
QUERY_TARGET_S = 1.0
EVENTS = 1_000_000
# The generator's traffic includes transactions (stored apart) and any events the relay
# refuses, so it is asked for more and a uniform sample of exactly EVENTS stored events kept.
GENERATED = 1_120_000
ROLLUP_EVENTS = 10_000_000
# A rule set a data scientist might try: merge timeouts, merge the connection errors of
# each endpoint, pull one library's errors together, name a frontend chunk failure.
NEW_RULES = RuleSet(
    fingerprint_rules="\n".join(
        [
            'error.type:"*Timeout*" -> timeouts',
            'message:"*connection*" -> connection-errors, {{ type }}',
            'stack.module:"requests.*" -> http-client, {{ function }}',
            'family:javascript error.type:"ChunkLoadError" -> chunk-load',
        ]
    )
)
OTHER_RULES = RuleSet(fingerprint_rules='error.value:"*not found*" -> not-found, {{ type }}')


def cache_root() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "stackwise" / "bench-analysis"


def _generate_units(spool: Path) -> Path:
    """Seeded events as the generator's unit files (what `seed --direct` would insert)."""
    from seed.deliver_direct import built_units
    from seed.plan import SeedOptions, SeedPlan

    options = SeedOptions(events=GENERATED, days=30, root_causes=300, seed=1)
    project_ids = {p.key: i + 1 for i, p in enumerate(SeedPlan(options).projects)}
    shutil.rmtree(spool, ignore_errors=True)  # no stale units from an earlier generation
    spool.mkdir(parents=True)
    started = time.perf_counter()
    for result in built_units(options, project_ids, spool, workers=os.cpu_count() or 1):
        if result.transaction_file:
            Path(result.transaction_file).unlink()
        if result.index % 10 == 0:
            print(f"  generated unit {result.index} ({time.perf_counter() - started:.0f} s)")
    return spool


_UUID_TEXT = (
    "lower(substr(hex(event_id), 1, 8) || '-' || substr(hex(event_id), 9, 4) || '-' || "
    "substr(hex(event_id), 13, 4) || '-' || substr(hex(event_id), 17, 4) || '-' || "
    "substr(hex(event_id), 21, 12))"
)


def _unit_files(units: Path) -> pa_dataset.Dataset:
    """The unit files' error events: Arrow IPC as `seed --direct` writes them now (an older
    generation left Parquet)."""
    arrow = sorted(units.glob("*.events.arrow"))
    if arrow:
        return pa_dataset.dataset(arrow, format="ipc")
    parquet = sorted(units.glob("*.parquet"))
    if not parquet:
        raise SystemExit(f"no unit files (*.events.arrow or *.parquet) in {units}")
    return pa_dataset.dataset(parquet, format="parquet")


def _export_layout(units: Path, folder: Path) -> None:
    """Unit files -> `events/project_id=N/month=M/*.parquet`, ids as text (as exported):
    EVENTS of them, a uniform sample by a hash of the event id."""
    connection = duckdb.connect()
    connection.register("units", _unit_files(units))
    have = connection.execute("SELECT count() FROM units").fetchone()[0]
    if have < EVENTS:
        raise SystemExit(f"the unit files in {units} hold {have:,} events, fewer than {EVENTS:,}")
    cut = connection.execute(
        f"SELECT hash(event_id) AS h FROM units ORDER BY h LIMIT 1 OFFSET {EVENTS - 1}"
    ).fetchone()[0]
    connection.execute(
        f"COPY (SELECT project_id, timestamp, {_UUID_TEXT} AS event_id, received_at, type, "
        "level, platform, release, environment, logger, transaction, exception_type, "
        "exception_value, message, user_key, sdk_name, sdk_version, '{}' AS tags, sample_rate, "
        "payload, year(timestamp) * 100 + month(timestamp) AS month "
        f"FROM units WHERE hash(event_id) <= {cut} ORDER BY project_id, timestamp) "
        f"TO '{folder / 'events'}' (FORMAT parquet, COMPRESSION zstd, "
        "PARTITION_BY (project_id, month), WRITE_PARTITION_COLUMNS true)"
    )
    connection.close()


def _assign_today(folder: Path) -> None:
    """Today's issues: the v1 grouping of every event, one issue per (project, hash)."""
    (folder / "manifest.json").write_text(json.dumps({"created_at": "bench"}))
    source = ParquetSource(folder)
    with ReplayIndex.build(source) as index:
        replay = index.replay(RuleSet())
    issues = replay.issues.select("project_id", "hash").with_row_index("group_id", offset=1)
    events = source.read("events", columns=["project_id", "event_id", "timestamp"])
    assigned = (
        replay.events.join(issues, on=["project_id", "hash"])
        .join(events, on=["project_id", "event_id"])
        .select(
            "project_id",
            "timestamp",
            "event_id",
            pl.col("group_id").cast(pl.UInt64),
            pl.col("hash").alias("primary_hash"),
            pl.lit("v1").alias("grouping_version"),
        )
    )
    for (project,), part in assigned.group_by("project_id"):
        path = folder / "event_groups" / f"project_id={project}" / "part-0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        part.write_parquet(path)


def _stored(folder: Path) -> int:
    pattern = folder / "events" / "*" / "*" / "*.parquet"
    return duckdb.execute(f"SELECT count() FROM read_parquet('{pattern}')").fetchone()[0]


def ensure_events(from_units: Path | None) -> Path:
    folder = cache_root() / "events-1m"
    if (folder / "event_groups").exists() and _stored(folder) == EVENTS:
        return folder
    print(f"preparing {EVENTS:,} seeded events in {folder} (once)")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    units = from_units or _generate_units(cache_root() / "units")
    _export_layout(units, folder)
    _assign_today(folder)
    if from_units is None:
        shutil.rmtree(units, ignore_errors=True)
    if (stored := _stored(folder)) != EVENTS:
        raise SystemExit(f"{folder} holds {stored:,} events, not {EVENTS:,}")
    return folder


_ROLLUP_BATCH = 1_000_000
# Ten million assignments over the last 30 days: 4 projects, issue ids log-uniform over
# 2,000 per project (a few big issues, a long tail), a release every 3 days, some warnings
# and fatals, one event in ten sampled at 10%.
_EVENT_GROUPS_SELECT = """
INSERT INTO event_groups
SELECT
    1 + number % 4 AS project_id,
    now64(3) - toIntervalMillisecond(cityHash64(number, 7) % (30 * 86400000)) AS timestamp,
    generateUUIDv4(number) AS event_id,
    project_id * 10000 + toUInt64(exp(log(2000) * (cityHash64(number, 1) % 1000000) / 1e6))
        AS group_id,
    toFixedString(lower(hex(MD5(toString(group_id)))), 32) AS primary_hash,
    'v1' AS grouping_version,
    multiIf(cityHash64(number, 3) % 100 = 0, 'fatal',
            cityHash64(number, 3) % 100 < 6, 'warning', 'error') AS level,
    'production' AS environment,
    concat('app-', toString(project_id), '@', toString(intDiv(toRelativeDayNum(timestamp), 3)))
        AS release,
    concat('user-', toString(cityHash64(number, 2) % 50000)) AS user_key,
    if(cityHash64(number, 4) % 10 = 0, 10, 1) AS sample_weight,
    now64(3) AS processed_at
FROM numbers({start}, {count})
"""


def ensure_rollups():
    """chdb with 10M assignments (and so their hourly rollups), made once."""
    from analysis.clickhouse_source import ClickHouseSource
    from core.storage import clickhouse

    client = clickhouse.connect(f"chdb://{cache_root() / 'clickhouse-10m'}", "bench")
    clickhouse.migrate(client)
    have = client.query("SELECT count() FROM event_groups").result_rows[0][0]
    if have != ROLLUP_EVENTS:
        print(f"generating {ROLLUP_EVENTS:,} assignments in ClickHouse (once)")
        client.command("TRUNCATE TABLE event_groups")
        client.command("TRUNCATE TABLE error_metrics_hourly")
        for start in range(0, ROLLUP_EVENTS, _ROLLUP_BATCH):
            client.command(_EVENT_GROUPS_SELECT.format(start=start, count=_ROLLUP_BATCH))
        client.command("OPTIMIZE TABLE error_metrics_hourly FINAL")
    rows = client.query("SELECT count() FROM error_metrics_hourly").result_rows[0][0]
    print(f"dashboards: {ROLLUP_EVENTS:,} events in {rows:,} hourly rollup rows")
    return ClickHouseSource(client, label="bench ClickHouse")


def bench_queries(source) -> dict[str, float]:
    """Each dashboard query's median time over three runs (after one warm-up)."""
    seconds = {}
    for name, run in QUERIES.items():
        run(source)
        times = []
        for _ in range(3):
            started = time.perf_counter()
            run(source)
            times.append(time.perf_counter() - started)
        seconds[name] = statistics.median(times)
        print(f"  {name:<24} {seconds[name] * 1000:7.1f} ms")
    return seconds


def bench_replay(folder: Path) -> tuple[float, float, int]:
    source = ParquetSource(folder)
    started = time.perf_counter()
    cpu_before = time.process_time()
    index = ReplayIndex.build(source, rules=NEW_RULES)
    built = time.perf_counter()
    try:
        index.start(NEW_RULES)
        current = current_assignments(source)  # read while the workers group
        replay = index.finish()
        grouped = time.perf_counter()
        changes = diff(current, replay)
        cold = time.perf_counter() - started
        cpu = index.cpu_seconds() + time.process_time() - cpu_before
        print(
            f"replay of {index.events:,} events ({index.classes():,} classes): cold {cold:.1f} s "
            f"= index {built - started:.1f} s + group {grouped - built:.1f} s "
            f"+ diff {cold - (grouped - started):.1f} s; {cpu:.1f} CPU-s over all processes "
            f"(machine load {os.getloadavg()[0]:.1f})"
        )
        summary = changes.summary
        print(
            f"  {summary['issues_before']} issues -> {summary['issues_after']}: "
            f"{summary['merged_issues']} merged, {summary['split_issues']} split, "
            f"{summary['events_moved']:,} events move"
        )
        started = time.perf_counter()
        other = diff(current, index.replay(OTHER_RULES))
        warm = time.perf_counter() - started
        moved = other.summary["events_moved"]
        print(f"  warm re-run under other rules: {warm:.1f} s ({moved:,} events move)")
    finally:
        index.close()
    return cold, warm, index.events


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from-units", type=Path, help="unit files of an earlier generation")
    args = parser.parse_args()
    folder = ensure_events(args.from_units)
    cold, warm, replayed = bench_replay(folder)
    queries = bench_queries(ensure_rollups())
    slowest = max(queries.values())
    ok = replayed == EVENTS and cold < REPLAY_TARGET_S and slowest < QUERY_TARGET_S
    print(
        f"bench analysis: replay of {replayed:,} events cold {cold:.1f} s (warm {warm:.1f} s), "
        f"dashboard queries "
        f"on 10M max {slowest:.2f} s (target replay 1M < {REPLAY_TARGET_S:.0f} s, queries on "
        f"10M < {QUERY_TARGET_S:.0f} s) {'ok' if ok else 'short'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
