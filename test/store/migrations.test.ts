// Migration 3 (sessions): a database made by the previous release (schema 2) is migrated in place. Programmes and
// what refers to them survive the rebuild of the programmes table, `session` pricing is accepted, and foreign keys
// are enforced again afterwards.
import Database from 'better-sqlite3';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { asProgrammeId } from '../../src/ids.js';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { openSqliteStore } from '../../src/store/sqlite/store.js';

describe('SQLite migration 3', () => {
  it('keeps programmes and their references, accepts session pricing, enforces foreign keys again', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'keycast-migrate-')), 'keycast.db');
    const old = new Database(path);
    old.pragma('foreign_keys = ON');
    for (const [i, sql] of SQLITE_MIGRATIONS.slice(0, 2).entries()) {
      old.exec(sql);
      old.pragma(`user_version = ${i + 1}`);
    }
    old.exec(`INSERT INTO services (id, name, created_at_ms) VALUES (1, 'news', 1)`);
    old.exec(`INSERT INTO programmes (id, service_id, name, multicast_group, port, key_port, profile, mki_length_bytes,
      segment_length_ms, crypto_period_ms, pricing, next_key_id, next_message_seq, created_at_ms)
      VALUES (7, 1, 'eve', '239.255.0.9', 5004, 5006, 'AES_CM_128_HMAC_SHA1_80', 4, 60000, 10000, 'both', 12, 40, 2)`);
    old.exec(
      `INSERT INTO clients (id, name, role, wrapped_key, created_at_ms) VALUES (1, 'a', 'receiver', x'00', 1)`,
    );
    old.exec(`INSERT INTO entitlements (kind, client_id, programme_id, from_segment, to_segment, created_at_ms)
      VALUES ('per_segment', 1, 7, 0, 9, 3)`);
    expect(() =>
      old.exec(`INSERT INTO programmes (service_id, name, multicast_group, port, key_port, profile, mki_length_bytes,
        segment_length_ms, crypto_period_ms, pricing, created_at_ms)
        VALUES (1, 's', '239.255.0.8', 5004, 5006, 'AES_CM_128_HMAC_SHA1_80', 4, 60000, 10000, 'session', 2)`),
    ).toThrow(/CHECK/);
    old.close();

    const store = openSqliteStore(path);
    const p = await store.transact((tx) => tx.programmes.get(asProgrammeId(7)));
    expect(p).toMatchObject({ id: 7, name: 'eve', pricing: 'both', keyPort: 5006 });
    // The counters came along: the next key id is 12.
    expect(await store.transact((tx) => tx.programmes.allocateKeyId(asProgrammeId(7)))).toBe(12);
    await store.close();

    const db = new Database(path);
    expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_MIGRATIONS.length);
    db.pragma('foreign_keys = ON');
    expect(db.pragma('foreign_key_check')).toEqual([]);
    expect(db.prepare('SELECT programme_id FROM entitlements').pluck().all()).toEqual([7]);
    db.exec(`INSERT INTO programmes (service_id, name, multicast_group, port, key_port, profile, mki_length_bytes,
      segment_length_ms, crypto_period_ms, pricing, created_at_ms)
      VALUES (1, 's', '239.255.0.8', 5004, 5006, 'AES_CM_128_HMAC_SHA1_80', 4, 60000, 10000, 'session', 2)`);
    expect(() =>
      db.exec(
        `INSERT INTO entitlements (kind, client_id, programme_id, created_at_ms) VALUES ('per_segment', 1, 999, 3)`,
      ),
    ).toThrow(/FOREIGN KEY/);
    db.close();
  });
});

describe('opening a file that is not a keycast database', () => {
  it('names the file in the error', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'keycast-notdb-')), 'keycast.db');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path, 'garbage, not SQLite\n'.repeat(100));
    expect(() => openSqliteStore(path)).toThrow(`${path}: file is not a database`);
  });
});
