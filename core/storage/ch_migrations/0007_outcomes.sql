-- What happened to everything sent: accepted, filtered, rate limited, sampled away,
-- invalid (by the relay) and the SDKs' own client reports, per project and hour.
CREATE TABLE IF NOT EXISTS outcomes
(
    project_id  UInt64,
    hour        DateTime('UTC'),
    outcome     LowCardinality(String),
    reason      LowCardinality(String),
    category    LowCardinality(String),
    source      LowCardinality(String),
    quantity    UInt64
)
ENGINE = SummingMergeTree(quantity)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, outcome, category, reason, source)
TTL hour + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 100000
