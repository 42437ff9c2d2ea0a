-- Stored payloads at zstd level 1, ClickHouse's default level, instead of 3. Under load
-- the events' payload is compressed once when a batch is inserted and again at every
-- merge; level 3 cost about 5% of the whole pipeline's CPU per event (`just bench e2e`,
-- measured on the insert and merge threads) for no better ratio on 20,000 sentry-sdk
-- exception events of one service (85x at level 3, 89x at level 1). Only the codec
-- changes: parts already written keep theirs until a merge rewrites them, so this is
-- instant on a table of any size.
ALTER TABLE events MODIFY COLUMN payload String CODEC(ZSTD(1));
ALTER TABLE transactions MODIFY COLUMN payload String CODEC(ZSTD(1));
ALTER TABLE processed_events MODIFY COLUMN payload String CODEC(ZSTD(1))
