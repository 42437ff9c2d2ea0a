"""Loaders: ClickHouse (Arrow) and the Parquet export answer alike; the export is complete;
`open_source` finds live data the way the notebooks need it."""

from __future__ import annotations

import argparse
import json
import socket
import time
from datetime import timedelta

import msgspec
import polars as pl
import pytest

from analysis.clickhouse_source import ClickHouseSource
from analysis.export import export
from analysis.parquet_source import ParquetSource
from analysis.source import (
    Window,
    WorkbenchSourceError,
    open_live_source,
    open_source,
    use_source,
)
from core.runtime import lock_data_folder
from core.settings import Settings
from core.storage import chdb_http
from seed.generate import Generator
from seed.plan import SeedPlan
from stackwise.cli import workbench

KEYED = {
    "events": ["project_id", "event_id"],
    "event_groups": ["project_id", "event_id"],
    "seed_ground_truth": ["project_id", "event_id"],
    "error_metrics_hourly": ["project_id", "hour", "group_id", "release", "level"],
    "error_groups": ["id"],
    "ai_calls": ["id"],
    "projects": ["id"],
}


@pytest.mark.parametrize("name", sorted(KEYED))
def test_clickhouse_and_parquet_give_the_same_frames(live, parquet, name):
    from_clickhouse = live.read(name).sort(KEYED[name])
    from_parquet = parquet.read(name).sort(KEYED[name])
    assert from_clickhouse.height > 0
    assert from_clickhouse.schema == from_parquet.schema
    assert from_clickhouse.equals(from_parquet)


# Transactions are kept 30 days (the TTL of `transactions` and of their ground truth). The
# dataset is a month of traffic ending at today's midnight, so as the day goes on its oldest
# transactions pass their retention; ClickHouse drops such rows when it writes or merges
# them, so those within an hour of the edge may be there or not.
_TRANSACTION_RETENTION_S = 30 * 86400


def test_seeded_data_is_all_there(live, dataset):
    truth = live.read("seed_ground_truth")
    seeded = {
        e.rendered.event_id.replace("-", ""): e
        for e in Generator(SeedPlan(dataset.options)).events()
    }
    assert len(seeded) == dataset.options.events
    edge = time.time() - _TRANSACTION_RETENTION_S + 3600
    kept = {
        event_id
        for event_id, event in seeded.items()
        if event.rendered.kind != "transaction" or event.timestamp > edge
    }
    found = {event_id.replace("-", "") for event_id in truth["event_id"]}
    assert truth.height == len(found)  # one row per event
    assert kept <= found <= set(seeded)
    errors = truth.filter(pl.col("type") != "transaction").height
    assert live.read("event_groups").height == errors
    assert live.read("events", columns=["event_id"]).height == errors


def test_filters_by_project_and_time_agree(live, parquet):
    first = live.read("event_groups", columns=["timestamp"])["timestamp"].min()
    window = Window(first + timedelta(days=3), first + timedelta(days=10))
    for source in (live, parquet):
        frame = source.read("event_groups", projects=[2], window=window)
        assert frame.height > 0
        assert frame["project_id"].unique().to_list() == [2]
        assert frame["timestamp"].min() >= window.start
        assert frame["timestamp"].max() < window.end
    sizes = [s.read("event_groups", projects=[2], window=window).height for s in (live, parquet)]
    assert sizes[0] == sizes[1]


@pytest.mark.parametrize(
    "dims", [[], ["day"], ["project_id", "hour"], ["group_id", "release"], ["level"]]
)
def test_rollups_agree_and_add_up_to_the_assignments(live, parquet, dims):
    from_clickhouse = live.rollup(dims)
    from_parquet = parquet.rollup(dims)
    assert from_clickhouse.equals(from_parquet)
    assert from_clickhouse["events"].sum() == live.read("event_groups", columns=["group_id"]).height


def test_an_unknown_rollup_dimension_is_refused(parquet):
    with pytest.raises(ValueError, match="unknown rollup dimension"):
        parquet.rollup(["user_key"])


def test_sql_runs_in_each_store_dialect(live, parquet):
    clickhouse = live.sql("SELECT count() AS n FROM event_groups FINAL")
    duckdb = parquet.sql("SELECT count(*) AS n FROM event_groups")
    assert clickhouse["n"][0] == duckdb["n"][0] > 0


