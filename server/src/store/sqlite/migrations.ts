/**
 * SQLite schema migrations, applied in order. Migration `i` (0-based) moves the database from
 * `PRAGMA user_version = i` to `i + 1`. Never edit a released migration: append a new one.
 *
 * @module
 */

/** The migrations; `MIGRATIONS.length` is the schema version this server writes. */
export const MIGRATIONS: readonly string[] = [
  // 1: initial schema.
  `
  CREATE TABLE meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;

  CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    private_jwk TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
  ) STRICT;

  CREATE TABLE enrollment_codes (
    code_hash TEXT PRIMARY KEY,
    rp TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
  ) STRICT;
  CREATE INDEX enrollment_codes_expiry ON enrollment_codes (expires_at);

  CREATE TABLE devices (
    jkt TEXT NOT NULL,
    rp TEXT NOT NULL,
    subject TEXT NOT NULL,
    jwk TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    PRIMARY KEY (jkt, rp, subject)
  ) STRICT;
  CREATE INDEX devices_subject ON devices (rp, subject);

  CREATE TABLE sessions (
    sid TEXT PRIMARY KEY,
    rp TEXT NOT NULL,
    subject TEXT NOT NULL,
    challenge TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ended_at INTEGER,
    device_jkt TEXT,
    bound_at INTEGER,
    last_seq INTEGER NOT NULL DEFAULT 0,
    last_hash TEXT NOT NULL DEFAULT '',
    attestations INTEGER NOT NULL DEFAULT 0,
    last_attestation_at INTEGER,
    last_state TEXT CHECK (last_state IN ('enrolling', 'scoring')),
    ewma REAL,
    progress REAL
  ) STRICT;
  CREATE INDEX sessions_expiry ON sessions (expires_at);

  CREATE TABLE attestations (
    sid TEXT NOT NULL REFERENCES sessions (sid) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    jkt TEXT NOT NULL,
    iat REAL NOT NULL,
    received_at INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('enrolling', 'scoring')),
    conf REAL,
    progress REAL NOT NULL,
    mv TEXT NOT NULL,
    key_events INTEGER NOT NULL,
    pointer_events INTEGER NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (sid, seq)
  ) STRICT;

  CREATE TABLE jtis (
    jkt TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (jkt, jti)
  ) STRICT;
  CREATE INDEX jtis_expiry ON jtis (expires_at);

  CREATE TABLE bank_sessions (
    id_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    subject TEXT NOT NULL,
    tacit_sid TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    pending_code TEXT,
    pending_code_issued_at INTEGER,
    pending_code_expires_at INTEGER
  ) STRICT;
  CREATE INDEX bank_sessions_expiry ON bank_sessions (expires_at);
  `,
  // 2: policy termination of sessions; the audit trail and its retention anchor.
  `
  ALTER TABLE sessions ADD COLUMN terminated_at INTEGER;

  CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    type TEXT NOT NULL,
    actor TEXT NOT NULL,
    data TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL
  ) STRICT;
  CREATE INDEX audit_ts ON audit (ts);

  -- Append-only for the application (defence in depth: the hash chain is what detects edits).
  CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;

  CREATE TABLE audit_anchor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
  ) STRICT;
  `,
  // 3: the demo bank keeps its logins in its own store (server/demo-bank/store.ts).
  `
  DROP TABLE bank_sessions;
  `,
  // 4: the Shared Signals transmitter (store/sqlite/ssf.ts): streams, queued SETs (the
  // outbox's delivery side), dead letters, per-session last-sent levels, the fan-out cursor.
  `
  CREATE TABLE ssf_streams (
    id TEXT PRIMARY KEY,
    rp TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    record TEXT NOT NULL
  ) STRICT;
  CREATE INDEX ssf_streams_rp ON ssf_streams (rp, created_at);

  CREATE TABLE ssf_events (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    stream_id TEXT NOT NULL REFERENCES ssf_streams (id) ON DELETE CASCADE,
    jti TEXT NOT NULL,
    set_jws TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    UNIQUE (stream_id, jti)
  ) STRICT;
  CREATE INDEX ssf_events_due ON ssf_events (next_attempt_at);

  CREATE TABLE ssf_dead_letters (
    stream_id TEXT NOT NULL REFERENCES ssf_streams (id) ON DELETE CASCADE,
    jti TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT NOT NULL,
    failed_at INTEGER NOT NULL,
    PRIMARY KEY (stream_id, jti)
  ) STRICT;

  CREATE TABLE ssf_subjects (
    sid TEXT PRIMARY KEY,
    level TEXT,
    risk TEXT
  ) STRICT;

  CREATE TABLE ssf_cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
  ) STRICT;
  `,
  // 5: the session signals of the latest attestation that carried them (store/signals.ts).
  `
  ALTER TABLE sessions ADD COLUMN signals TEXT;
  `,
  // 6: strong-factor confirmation of a session by its relying party (services/sessions.ts).
  `
  ALTER TABLE sessions ADD COLUMN confirmed_at INTEGER;
  `,
];
