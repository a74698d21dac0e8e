import { chmod, mkdtemp, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { asClientId, asProgrammeId, asSegmentIndex, asServiceId } from '../../src/ids.js';
import {
  AdminError,
  createProgramme,
  createService,
  enrolClient,
  exportContentKeys,
  grantSegments,
  grantSubscription,
  initDataDir,
  loadServerSecrets,
  mkiHex,
  openClientKey,
  openDataDirStore,
  periodOf,
  verifyLog,
  type Store,
} from '../../src/store/index.js';

const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

async function dataDir() {
  const dir = join(await mkdtemp(join(tmpdir(), 'keycast-admin-')), 'data');
  const { publicKey } = await initDataDir(dir);
  const store = openDataDirStore(dir);
  stores.push(store);
  return { dir, publicKey, store, secrets: loadServerSecrets(dir) };
}

describe('data directory', () => {
  it('holds the database, master key and signing key pair, files 0600, directory 0700', async () => {
    const { dir, publicKey, secrets } = await dataDir();
    expect((await readdir(dir)).sort()).toEqual(
      expect.arrayContaining(['keycast.db', 'master.key', 'server-signing.key', 'server-signing.pub']),
    );
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    for (const f of ['keycast.db', 'master.key', 'server-signing.key', 'server-signing.pub']) {
      expect((await stat(join(dir, f))).mode & 0o777).toBe(0o600);
    }
    expect(secrets.signing.publicKey).toEqual(publicKey);
    expect(secrets.masterKey.length).toBe(32);
  });

  it('refuses to initialise twice and refuses key files others can read', async () => {
    const { dir } = await dataDir();
    await expect(initDataDir(dir)).rejects.toThrow(/already initialised/);
    await chmod(join(dir, 'master.key'), 0o644);
    expect(() => loadServerSecrets(dir)).toThrow(/readable by others/);
    expect(() => openDataDirStore(join(dir, 'nope'))).toThrow(/keycast init/);
  });
});

describe('operator operations', () => {
  it('enrols a client with a UK stored under the master key, and logs the enrolment', async () => {
    const { store, secrets } = await dataDir();
    const { client, credentials } = await enrolClient(store, secrets, { name: 'alice', nowMs: 5 });
    expect(client.id).toBe(1);
    expect(credentials).toMatchObject({
      version: 1,
      clientId: 1,
      role: 'receiver',
      serverUrl: 'http://127.0.0.1:8443',
    });
    expect(credentials.serverPublicKey).toEqual(secrets.signing.publicKey);
    const row = await store.transact((tx) => tx.clients.get(asClientId(1)));
    expect(openClientKey(secrets.masterKey, 1, row!.wrappedKey)).toEqual(credentials.clientKey);
    const second = await enrolClient(store, secrets, { name: 'tx', role: 'sender' });
    expect(second.client).toMatchObject({ id: 2, role: 'sender' });
    const log = await store.transact((tx) => tx.log.range(1, 10));
    expect(log.map((r) => [r.event, r.clientId])).toEqual([
      ['enrol', 1],
      ['enrol', 2],
    ]);
    expect(JSON.stringify(log)).not.toContain(Buffer.from(credentials.clientKey).toString('base64'));
  });

  it('rolls an enrolment back when its credentials cannot be saved', async () => {
    const { store, secrets } = await dataDir();
    const saved: number[] = [];
    await expect(
      enrolClient(store, secrets, {
        name: 'alice',
        saveCredentials: (c) => {
          saved.push(c.clientId);
          return Promise.reject(new Error('disk full'));
        },
      }),
    ).rejects.toThrow('disk full');
    expect(saved).toEqual([1]);
    expect(await store.transact((tx) => tx.clients.list())).toEqual([]);
    expect(await store.transact((tx) => tx.log.range(1, 10))).toEqual([]);
    const ok = await enrolClient(store, secrets, {
      name: 'bob',
      saveCredentials: (c) => {
        saved.push(c.clientId);
        return Promise.resolve();
      },
    });
    expect([ok.client.id, saved]).toEqual([1, [1, 1]]);
    expect((await store.transact((tx) => tx.log.range(1, 10))).map((r) => r.event)).toEqual(['enrol']);
  });

  it('refuses a programme whose group and port (media, SRTCP or key) another programme uses', async () => {
    const { store } = await dataDir();
    const svc = await createService(store, { name: 'news' });
    const base = { serviceId: svc.id, name: 'x', group: '239.255.0.1', port: 5004 }; // keys on 5006
    const first = await createProgramme(store, base);
    await expect(createProgramme(store, base)).rejects.toThrow(
      '239.255.0.1 port 5004 is already used by programme 1 (x: media 5004, SRTCP 5005, keys 5006)',
    );
    await expect(createProgramme(store, { ...base, port: 5006, keyPort: 5008 })).rejects.toThrow(/port 5006/);
    await expect(createProgramme(store, { ...base, port: 5002 })).rejects.toThrow(/port 5004/); // its key port
    await expect(createProgramme(store, { ...base, port: 5010, keyPort: 5004 })).rejects.toThrow(/port 5004/);
    // SRTCP takes media port + 1: neither side's may clash, and a programme's key port is never its own.
    await expect(createProgramme(store, { ...base, port: 5000, keyPort: 5005 })).rejects.toThrow(/port 5005/);
    await expect(createProgramme(store, { ...base, port: 5003, keyPort: 5000 })).rejects.toThrow(/port 5004/);
    await expect(createProgramme(store, { ...base, port: 65534 })).rejects.toThrow(
      'port 65534 leaves no room for keys on port + 2: choose a lower port or give a key port',
    );
    await expect(createProgramme(store, { ...base, port: 65535, keyPort: 6000 })).rejects.toThrow(
      'port must leave room for SRTCP on port + 1 (RFC 3550 §11), got 65535',
    );
    await expect(createProgramme(store, { ...base, port: 6000, keyPort: 6001 })).rejects.toThrow(
      'key port 6001 is the SRTCP port (media port + 1); choose another',
    );
    // Other ports on the group, or the same ports on another group, are fine.
    expect((await createProgramme(store, { ...base, port: 5008 })).id).toBe(2);
    expect((await createProgramme(store, { ...base, group: '239.255.0.2' })).id).toBe(3);
    // One group in two spellings is one group.
    await createProgramme(store, { ...base, group: 'ff15::1' });
    await expect(createProgramme(store, { ...base, group: 'FF15:0:0::1' })).rejects.toThrow(/programme 4/);
    const shared = await createProgramme(store, { ...base, allowSharedGroup: true });
    expect([shared.group, shared.port, shared.keyPort]).toEqual([first.group, first.port, first.keyPort]);
  });

  it('grants nothing to a sender (it gets content keys by its role; a grant would only be billed)', async () => {
    const { store, secrets } = await dataDir();
    const svc = await createService(store, { name: 'news' });
    const p = await createProgramme(store, {
      serviceId: svc.id,
      name: 'e',
      group: '239.255.0.1',
      port: 5004,
    });
    const { client } = await enrolClient(store, secrets, { name: 'tx', role: 'sender' });
    await expect(
      grantSubscription(store, { clientId: client.id, serviceId: svc.id, period: '2026-12' }),
    ).rejects.toThrow('client 1 (tx) is a sender; entitlements are granted to receivers only');
    await expect(grantSegments(store, { clientId: client.id, programmeId: p.id })).rejects.toThrow(
      AdminError,
    );
    expect(await store.transact((tx) => tx.entitlements.listForClient(client.id))).toEqual([]);
    expect((await store.transact((tx) => tx.log.range(1, 10))).map((r) => r.event)).toEqual(['enrol']);
  });

  it('creates programmes with the documented defaults and validates input', async () => {
    const { store } = await dataDir();
    const svc = await createService(store, { name: 'news' });
    const p = await createProgramme(store, {
      serviceId: svc.id,
      name: 'evening',
      group: '239.255.0.1',
      port: 5004,
    });
    expect(p).toMatchObject({
      id: 1,
      keyPort: 5006,
      profile: 'AES_CM_128_HMAC_SHA1_80',
      mkiLengthBytes: 4,
      segmentLengthMs: 300_000,
      cryptoPeriodMs: 10_000,
      pricing: 'both',
    });
    const base = { serviceId: svc.id, name: 'x', group: '239.255.0.1', port: 5004 };
    await expect(createProgramme(store, { ...base, group: '10.0.0.1' })).rejects.toThrow(AdminError);
    await expect(createProgramme(store, { ...base, serviceId: asServiceId(9) })).rejects.toThrow(/service 9/);
    await expect(createProgramme(store, { ...base, profile: 'NULL' })).rejects.toThrow(/profile/);
    await expect(createProgramme(store, { ...base, segmentLengthMs: 15_000 })).rejects.toThrow(
      /whole number/,
    );
    await expect(createProgramme(store, { ...base, keyPort: 5004 })).rejects.toThrow(/differ/);
  });

  it('grants subscriptions and segments, logging each as a grant', async () => {
    const { store, secrets } = await dataDir();
    const svc = await createService(store, { name: 'news' });
    const p = await createProgramme(store, {
      serviceId: svc.id,
      name: 'e',
      group: '239.255.0.1',
      port: 5004,
    });
    const { client } = await enrolClient(store, secrets, { name: 'a' });
    await grantSubscription(store, { clientId: client.id, serviceId: svc.id, period: '2026-12' });
    await grantSegments(store, {
      clientId: client.id,
      programmeId: p.id,
      fromSegment: asSegmentIndex(2),
      toSegment: asSegmentIndex(4),
    });
    await expect(
      grantSubscription(store, { clientId: client.id, serviceId: svc.id, period: '2026-13' }),
    ).rejects.toThrow(/YYYY-MM/);
    await expect(grantSegments(store, { clientId: asClientId(99), programmeId: p.id })).rejects.toThrow(
      /client 99/,
    );
    await expect(
      grantSegments(store, {
        clientId: client.id,
        programmeId: p.id,
        fromSegment: asSegmentIndex(5),
        toSegment: asSegmentIndex(4),
      }),
    ).rejects.toThrow(/empty/);
    const has = (s: number) =>
      store.transact((tx) => tx.entitlements.hasSegment(client.id, p.id, asSegmentIndex(s)));
    expect([await has(1), await has(2), await has(4), await has(5)]).toEqual([false, true, true, false]);
    expect(await store.transact((tx) => tx.entitlements.hasSubscription(client.id, svc.id, '2026-12'))).toBe(
      true,
    );
    const log = await store.transact((tx) => tx.log.range(1, 10));
    expect(log.slice(1).map((r) => [r.event, r.basis, r.period, r.detail])).toEqual([
      ['grant', 'subscription', '2026-12', null],
      ['grant', 'per_segment', null, '{"fromSegment":2,"toSegment":4}'],
    ]);
    expect(await verifyLog(store)).toMatchObject({ ok: true, records: 3 });
  });

  it('allocates key ids per programme from 1, never reused', async () => {
    const { store } = await dataDir();
    const svc = await createService(store, { name: 'n' });
    const a = await createProgramme(store, {
      serviceId: svc.id,
      name: 'a',
      group: '239.255.0.1',
      port: 5004,
    });
    const b = await createProgramme(store, {
      serviceId: svc.id,
      name: 'b',
      group: '239.255.0.2',
      port: 5004,
    });
    const ids = await store.transact(async (tx) => [
      await tx.programmes.allocateKeyId(a.id),
      await tx.programmes.allocateKeyId(a.id),
      await tx.programmes.allocateKeyId(b.id),
    ]);
    expect(ids).toEqual([1, 2, 1]);
    // A committed allocation is never handed out again, even if no content key row was written for it.
    await store.transact(async (tx) => {
      await tx.programmes.allocateKeyId(a.id);
    });
    expect(await store.transact((tx) => tx.programmes.allocateKeyId(a.id))).toBe(4);
    await expect(store.transact((tx) => tx.programmes.allocateKeyId(asProgrammeId(77)))).rejects.toThrow(
      /77/,
    );
  });

  it('exports content keys (none yet) and logs the export', async () => {
    const { store, secrets } = await dataDir();
    const svc = await createService(store, { name: 'n' });
    const p = await createProgramme(store, {
      serviceId: svc.id,
      name: 'a',
      group: '239.255.0.1',
      port: 5004,
    });
    const ex = await exportContentKeys(store, secrets, p.id, 42);
    expect(ex).toEqual({
      version: 1,
      programmeId: 1,
      profile: 'AES_CM_128_HMAC_SHA1_80',
      mkiLengthBytes: 4,
      exportedAtMs: 42,
      keys: [],
    });
    const log = await store.transact((tx) => tx.log.range(1, 10));
    expect(log.map((r) => r.event)).toEqual(['keys_export']);
  });

  it('formats MKIs and periods', () => {
    expect(mkiHex(0x01020304, 4)).toBe('01020304');
    expect(mkiHex(0x01020304, 2)).toBe('0304');
    expect(mkiHex(7, 0)).toBe('');
    expect(periodOf(Date.UTC(2026, 11, 31, 23, 59))).toBe('2026-12');
  });
});
