-- Version 3: the time index and the counts of every account together.
--
-- The operator's view of every account read each account's part of the
-- time index and merged them: one query per account, 0.4 s for the first
-- page at 20,000 accounts of two rows each, and a search timed out. Rows
-- arrive in about time order, so this index grows at its end, the
-- cheapest kind to keep.
CREATE INDEX entries_ts ON entries (ts);

-- The counts of every account together, under account 0 (IDs start at 1),
-- which Append and the pruner keep from now on: the operator's totals read
-- a few hundred rows, not a few hundred per account.
INSERT INTO counts (account, level, bucket, n)
SELECT 0, level, bucket, sum(n) FROM counts GROUP BY level, bucket;
