// Deliveries: segment keys on either basis, content keys with their signed key message, idempotent retries, and the
// whole hierarchy end to end (the CK in the sender's key message opens with the PSK a receiver was given).
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { asSegmentIndex } from '../../src/ids.js';
import { unwrapContentKeyFromMessage, unwrapContentKeyForClient } from '../../src/keys/content-key.js';
import { verifyKeyMessage } from '../../src/keys/key-message-sign.js';
import { unwrapSegmentKeyForClient } from '../../src/keys/segment-key.js';
import type { ContentKeyResponseBody, SegmentKeyResponseBody } from '../../src/server/wire.js';
import { enrolClient, exportContentKeys, grantSegments, grantSubscription } from '../../src/store/index.js';
import { rateLog } from '../../src/billing/rate.js';
import {
  contentKeyRequest,
  expectChainOk,
  inject,
  requestLog,
  segmentRequest,
  setup,
  signedHeaders,
  T0,
  type Fixture,
} from './fixture.js';

let f: Fixture;
beforeEach(async () => {
  f = await setup();
});
afterEach(async () => {
  await f.close();
});

const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

describe('segment keys', () => {
  it('delivers to a subscriber: wrapped for that client only, logged with basis subscription before the answer', async () => {
    await grantSubscription(f.store, {
      clientId: f.receiver.clientId,
      serviceId: f.service.id,
      period: '2026-12',
    });
    const res = await inject(f, f.receiver, segmentRequest(f.programme.id, 0, 'r-1'));
    expect(res.statusCode).toBe(200);
    const body = res.json<SegmentKeyResponseBody>();
    expect(body).toMatchObject({ requestId: 'r-1', programmeId: 1, segment: 0, epoch: 0 });
    const ctx = { clientId: f.receiver.clientId, programmeId: 1, segment: 0, epoch: 0 };
    const psk = unwrapSegmentKeyForClient(f.receiver.clientKey, b64(body.wrappedKey), ctx);
    expect(psk.ok && psk.key.length).toBe(32);
    expect(unwrapSegmentKeyForClient(f.sender.clientKey, b64(body.wrappedKey), ctx).ok).toBe(false);
    const [rec] = await requestLog(f);
    expect(rec).toMatchObject({
      event: 'segment_key',
      outcome: 'delivered',
      clientId: f.receiver.clientId,
      authenticated: true,
      serviceId: f.service.id,
      programmeId: 1,
      segment: 0,
      basis: 'subscription',
      period: '2026-12',
      requestId: 'r-1',
    });
    // The log keeps the answer as delivered; HTTP adds how it went out.
    expect({ ...JSON.parse(rec!.response!), delivery: 'unicast' }).toEqual(body);
    await expectChainOk(f);
  });

  it('delivers per segment within the granted range, and the same PSK to every client of that segment', async () => {
    await grantSegments(f.store, {
      clientId: f.receiver.clientId,
      programmeId: f.programme.id,
      toSegment: asSegmentIndex(0),
    });
    const bob = (await enrolClient(f.store, f.secrets, { name: 'bob', nowMs: T0 })).credentials;
    await grantSubscription(f.store, {
      clientId: bob.clientId,
      serviceId: f.service.id,
      period: '2026-12',
    });
    const a = (await inject(f, f.receiver, segmentRequest(1, 0))).json<SegmentKeyResponseBody>();
    const b = (await inject(f, bob, segmentRequest(1, 0))).json<SegmentKeyResponseBody>();
    const pa = unwrapSegmentKeyForClient(f.receiver.clientKey, b64(a.wrappedKey), {
      clientId: f.receiver.clientId,
      programmeId: 1,
      segment: 0,
      epoch: 0,
    });
    const pb = unwrapSegmentKeyForClient(bob.clientKey, b64(b.wrappedKey), {
      clientId: bob.clientId,
      programmeId: 1,
      segment: 0,
      epoch: 0,
    });
    expect(pa.ok && pb.ok && Buffer.compare(pa.key, pb.key)).toBe(0);
    expect((await requestLog(f)).map((r) => r.basis)).toEqual(['per_segment', 'subscription']);
  });

  it('answers a retry (same requestId, fresh nonce) from the log: same answer, one record, billed once', async () => {
    await grantSegments(f.store, { clientId: f.receiver.clientId, programmeId: f.programme.id });
    const first = await inject(f, f.receiver, segmentRequest(1, 0, 'retry-me'));
    f.clock.now += 5_000;
    const again = await inject(f, f.receiver, segmentRequest(1, 0, 'retry-me'));
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json());
    const delivered = (await requestLog(f)).filter((r) => r.outcome === 'delivered');
    expect(delivered).toHaveLength(1);
    const invoice = rateLog(await f.store.transact((tx) => tx.log.range(1, 100)), {
      version: 1,
      currency: 'EUR',
      subscriptions: [],
      segments: [{ programmeId: 1, price: 25 }],
    });
    expect(invoice.lines).toEqual([
      { client: f.receiver.clientId, item: 'segments programme=1', quantity: 1, unitPrice: 25, amount: 25 },
    ]);
  });

  it('concurrent retries of one request still give one delivered record', async () => {
    await grantSegments(f.store, { clientId: f.receiver.clientId, programmeId: f.programme.id });
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => inject(f, f.receiver, segmentRequest(1, 0, 'burst'))),
    );
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(answers.map((a) => a.body)).size).toBe(1);
    expect((await requestLog(f)).filter((r) => r.outcome === 'delivered')).toHaveLength(1);
  });

  it('GET /v1/programmes/:id describes the programme; /v1/health needs no authentication', async () => {
    const res = await inject(f, f.receiver, { method: 'GET', url: '/v1/programmes/1' });
    // The newest segment the sender has a content key for (a restarted sender resumes after it).
    const LATEST = (await f.store.transact((tx) => tx.contentKeys.latestSegment(f.programme.id))) ?? null;
    expect(res.json()).toEqual({
      id: 1,
      serviceId: 1,
      name: 'evening',
      group: '239.255.0.1',
      port: 5004,
      keyPort: 5006,
      profile: 'AES_CM_128_HMAC_SHA1_80',
      keyChange: 'mki',
      mkiLengthBytes: 4,
      segmentLengthMs: 300000,
      cryptoPeriodMs: 10000,
      pricing: 'both',
      latestSegment: LATEST,
    });
    expect((await f.app.inject({ method: 'GET', url: '/v1/health' })).json()).toEqual({ status: 'ok' });
  });
});

