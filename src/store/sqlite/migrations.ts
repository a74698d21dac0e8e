// Schema migrations for the SQLite store, applied in order; PRAGMA user_version records how many have run.
// Never edit a released migration: add a new one.
import type Database from 'better-sqlite3';

export const SQLITE_MIGRATIONS: readonly string[] = [
  // 1: the initial schema.
  `
  CREATE TABLE clients (
    id            INTEGER PRIMARY KEY CHECK (id BETWEEN 1 AND 4294967295),
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('receiver', 'sender')),
    wrapped_key   BLOB    NOT NULL,
    created_at_ms INTEGER NOT NULL
  );
  CREATE TABLE services (
    id            INTEGER PRIMARY KEY CHECK (id BETWEEN 1 AND 4294967295),
    name          TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL
  );
  CREATE TABLE programmes (
    id                INTEGER PRIMARY KEY CHECK (id BETWEEN 1 AND 4294967295),
    service_id        INTEGER NOT NULL REFERENCES services (id),
    name              TEXT    NOT NULL,
    multicast_group   TEXT    NOT NULL,
    port              INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    key_port          INTEGER NOT NULL CHECK (key_port BETWEEN 1 AND 65535),
    profile           TEXT    NOT NULL,
    mki_length_bytes  INTEGER NOT NULL CHECK (mki_length_bytes BETWEEN 0 AND 4),
    segment_length_ms INTEGER NOT NULL CHECK (segment_length_ms > 0),
    crypto_period_ms  INTEGER NOT NULL CHECK (crypto_period_ms > 0),
    pricing           TEXT    NOT NULL CHECK (pricing IN ('subscription', 'per_segment', 'both')),
    next_key_id       INTEGER NOT NULL DEFAULT 1,
    next_message_seq  INTEGER NOT NULL DEFAULT 1,
    created_at_ms     INTEGER NOT NULL
  );
  CREATE TABLE entitlements (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL CHECK (kind IN ('subscription', 'per_segment')),
    client_id     INTEGER NOT NULL REFERENCES clients (id),
    service_id    INTEGER REFERENCES services (id),
    period        TEXT,
    programme_id  INTEGER REFERENCES programmes (id),
    from_segment  INTEGER,
    to_segment    INTEGER,
    created_at_ms INTEGER NOT NULL,
    CHECK ((kind = 'subscription' AND service_id IS NOT NULL AND period IS NOT NULL AND programme_id IS NULL)
        OR (kind = 'per_segment' AND programme_id IS NOT NULL AND service_id IS NULL AND period IS NULL))
  );
  CREATE INDEX entitlements_by_client ON entitlements (client_id, kind);
  CREATE TABLE segment_keys (
    programme_id  INTEGER NOT NULL REFERENCES programmes (id),
    segment       INTEGER NOT NULL CHECK (segment >= 0),
    epoch         INTEGER NOT NULL CHECK (epoch BETWEEN 0 AND 65535),
    wrapped_key   BLOB    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (programme_id, segment, epoch)
  ) WITHOUT ROWID;
  CREATE TABLE content_keys (
    programme_id    INTEGER NOT NULL REFERENCES programmes (id),
    key_id          INTEGER NOT NULL CHECK (key_id BETWEEN 1 AND 4294967295),
    segment         INTEGER NOT NULL CHECK (segment >= 0),
    epoch           INTEGER NOT NULL,
    ssrc            INTEGER NOT NULL,
    roc             INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    activates_at_ms INTEGER NOT NULL,
    expires_at_ms   INTEGER NOT NULL,
    wrapped_key     BLOB    NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    PRIMARY KEY (programme_id, key_id)
  ) WITHOUT ROWID;
  CREATE INDEX content_keys_by_segment ON content_keys (programme_id, segment);
  CREATE TABLE nonces (
    client_id     INTEGER NOT NULL,
    nonce         TEXT    NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    PRIMARY KEY (client_id, nonce)
  ) WITHOUT ROWID;
  CREATE INDEX nonces_by_expiry ON nonces (expires_at_ms);
  CREATE TABLE log (
    seq           INTEGER PRIMARY KEY CHECK (seq >= 1),
    time_ms       INTEGER NOT NULL,
    request_id    TEXT,
    client_id     INTEGER,
    authenticated INTEGER NOT NULL CHECK (authenticated IN (0, 1)),
    service_id    INTEGER,
    programme_id  INTEGER,
    segment       INTEGER,
    key_id        INTEGER,
    event         TEXT    NOT NULL,
    outcome       TEXT    NOT NULL CHECK (outcome IN ('delivered', 'denied')),
    code          TEXT,
    basis         TEXT    CHECK (basis IS NULL OR basis IN ('subscription', 'per_segment')),
    period        TEXT,
    detail        TEXT,
    response      TEXT,
    prev_hash     TEXT    NOT NULL,
    hash          TEXT    NOT NULL
  );
  -- One delivered answer per (client, request id): a retry is answered from it and billed once.
  CREATE UNIQUE INDEX log_delivered_by_request ON log (client_id, request_id)
    WHERE outcome = 'delivered' AND authenticated = 1 AND request_id IS NOT NULL;
  CREATE INDEX log_by_programme ON log (programme_id, segment);
  -- The log is append-only.
  CREATE TRIGGER log_no_update BEFORE UPDATE ON log
    BEGIN SELECT RAISE(ABORT, 'keycast: the request log is append-only (UPDATE refused)'); END;
  CREATE TRIGGER log_no_delete BEFORE DELETE ON log
    BEGIN SELECT RAISE(ABORT, 'keycast: the request log is append-only (DELETE refused)'); END;
  `,
  // 2: service keys (SK), one per (service, subscription period), wrapped under the master key.
  `
  CREATE TABLE service_keys (
    service_id    INTEGER NOT NULL REFERENCES services (id),
    period        TEXT    NOT NULL CHECK (period GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]'),
    wrapped_key   BLOB    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (service_id, period)
  ) WITHOUT ROWID;
  `,
  // 3: sessions (docs/membership.md): programmes may be priced 'session' (sold per minute of membership), and the
  // session events of the log are indexed (billing and the restart rule read them). SQLite cannot change a CHECK,
  // so the programmes table is rebuilt (foreign keys are off while migrations run; see migrateSqlite).
  `
  CREATE TABLE programmes_v3 (
    id                INTEGER PRIMARY KEY CHECK (id BETWEEN 1 AND 4294967295),
    service_id        INTEGER NOT NULL REFERENCES services (id),
    name              TEXT    NOT NULL,
    multicast_group   TEXT    NOT NULL,
    port              INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    key_port          INTEGER NOT NULL CHECK (key_port BETWEEN 1 AND 65535),
    profile           TEXT    NOT NULL,
    mki_length_bytes  INTEGER NOT NULL CHECK (mki_length_bytes BETWEEN 0 AND 4),
    segment_length_ms INTEGER NOT NULL CHECK (segment_length_ms > 0),
    crypto_period_ms  INTEGER NOT NULL CHECK (crypto_period_ms > 0),
    pricing           TEXT    NOT NULL CHECK (pricing IN ('subscription', 'per_segment', 'both', 'session')),
    next_key_id       INTEGER NOT NULL DEFAULT 1,
    next_message_seq  INTEGER NOT NULL DEFAULT 1,
    created_at_ms     INTEGER NOT NULL
  );
  INSERT INTO programmes_v3 SELECT id, service_id, name, multicast_group, port, key_port, profile, mki_length_bytes,
    segment_length_ms, crypto_period_ms, pricing, next_key_id, next_message_seq, created_at_ms FROM programmes;
  DROP TABLE programmes;
  ALTER TABLE programmes_v3 RENAME TO programmes;
  CREATE INDEX log_session_events ON log (event, programme_id, client_id)
    WHERE event IN ('join', 'leave', 'evict', 'billing_stop');
  `,
  // 4: how packets signal a key change (docs/key-phase.md): 'mki' (claims 25-28) or 'phase', the RTP padding bit
  // (claim 29). Existing programmes keep the MKI.
  `
  ALTER TABLE programmes ADD COLUMN key_change TEXT NOT NULL DEFAULT 'mki' CHECK (key_change IN ('mki', 'phase'));
  `,
];

/**
 * Applies the migrations this database has not seen yet, each in its own transaction. Foreign keys are off while
 * they run (a migration may rebuild a referenced table, as SQLite's ALTER TABLE procedure requires) and each
 * transaction checks them before it commits.
 */
export function migrateSqlite(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SQLITE_MIGRATIONS.length) {
    throw new Error(
      `keycast.db has schema version ${current}, newer than this keycast (${SQLITE_MIGRATIONS.length}); upgrade keycast`,
    );
  }
  if (current === SQLITE_MIGRATIONS.length) return;
  const foreignKeys = db.pragma('foreign_keys', { simple: true }) as number;
  db.pragma('foreign_keys = OFF');
  try {
    for (let v = current; v < SQLITE_MIGRATIONS.length; v++) {
      db.transaction(() => {
        db.exec(SQLITE_MIGRATIONS[v]!);
        const broken = db.pragma('foreign_key_check') as unknown[];
        if (broken.length > 0) throw new Error(`migration ${v + 1} breaks ${broken.length} foreign key(s)`);
        db.pragma(`user_version = ${v + 1}`);
      }).immediate();
    }
  } finally {
    db.pragma(`foreign_keys = ${foreignKeys === 1 ? 'ON' : 'OFF'}`);
  }
}