def test_export_writes_partitions_and_a_manifest(live, parquet):
    manifest = json.loads((parquet.folder / "manifest.json").read_text())
    assert (
        manifest["datasets"]["events"]["rows"] == live.read("events", columns=["event_id"]).height
    )
    months = live.sql("SELECT DISTINCT toYYYYMM(timestamp) AS m FROM events")["m"].to_list()
    folders = {p.parent.name for p in (parquet.folder / "events").rglob("*.parquet")}
    assert folders == {f"month={m}" for m in months}
    assert manifest["queue_depth"] == {"events": 0, "events-ai": 0}
    assert not parquet.system("parts").is_empty()
    assert not parquet.system("query_timings").is_empty()


def test_export_of_one_project_replaces_the_previous_export(live, tmp_path):
    folder = tmp_path / "export"
    export(live, folder)
    export(live, folder, projects=[3])
    again = ParquetSource(folder)
    assert again.read("event_groups")["project_id"].unique().to_list() == [3]
    assert not list(tmp_path.glob("export.*"))  # no building or old folder left behind


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_running_serve_is_read_over_http(dataset, tmp_path):
    """`serve` offers its embedded ClickHouse over HTTP; open_source finds it there."""
    settings = dataset.stack.settings
    port = _free_port()
    server = chdb_http.serve_in_background(
        settings.clickhouse_dsn.removeprefix("chdb://"), "127.0.0.1", port
    )
    try:
        notebook_settings = msgspec.structs.replace(
            settings, clickhouse_url="", data_dir=tmp_path, clickhouse_http_port=port
        )
        with open_source(settings=notebook_settings) as source:
            assert isinstance(source, ClickHouseSource)
            assert f"127.0.0.1:{port}" in source.label
            assert source.rollup(["day"]).equals(dataset.live().rollup(["day"]))
    finally:
        server.shutdown()
        server.server_close()


def test_export_command_reads_a_running_serve_over_http(dataset, tmp_path):
    """`just export` while `serve` holds the embedded folder: it goes over HTTP."""
    settings = dataset.stack.settings
    port = _free_port()
    server = chdb_http.serve_in_background(
        settings.clickhouse_dsn.removeprefix("chdb://"), "127.0.0.1", port
    )
    try:
        parser = argparse.ArgumentParser()
        workbench.register(parser.add_subparsers())
        args = parser.parse_args(["export", "--projects", "1,2"])
        command_settings = msgspec.structs.replace(
            settings, clickhouse_url="", data_dir=tmp_path, clickhouse_http_port=port
        )
        assert args.handler(command_settings, args) == 0
    finally:
        server.shutdown()
        server.server_close()
    exported = ParquetSource(tmp_path / "export")
    live = dataset.live()
    for name in ("events", "event_groups", "error_groups"):
        mine = exported.read(name).sort(KEYED.get(name, ["id"]))
        assert mine.equals(live.read(name, projects=[1, 2]).sort(KEYED.get(name, ["id"])))


def test_a_busy_data_folder_without_http_says_what_to_do(tmp_path):
    data_dir = tmp_path / "data"
    (data_dir / "clickhouse").mkdir(parents=True)
    held = lock_data_folder(data_dir)  # as a running `serve` would
    try:
        settings = Settings(data_dir=data_dir, clickhouse_http_port=_free_port())
        with pytest.raises(WorkbenchSourceError, match="STACKWISE_CLICKHOUSE_HTTP_PORT"):
            open_live_source(settings)
    finally:
        held.close()


def test_nothing_stored_anywhere_says_how_to_get_data(tmp_path):
    settings = Settings(data_dir=tmp_path / "nothing", clickhouse_http_port=_free_port())
    with pytest.raises(WorkbenchSourceError, match="just seed"):
        open_source(settings=settings)


def test_a_pinned_source_wins_and_an_export_path_opens_parquet(parquet):
    with use_source(parquet):
        assert open_source() is parquet
    assert isinstance(open_source(str(parquet.folder)), ParquetSource)
    with pytest.raises(WorkbenchSourceError, match="just export"):
        ParquetSource(parquet.folder / "events")
