// Log before deliver, tested for real: a SQLite trigger added here makes every log INSERT fail. The answer must
// then carry no key, and nothing of the request may be left in the store.
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { asSegmentIndex } from '../../src/ids.js';
import { grantSubscription } from '../../src/store/index.js';
import { contentKeyRequest, inject, logRecords, segmentRequest, setup, type Fixture } from './fixture.js';

let f: Fixture;
beforeEach(async () => {
  f = await setup();
  await grantSubscription(f.store, {
    clientId: f.receiver.clientId,
    serviceId: f.service.id,
    period: '2026-12',
  });
});
afterEach(async () => {
  await f.close();
});

function breakTheLog(): void {
  const raw = new Database(f.dbPath);
  raw.exec("CREATE TRIGGER log_fails BEFORE INSERT ON log BEGIN SELECT RAISE(ABORT, 'disk on fire'); END");
  raw.close();
}

function repairTheLog(): void {
  const raw = new Database(f.dbPath);
  raw.exec('DROP TRIGGER log_fails');
  raw.close();
}

describe('log before deliver', () => {
  it('a segment key is not delivered when its log record cannot be written', async () => {
    const before = await logRecords(f);
    breakTheLog();
    const res = await inject(f, f.receiver, segmentRequest(f.programme.id, 0, 'r1'));
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ error: { code: 'log_unavailable', message: expect.any(String) } });
    expect(res.body).not.toMatch(/wrappedKey|keyMessage/);
    repairTheLog();
    expect(await logRecords(f)).toEqual(before);
    // Rolled back with the log: the PSK generated for the answer, and the request's nonce.
    expect(
      await f.store.transact((tx) => tx.segmentKeys.get(f.programme.id, asSegmentIndex(0), 0)),
    ).toBeUndefined();
    // Once the log works again, a retry (fresh nonce, same requestId) is delivered and logged once.
    const retry = await inject(f, f.receiver, segmentRequest(f.programme.id, 0, 'r1'));
    expect(retry.statusCode).toBe(200);
    expect((await logRecords(f)).filter((r) => r.event === 'segment_key')).toHaveLength(1);
  });

  it('a content key is not issued, and its key id not used up, when the log fails', async () => {
    breakTheLog();
    const res = await inject(f, f.sender, contentKeyRequest(f, 0));
    expect(res.statusCode).toBe(503);
    expect(res.body).not.toMatch(/wrappedContentKey|keyMessage/);
    repairTheLog();
    expect(await f.store.transact((tx) => tx.contentKeys.list(f.programme.id))).toEqual([]);
    const ok = await inject(f, f.sender, contentKeyRequest(f, 0));
    expect(ok.json()).toMatchObject({ keyId: 1 });
  });

  it('a refusal that cannot be logged is a 503 too, not the refusal', async () => {
    breakTheLog();
    const res = await inject(f, f.receiver, segmentRequest(99, 0));
    expect(res.json()).toMatchObject({ error: { code: 'log_unavailable' } });
    repairTheLog();
  });
});
