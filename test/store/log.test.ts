import Database from 'better-sqlite3';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { asClientId, asProgrammeId, asSegmentIndex } from '../../src/ids.js';
import {
  GENESIS_HASH,
  logRecordHash,
  openSqliteStore,
  verifyLog,
  type LogInput,
  type Store,
} from '../../src/store/index.js';

const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

async function fresh(): Promise<{ store: Store; path: string }> {
  const path = join(await mkdtemp(join(tmpdir(), 'keycast-log-')), 'keycast.db');
  const store = openSqliteStore(path);
  stores.push(store);
  return { store, path };
}

const rec = (i: number): LogInput => ({
  timeMs: 1_000 + i,
  requestId: `r${i}`,
  clientId: asClientId(1),
  authenticated: true,
  serviceId: null,
  programmeId: asProgrammeId(1),
  segment: asSegmentIndex(i),
  keyId: null,
  event: 'segment_key',
  outcome: 'delivered',
  code: null,
  basis: 'per_segment',
  period: null,
  detail: null,
  response: `{"i":${i}}`,
});

async function appendN(store: Store, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) await store.transact((tx) => tx.log.append(rec(i)));
}

describe('request log', () => {
  it('chains records: seq from 1, prevHash = previous hash, hash over prevHash and the canonical record', async () => {
    const { store } = await fresh();
    await appendN(store, 3);
    const all = await store.transact((tx) => tx.log.range(1, 10));
    expect(all.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(all[0]!.prevHash).toBe(GENESIS_HASH);
    expect(all[1]!.prevHash).toBe(all[0]!.hash);
    expect(all[2]!.hash).toBe(logRecordHash(all[1]!.hash, 3, rec(3)));
    expect(await verifyLog(store)).toEqual({ ok: true, records: 3, headSeq: 3, headHash: all[2]!.hash });
    expect(await verifyLog(store, 2)).toMatchObject({ ok: true, records: 3 }); // paging
  });

  it('refuses UPDATE and DELETE (triggers)', async () => {
    const { store, path } = await fresh();
    await appendN(store, 2);
    const raw = new Database(path);
    expect(() => raw.prepare("UPDATE log SET outcome = 'denied' WHERE seq = 1").run()).toThrow(/append-only/);
    expect(() => raw.prepare('DELETE FROM log WHERE seq = 2').run()).toThrow(/append-only/);
    raw.close();
  });

  it('detects a record edited through a second connection after the trigger was dropped', async () => {
    const { store, path } = await fresh();
    await appendN(store, 4);
    const raw = new Database(path);
    raw.exec('DROP TRIGGER log_no_update');
    raw.prepare("UPDATE log SET outcome = 'denied', code = 'not_entitled' WHERE seq = 2").run();
    raw.close();
    expect(await verifyLog(store)).toMatchObject({ ok: false, seq: 2, reason: 'hash_mismatch', records: 1 });
  });

  it('detects a deleted record and a re-hashed edit (the next record no longer follows)', async () => {
    const a = await fresh();
    await appendN(a.store, 4);
    let raw = new Database(a.path);
    raw.exec('DROP TRIGGER log_no_delete');
    raw.prepare('DELETE FROM log WHERE seq = 3').run();
    raw.close();
    expect(await verifyLog(a.store)).toMatchObject({ ok: false, seq: 4, reason: 'seq_gap' });

    const b = await fresh();
    await appendN(b.store, 4);
    raw = new Database(b.path);
    raw.exec('DROP TRIGGER log_no_update');
    const edited = { ...rec(2), outcome: 'denied' as const };
    const prev = (raw.prepare('SELECT hash FROM log WHERE seq = 1').pluck().get() as string) ?? '';
    raw
      .prepare("UPDATE log SET outcome = 'denied', hash = ? WHERE seq = 2")
      .run(logRecordHash(prev, 2, edited));
    raw.close();
    expect(await verifyLog(b.store)).toMatchObject({ ok: false, seq: 3, reason: 'prev_hash_mismatch' });
  });

  it('a checkpoint kept elsewhere catches records cut off the end, which the chain alone cannot', async () => {
    const a = await fresh();
    await appendN(a.store, 5);
    const head = await verifyLog(a.store);
    if (!head.ok) throw new Error('fresh log does not verify');
    const checkpoint = { seq: head.headSeq, hash: head.headHash };
    expect(await verifyLog(a.store, 1000, checkpoint)).toMatchObject({ ok: true, records: 5 });
    const raw = new Database(a.path);
    raw.exec('DROP TRIGGER log_no_delete');
    raw.prepare('DELETE FROM log WHERE seq >= 4').run();
    raw.close();
    expect(await verifyLog(a.store)).toMatchObject({ ok: true, records: 3 }); // the chain alone: fine
    expect(await verifyLog(a.store, 1000, checkpoint)).toMatchObject({
      ok: false,
      seq: 4,
      reason: 'truncated',
    });
    expect(await verifyLog(a.store, 1000, { seq: 2, hash: '0'.repeat(64) })).toMatchObject({
      ok: false,
      seq: 2,
      reason: 'checkpoint_mismatch',
    });
  });

  it('one delivered answer per (client, request id)', async () => {
    const { store } = await fresh();
    await appendN(store, 1);
    await expect(
      store.transact((tx) => tx.log.append({ ...rec(1), segment: asSegmentIndex(9) })),
    ).rejects.toThrow(/UNIQUE/);
    // A denial with the same request id is fine, and so is another client's.
    await store.transact((tx) => tx.log.append({ ...rec(1), outcome: 'denied', code: 'not_entitled' }));
    await store.transact((tx) => tx.log.append({ ...rec(1), clientId: asClientId(2) }));
    expect((await store.transact((tx) => tx.log.findDelivered(asClientId(1), 'r1')))?.seq).toBe(1);
    expect(await verifyLog(store)).toMatchObject({ ok: true, records: 3 });
  });
});

describe('transactions', () => {
  it('roll back everything when the callback throws, and run after-commit hooks only on commit', async () => {
    const { store } = await fresh();
    const ran: string[] = [];
    await expect(
      store.transact(async (tx) => {
        tx.afterCommit(() => ran.push('a'));
        await tx.log.append(rec(1));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await store.transact((tx) => tx.log.head())).toBeUndefined();
    await store.transact(async (tx) => {
      tx.afterCommit(() => ran.push('b'));
      await tx.log.append(rec(1));
    });
    expect(ran).toEqual(['b']);
  });

  it('serialises concurrent transactions on the one connection', async () => {
    const { store } = await fresh();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.transact(async (tx) => {
          await tx.log.append(rec(i + 1));
          await new Promise((r) => setImmediate(r));
          await tx.log.append({ ...rec(i + 1), requestId: `x${i}` });
        }),
      ),
    );
    expect(await verifyLog(store)).toMatchObject({ ok: true, records: 40 });
  });

  it('remembers nonces until they expire', async () => {
    const { store } = await fresh();
    const c = asClientId(1);
    expect(await store.transact((tx) => tx.nonces.remember(c, 'aa', 100))).toBe(true);
    expect(await store.transact((tx) => tx.nonces.remember(c, 'aa', 100))).toBe(false);
    expect(await store.transact((tx) => tx.nonces.remember(asClientId(2), 'aa', 100))).toBe(true);
    expect(await store.transact((tx) => tx.nonces.prune(101))).toBe(2);
    expect(await store.transact((tx) => tx.nonces.remember(c, 'aa', 200))).toBe(true);
  });
});