describe('content keys', () => {
  it('issues keys 1, 2, 3 with a signed key message whose CK opens with the PSK a receiver gets', async () => {
    await grantSubscription(f.store, {
      clientId: f.receiver.clientId,
      serviceId: f.service.id,
      period: '2026-12',
    });
    const issued: ContentKeyResponseBody[] = [];
    for (const segment of [0, 0, 1]) {
      const res = await inject(
        f,
        f.sender,
        contentKeyRequest(f, segment, { requestId: `ck-${issued.length}` }),
      );
      expect(res.statusCode).toBe(200);
      issued.push(res.json<ContentKeyResponseBody>());
    }
    expect(issued.map((i) => i.keyId)).toEqual([1, 2, 3]);
    expect(issued[0]).toMatchObject({ profile: 'AES_CM_128_HMAC_SHA1_80', mkiLengthBytes: 4, segment: 0 });

    const last = issued[2]!;
    const ck = unwrapContentKeyForClient(
      f.sender.clientKey,
      b64(last.wrappedContentKey),
      last.profile,
      f.sender.clientId,
      1,
      3,
    );
    expect(ck.ok).toBe(true);
    const v = verifyKeyMessage(b64(last.keyMessage), f.secrets.signing.publicKey);
    expect(v.ok).toBe(true);
    if (!v.ok || !ck.ok) return;
    // Each content key takes two message numbers: its content_key message and the segment_key message.
    expect(v.msg).toMatchObject({ programmeId: 1, keyId: 3, ssrc: 0x1234, roc: 0, seq: 100, messageSeq: 5 });
    // The first key of segment 1 comes under PSK(1) and, for the rollover, under PSK(0) too (claim 12).
    expect(v.msg.entries.map((e) => [e.wrapKind, e.wrapKeyId, e.epoch])).toEqual([
      ['psk', 1, 0],
      ['psk', 0, 0],
    ]);

    const seg = (await inject(f, f.receiver, segmentRequest(1, 1))).json<SegmentKeyResponseBody>();
    const psk = unwrapSegmentKeyForClient(f.receiver.clientKey, b64(seg.wrappedKey), {
      clientId: f.receiver.clientId,
      programmeId: 1,
      segment: 1,
      epoch: 0,
    });
    expect(psk.ok).toBe(true);
    if (!psk.ok) return;
    expect(unwrapContentKeyFromMessage(v.msg, psk.key, 1, 0)).toEqual({ ok: true, key: ck.key });

    // The operator's export has the same clear keys.
    const ex = await exportContentKeys(f.store, f.secrets, f.programme.id);
    expect(ex.keys.map((k) => [k.keyId, k.mki, k.segment])).toEqual([
      [1, '00000001', 0],
      [2, '00000002', 0],
      [3, '00000003', 1],
    ]);
    expect(ex.keys[2]!.masterKey).toBe(Buffer.from(ck.key.masterKey).toString('hex'));
    expect(ex.keys[2]!.masterSalt).toBe(Buffer.from(ck.key.masterSalt).toString('hex'));

    const log = await requestLog(f);
    expect(log.filter((r) => r.event === 'content_key').map((r) => [r.keyId, r.segment, r.outcome])).toEqual([
      [1, 0, 'delivered'],
      [2, 0, 'delivered'],
      [3, 1, 'delivered'],
    ]);
    await expectChainOk(f);
  });

  it('a content-key retry with the same requestId returns the same key, not a new one', async () => {
    const a = await inject(f, f.sender, contentKeyRequest(f, 0, { requestId: 'same' }));
    const b = await inject(f, f.sender, contentKeyRequest(f, 0, { requestId: 'same' }));
    expect(b.json()).toEqual(a.json());
    expect(await f.store.transact((tx) => tx.contentKeys.list(f.programme.id))).toHaveLength(1);
  });

  it('stores no key in clear: the database file contains neither the PSK nor the CK', async () => {
    await grantSubscription(f.store, {
      clientId: f.receiver.clientId,
      serviceId: f.service.id,
      period: '2026-12',
    });
    const ckRes = (await inject(f, f.sender, contentKeyRequest(f, 0))).json<ContentKeyResponseBody>();
    const seg = (await inject(f, f.receiver, segmentRequest(1, 0))).json<SegmentKeyResponseBody>();
    const psk = unwrapSegmentKeyForClient(f.receiver.clientKey, b64(seg.wrappedKey), {
      clientId: f.receiver.clientId,
      programmeId: 1,
      segment: 0,
      epoch: 0,
    });
    const ck = unwrapContentKeyForClient(
      f.sender.clientKey,
      b64(ckRes.wrappedContentKey),
      ckRes.profile,
      f.sender.clientId,
      1,
      ckRes.keyId,
    );
    if (!psk.ok || !ck.ok) throw new Error('unwrap failed');
    const raw = new Database(f.dbPath, { readonly: true });
    const dump = JSON.stringify(
      ['log', 'segment_keys', 'content_keys', 'clients'].flatMap((t) =>
        raw.prepare(`SELECT * FROM ${t}`).all(),
      ),
      (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v),
    );
    raw.close();
    for (const secret of [psk.key, ck.key.masterKey, f.receiver.clientKey]) {
      expect(dump).not.toContain(Buffer.from(secret).toString('hex'));
      expect(dump).not.toContain(Buffer.from(secret).toString('base64'));
    }
  });

  it('the MAC covers the query string too', async () => {
    const r = { method: 'GET' as const, url: '/v1/programmes/1' };
    const headers = signedHeaders(f, f.receiver, r);
    const res = await f.app.inject({ method: 'GET', url: '/v1/programmes/1?x=1', headers });
    expect(res.json()).toMatchObject({ error: { code: 'bad_mac' } });
  });
});
