"""The workbench library: loaders, grouping metrics, replay and traffic analysis for notebooks.

Data flows in one direction: analysis reads what the relay and workers stored (ClickHouse,
PostgreSQL, Parquet exports) and may import the grouping engine to replay it.

    source, tables         where data comes from (`open_source`), the datasets' schemas
    clickhouse_source,     the live stores (Arrow from ClickHouse) and a `just export`
      parquet_source         folder (polars, DuckDB), answering alike
    export                 `just export`: partitioned Parquet of everything stored
    metrics, accuracy      grouping scores against ground truth, the worst clusters
    replay_keys,           replay: events with the same grouping input grouped once,
      replay_worker,         in worker processes kept warm between replays,
      replay, replay_diff    and what would merge, split and move
    traffic, dashboards,   series, spikes, releases, sampling; rollup dashboards;
      operations             ingestion, lag, queues, storage, slow queries
    seed_truth, rules      what the seeder made; a project's rules, checked and saved
    ai_evaluation          AI summaries against the truth (another engineer's)
    display, charts,       how notebooks show things (marimo, Jupyter, reports), the
      report                 shared charts, `just report`'s self-contained pages
"""
