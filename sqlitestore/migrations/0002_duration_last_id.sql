-- Version 2: the Duration column's index, and each account's last row ID.
--
-- Durations are nearly unique, so an index on them takes each new row at
-- a random place: 1,000 rows a batch dirtied about as many pages, and
-- ingest fell by 35-55%. So, like the other indexes, this one leads with a
-- value of few distinct values and ends in the time, and new rows land at
-- the end of their value's range: the duration's number of decimal digits
-- and its first digit (1.33 s, 1,330,000,000 ns, is 101), nine values per
-- power of ten, which grow with the duration. The page walks them in order
-- (durationGroup in schema.go, the same expression) and sorts each one's
-- rows by the exact duration, which the index holds too.
CREATE INDEX entries_duration ON entries (account, (length(duration) * 10 + substr(duration, 1, 1)), ts, duration);

-- A page says the highest row ID in its scope (Page.MaxID), so that its
-- next pages can be pinned to the rows that existed. The highest ID of the
-- whole table would tell one tenant how many requests the others make;
-- Append keeps each account's own here, in the batch's transaction.
ALTER TABLE accounts ADD COLUMN last_id INTEGER NOT NULL DEFAULT 0;
UPDATE accounts SET last_id = coalesce((SELECT max(id) FROM entries WHERE account = accounts.id), 0);
