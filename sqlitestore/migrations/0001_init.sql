-- Version 1: entries with interned text, key slots, chunk summaries.
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
-- again after DeleteKey.
CREATE TABLE keys (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	account    INTEGER NOT NULL REFERENCES accounts (id),
	key_id     TEXT NOT NULL,
	known      INTEGER NOT NULL DEFAULT 0,
	name       TEXT NOT NULL DEFAULT '',
	prefix     TEXT NOT NULL DEFAULT '',
	inactive   INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER,
	rotated_at INTEGER,
	revoked_at INTEGER,
	expires_at INTEGER,
	UNIQUE (account, key_id)
) STRICT;

-- Interned values: kind 1 method, 2 endpoint, 3 error code, 4 IP hash.
CREATE TABLE strs (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	account INTEGER NOT NULL REFERENCES accounts (id),
	kind    INTEGER NOT NULL,
	value   TEXT NOT NULL,
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

CREATE INDEX entries_time     ON entries (account, ts);
CREATE INDEX entries_status   ON entries (account, status, ts);
CREATE INDEX entries_key      ON entries (key, ts);
CREATE INDEX entries_method   ON entries (method, ts);
CREATE INDEX entries_endpoint ON entries (endpoint, ts);
CREATE INDEX entries_error    ON entries (error, ts);
CREATE INDEX entries_ip       ON entries (ip, ts);

-- Summaries of each account's rows per chunk of 4,096 entry IDs: the
-- unfiltered total is a sum over a few hundred rows per million entries,
-- and a deep page of the time-ordered view skips whole chunks.
CREATE TABLE chunks (
	account INTEGER NOT NULL,
	chunk   INTEGER NOT NULL,
	n       INTEGER NOT NULL,
	min_ts  INTEGER NOT NULL,
	max_ts  INTEGER NOT NULL,
	PRIMARY KEY (account, chunk)
) STRICT, WITHOUT ROWID;
