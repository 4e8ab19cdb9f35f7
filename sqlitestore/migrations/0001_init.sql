-- Version 1: entries with interned text, key slots, time-bucket counts.
--
-- Every text column of an entry but the request ID is interned per account
-- (strs), so an entry row holds small integers and every dictionary ID
-- implies its account: indexes on (dictionary ID, ts) need no account
-- column and stay narrow. Each index ends in ts, and SQLite appends the
-- rowid, so one index serves a column's sort in both directions with the
-- time-then-ID tie-break, and new rows land near the end of their group.

CREATE TABLE accounts (
	id   INTEGER PRIMARY KEY AUTOINCREMENT,
	name TEXT NOT NULL UNIQUE
) STRICT;

-- One slot per (account, key ID) ever seen, the empty "no key" ID
-- included, so that rows refer to a key that may be created, changed or
-- deleted later. known is 0 until UpsertKey stores the key's details and
-- again after DeleteKey. Its times are time.Time's binary encoding, exact
-- for any instant; NULL is the zero time.
CREATE TABLE keys (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	account    INTEGER NOT NULL REFERENCES accounts (id),
	key_id     TEXT NOT NULL,
	known      INTEGER NOT NULL DEFAULT 0,
	name       TEXT NOT NULL DEFAULT '',
	prefix     TEXT NOT NULL DEFAULT '',
	inactive   INTEGER NOT NULL DEFAULT 0,
	created_at BLOB,
	rotated_at BLOB,
	revoked_at BLOB,
	expires_at BLOB,
	UNIQUE (account, key_id)
) STRICT;

-- Interned values: kind 1 method, 2 endpoint, 3 error code, 4 IP hash. An
-- IP hash of 64 lowercase hex digits is kept as its 32 bytes (a BLOB).
CREATE TABLE strs (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	account INTEGER NOT NULL REFERENCES accounts (id),
	kind    INTEGER NOT NULL,
	value   ANY NOT NULL,
	UNIQUE (account, kind, value)
) STRICT;

CREATE TABLE entries (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	account    INTEGER NOT NULL,
	key        INTEGER NOT NULL,
	method     INTEGER NOT NULL,
	endpoint   INTEGER NOT NULL,
	status     INTEGER NOT NULL,
	error      INTEGER NOT NULL,
	ip         INTEGER NOT NULL,
	ts         INTEGER NOT NULL, -- Unix nanoseconds
	duration   INTEGER NOT NULL, -- nanoseconds
	request_id TEXT NOT NULL
) STRICT;

-- The time index is exact: it serves the default sort, time ranges and
-- deep pages. The others end in the time in units of 2^30 ns (about a
-- second), which fits in 4 bytes instead of 8 until 2043: an index entry
-- is about 12 bytes instead of 20, and the exact order within a second is
-- restored by a sort of that second's rows.
CREATE INDEX entries_time     ON entries (account, ts);
CREATE INDEX entries_status   ON entries (account, status, ts >> 30);
CREATE INDEX entries_key      ON entries (key, ts >> 30);
CREATE INDEX entries_method   ON entries (method, ts >> 30);
CREATE INDEX entries_endpoint ON entries (endpoint, ts >> 30);
CREATE INDEX entries_error    ON entries (error, ts >> 30);
CREATE INDEX entries_ip       ON entries (ip, ts >> 30);

-- Row counts per account and time bucket at three sizes: 2^30 ns (about a
-- second), 2^40 (18 minutes) and 2^50 (13 days). A total, the count of a
-- time range and the start of a deep page of the time-ordered view add up
-- at most a few thousand of them plus the rows of one second, instead of
-- counting every row.
CREATE TABLE counts (
	account INTEGER NOT NULL,
	level   INTEGER NOT NULL, -- the bucket is ts >> level
	bucket  INTEGER NOT NULL,
	n       INTEGER NOT NULL,
	PRIMARY KEY (account, level, bucket)
) STRICT, WITHOUT ROWID;
