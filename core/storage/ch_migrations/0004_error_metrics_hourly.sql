-- Hourly rollups per project, issue, level, environment and release, fed by a materialized
-- view on the workers' assignments, kept 90 days. Both tables keep a deduplication window
-- so a replayed assignment batch (same insert token) is not counted twice.
CREATE TABLE IF NOT EXISTS error_metrics_hourly
(
    project_id    UInt64,
    hour          DateTime('UTC'),
    group_id      UInt64,
    level         LowCardinality(String),
    environment   LowCardinality(String),
    release       String,
    events        SimpleAggregateFunction(sum, UInt64),
    -- Events extrapolated through the relay's sampling (sum of 1 / sample rate).
    weighted      SimpleAggregateFunction(sum, Float64),
    users         AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, group_id, level, environment, release)
TTL hour + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 100000;

CREATE MATERIALIZED VIEW IF NOT EXISTS error_metrics_hourly_mv TO error_metrics_hourly AS
SELECT
    project_id,
    toStartOfHour(timestamp) AS hour,
    group_id,
    level,
    environment,
    release,
    count() AS events,
    sum(toFloat64(sample_weight)) AS weighted,
    uniqStateIf(user_key, user_key != '') AS users
FROM event_groups
GROUP BY project_id, hour, group_id, level, environment, release
