-- Version 4: the chart's counts, by account, time bucket and status class.
--
-- A chart of a million rows counted on the rows took a scan of them all;
-- these counts answer the unfiltered chart, and the one filtered by status
-- class, from a few thousand rows. Levels are bucket sizes in seconds (10,
-- 60, 3600, 86400), each a multiple of the one before, so that any round
-- chart step is whole buckets of one level; bucket is the time in Unix
-- nanoseconds divided by the level's size. Account 0 is every account's
-- rows together, as in counts. Append and the pruner keep the table.
CREATE TABLE volume (
	account INTEGER NOT NULL,
	level   INTEGER NOT NULL,
	bucket  INTEGER NOT NULL,
	class   INTEGER NOT NULL,
	n       INTEGER NOT NULL,
	PRIMARY KEY (account, level, bucket, class)
) WITHOUT ROWID, STRICT;

-- The rows already stored, counted once at the finest level and summed
-- into the others. The class is apilog.ClassOf's rule.
INSERT INTO volume (account, level, bucket, class, n)
SELECT account, 10, ts / 10000000000,
	CASE WHEN status BETWEEN 200 AND 299 THEN 1 WHEN status BETWEEN 300 AND 399 THEN 2
		WHEN status BETWEEN 400 AND 499 THEN 3 WHEN status BETWEEN 500 AND 599 THEN 4 ELSE 0 END,
	count(*)
FROM entries GROUP BY 1, 3, 4;

INSERT INTO volume (account, level, bucket, class, n)
SELECT account, 60, bucket / 6, class, sum(n) FROM volume WHERE level = 10 GROUP BY 1, 3, 4;
INSERT INTO volume (account, level, bucket, class, n)
SELECT account, 3600, bucket / 60, class, sum(n) FROM volume WHERE level = 60 GROUP BY 1, 3, 4;
INSERT INTO volume (account, level, bucket, class, n)
SELECT account, 86400, bucket / 24, class, sum(n) FROM volume WHERE level = 3600 GROUP BY 1, 3, 4;
INSERT INTO volume (account, level, bucket, class, n)
SELECT 0, level, bucket, class, sum(n) FROM volume GROUP BY level, bucket, class;
