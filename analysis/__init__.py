"""The workbench library: loaders, grouping metrics, replay and traffic analysis for notebooks.

Data flows in one direction: analysis reads what the relay and workers stored (ClickHouse,
PostgreSQL, Parquet exports) and may import the grouping engine to replay it.
"""
