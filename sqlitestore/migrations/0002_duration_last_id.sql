-- Version 2: the Duration column's index, and each account's last row ID.
--
-- Durations are nearly unique, so the page cannot walk them value by value
-- as it walks the other columns' few distinct values: it reads this index
-- in order, as it reads entries_time, and stops when the page is full. The
-- index serves both directions: descending reads it backwards exactly,
-- ascending sorts only the rows that tie on (duration, ts).
CREATE INDEX entries_duration ON entries (account, duration, ts);

-- A page says the highest row ID in its scope (Page.MaxID), so that its
-- next pages can be pinned to the rows that existed. The highest ID of the
-- whole table would tell one tenant how many requests the others make;
-- Append keeps each account's own here, in the batch's transaction.
ALTER TABLE accounts ADD COLUMN last_id INTEGER NOT NULL DEFAULT 0;
UPDATE accounts SET last_id = coalesce((SELECT max(id) FROM entries WHERE account = accounts.id), 0);
