-- Version 2: the Duration column's index.
--
-- Durations are nearly unique, so the page cannot walk them value by value
-- as it walks the other columns' few distinct values: it reads this index
-- in order, as it reads entries_time, and stops when the page is full. The
-- index serves both directions: descending reads it backwards exactly,
-- ascending sorts only the rows that tie on (duration, ts).
CREATE INDEX entries_duration ON entries (account, duration, ts);
