// The programme's key change mode (claims 25-29, docs/key-phase.md): migration 4, the admin checks, the CLI flag and
// the programme info the key server gives clients.
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { asProgrammeId, asServiceId } from '../../src/ids.js';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import { createProgramme, createService, type Store } from '../../src/store/index.js';
import { orThrow } from '../../src/server/client.js';
import { startSystem } from '../helpers/system.js';

const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

async function freshStore(): Promise<Store> {
  const store = openSqliteStore(join(await mkdtemp(join(tmpdir(), 'keycast-keychange-')), 'keycast.db'));
  stores.push(store);
  await createService(store, { name: 'news' });
  return store;
}

const base = { serviceId: asServiceId(1), name: 'eve', group: '239.255.0.1', port: 5004 };

describe('SQLite migration 4 (key_change)', () => {
  it('gives existing programmes the MKI and refuses any mode but mki and phase', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'keycast-migrate4-')), 'keycast.db');
    const old = new Database(path);
    for (const [i, sql] of SQLITE_MIGRATIONS.slice(0, 3).entries()) {
      old.exec(sql);
      old.pragma(`user_version = ${i + 1}`);
    }
    old.exec(`INSERT INTO services (id, name, created_at_ms) VALUES (1, 'news', 1)`);
    old.exec(`INSERT INTO programmes (id, service_id, name, multicast_group, port, key_port, profile, mki_length_bytes,
      segment_length_ms, crypto_period_ms, pricing, created_at_ms)
      VALUES (7, 1, 'eve', '239.255.0.9', 5004, 5006, 'AES_CM_128_HMAC_SHA1_80', 4, 60000, 10000, 'both', 2)`);
    old.close();

    const store = openSqliteStore(path);
    stores.push(store);
    expect(await store.transact((tx) => tx.programmes.get(asProgrammeId(7)))).toMatchObject({
      keyChange: 'mki',
      mkiLengthBytes: 4,
    });
    const db = new Database(path);
    expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_MIGRATIONS.length);
    expect(() => db.exec(`UPDATE programmes SET key_change = 'lsb' WHERE id = 7`)).toThrow(/CHECK/);
    db.close();
  });
});

describe('createProgramme keyChange', () => {
  it('defaults to mki with a 4-byte MKI; phase defaults to MKI length 0 and is stored', async () => {
    const store = await freshStore();
    expect(await createProgramme(store, base)).toMatchObject({ keyChange: 'mki', mkiLengthBytes: 4 });
    const p = await createProgramme(store, { ...base, port: 5008, keyChange: 'phase' });
    expect(p).toMatchObject({ keyChange: 'phase', mkiLengthBytes: 0 });
    expect(await store.transact((tx) => tx.programmes.get(p.id))).toMatchObject({ keyChange: 'phase' });
  });

  it('refuses phase with an MKI, and an unknown mode', async () => {
    const store = await freshStore();
    await expect(createProgramme(store, { ...base, keyChange: 'phase', mkiLengthBytes: 4 })).rejects.toThrow(
      "key change 'phase' carries the key phase in the RTP padding bit and takes MKI length 0, got 4",
    );
    await expect(createProgramme(store, { ...base, keyChange: 'lsb' })).rejects.toThrow(
      'key change must be one of mki, phase, got lsb',
    );
    // Two verification tries per packet halve a 32-bit tag's margin: phase takes an 80-bit or AEAD tag.
    await expect(
      createProgramme(store, { ...base, keyChange: 'phase', profile: 'AES_CM_128_HMAC_SHA1_32' }),
    ).rejects.toThrow(/a 32-bit tag cannot afford/);
  });
});

describe('programme info over HTTP', () => {
  it('tells clients the key change mode', async () => {
    const system = await startSystem({ keyChange: 'phase' });
    try {
      expect(system.programme).toMatchObject({ keyChange: 'phase', mkiLengthBytes: 0 });
      const c = await system.enrol('bob', 'receiver');
      expect(orThrow(await c.client.getProgramme(system.programme.id)).programme.keyChange).toBe('phase');
    } finally {
      await system.close();
    }
  });
});

describe('keycast programme create --key-change', () => {
  const BIN = join(import.meta.dirname, '../../bin/keycast.js');
  const run = promisify(execFile);
  async function keycast(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
    try {
      return { ...(await run(process.execPath, [BIN, ...args])), code: 0 };
    } catch (err) {
      const e = err as { stdout: string; stderr: string; code: number };
      return { stdout: e.stdout, stderr: e.stderr, code: e.code };
    }
  }

  it('creates a phase programme, and refuses an unknown mode', async () => {
    const d = ['--data', join(await mkdtemp(join(tmpdir(), 'keycast-cli-phase-')), 'data')];
    expect((await keycast('init', ...d)).code).toBe(0);
    expect((await keycast('service', 'create', '--name', 'news', ...d)).code).toBe(0);
    const create = ['programme', 'create', '--service', '1', '--name', 'eve', '--group', '239.255.0.1'];
    const ok = await keycast(...create, '--port', '5004', '--key-change', 'phase', ...d);
    expect(JSON.parse(ok.stdout.trim())).toMatchObject({ keyChange: 'phase', mkiLengthBytes: 0 });
    const bad = await keycast(...create, '--port', '5008', '--key-change', 'lsb', ...d);
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringContaining("'lsb' is invalid")]);
    // Standard receivers cannot follow a phase: no single-key phase programme, and no SDP for one.
    const single = await keycast(...create, '--port', '5008', '--key-change', 'phase', '--single-key', ...d);
    expect([single.code, single.stderr]).toEqual([
      1,
      expect.stringContaining('leave out --key-change phase'),
    ]);
    const sdp = await keycast('sdp', '--programme', '1', ...d);
    expect([sdp.code, sdp.stderr]).toEqual([
      1,
      expect.stringContaining('standard SRTP receivers cannot follow'),
    ]);
  });
});
