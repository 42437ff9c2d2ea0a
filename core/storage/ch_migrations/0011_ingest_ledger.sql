-- The relay's ledger: for every spool segment it stored, what it had acknowledged and kept,
-- per project, hour of arrival and data category (error, default, security, transaction,
-- attachment, session), with the ids of the events and transactions. `just audit` and the
-- operations check reconcile it with the tables the rows went to and with the issues.
-- It must not share the fate of the rows it accounts for: no deduplication window (the
-- relay also inserts with insert_deduplicate = 0), and a segment flushed again after a
-- crash replaces its own rows (the key holds the segment's token), so read it with FINAL.
CREATE TABLE IF NOT EXISTS ingest_ledger
(
    project_id  UInt64,
    hour        DateTime('UTC'),
    category    LowCardinality(String),
    segment     String,
    items       UInt64,
    event_ids   Array(UUID),
    flushed_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(flushed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, category, segment)
TTL hour + INTERVAL 90 DAY
