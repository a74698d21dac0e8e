// Subscriptions and service keys over real HTTP on 127.0.0.1 with a real SQLite store (claims 10 and 11): a purchase
// delivers the period's service key wrapped under the buyer's client key, is logged once and billed once, and a
// retry is answered from the log.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rateLog } from '../../src/billing/rate.js';
import { nextPeriod, periodOf, unwrapServiceKeyForClient } from '../../src/keys/service-key.js';
import { KeyServerClient, openWrappedServiceKey, orThrow } from '../../src/server/client.js';
import { enrolClient, grantSubscription } from '../../src/store/index.js';
import { logRecords, requestLog, setup, expectChainOk, type Fixture } from './fixture.js';

let f: Fixture;
let url: string;
let period: string;
beforeEach(async () => {
  f = await setup();
  url = await f.app.listen({ host: '127.0.0.1', port: 0 });
  f.clock.now = Date.now(); // the client signs with the real clock
  period = periodOf(f.clock.now);
});
afterEach(async () => {
  await f.close();
});

const plan = {
  version: 1 as const,
  currency: 'EUR',
  subscriptions: [{ serviceId: 1, periodPrice: 1500 }],
  segments: [],
};

describe('subscriptions', () => {
  it('claim 10: buying a subscription delivers the service key, logged as one purchase and billed once; a retry is answered from the log', async () => {
    const alice = new KeyServerClient(f.receiver, { serverUrl: url });
    const bought = orThrow(await alice.purchaseSubscription(f.service.id, period, 'buy-1'));
    expect(bought).toMatchObject({ requestId: 'buy-1', serviceId: f.service.id, period });
    expect(bought.serviceKey.length).toBe(32);

    // The same request again (a retry): the same answer, no new record.
    const retry = orThrow(await alice.purchaseSubscription(f.service.id, period, 'buy-1'));
    expect(retry.wrappedKey).toBe(bought.wrappedKey);
    expect(retry.serviceKey).toEqual(bought.serviceKey);

    const purchases = (await requestLog(f)).filter((r) => r.event === 'purchase');
    expect(purchases).toHaveLength(1);
    expect(purchases[0]).toMatchObject({
      clientId: f.receiver.clientId,
      authenticated: true,
      serviceId: f.service.id,
      outcome: 'delivered',
      basis: 'subscription',
      period,
      requestId: 'buy-1',
    });
    // The stored answer holds the wrapped key only.
    expect(JSON.parse(purchases[0]!.response!)).toEqual({
      requestId: 'buy-1',
      serviceId: f.service.id,
      period,
      wrappedKey: bought.wrappedKey,
    });

    // The purchase entitles: the subscriber may fetch the same SK again.
    const fetched = orThrow(await alice.requestServiceKey(f.service.id, period));
    expect(fetched.serviceKey).toEqual(bought.serviceKey);
    const subs = await f.store.transact((tx) => tx.entitlements.listForClient(f.receiver.clientId));
    expect(subs).toHaveLength(1);

    // Buying the same period again (a new request id) is logged but still one period on the bill.
    orThrow(await alice.purchaseSubscription(f.service.id, period, 'buy-2'));
    const invoice = rateLog(await logRecords(f), plan);
    expect(invoice.lines).toEqual([
      {
        client: f.receiver.clientId,
        item: `subscription service=${f.service.id} period=${period}`,
        quantity: 1,
        unitPrice: 1500,
        amount: 1500,
      },
    ]);
    await expectChainOk(f);
  });

  it('claim 11: the service key is wrapped under the client key: another client’s key cannot unwrap it', async () => {
    const bob = (await enrolClient(f.store, f.secrets, { name: 'bob' })).credentials;
    const alice = new KeyServerClient(f.receiver, { serverUrl: url });
    const a = orThrow(await alice.purchaseSubscription(f.service.id, period));
    const b = orThrow(
      await new KeyServerClient(bob, { serverUrl: url }).purchaseSubscription(f.service.id, period),
    );
    // One SK per (service, period), each copy under its own client key.
    expect(b.serviceKey).toEqual(a.serviceKey);
    expect(b.wrappedKey).not.toBe(a.wrappedKey);
    const w = new Uint8Array(Buffer.from(a.wrappedKey, 'base64'));
    const ctx = { clientId: f.receiver.clientId, serviceId: f.service.id, period };
    expect(unwrapServiceKeyForClient(f.receiver.clientKey, w, ctx)).toEqual({ ok: true, key: a.serviceKey });
    expect(unwrapServiceKeyForClient(bob.clientKey, w, ctx)).toEqual({ ok: false, reason: 'auth_fail' });
    expect(unwrapServiceKeyForClient(bob.clientKey, w, { ...ctx, clientId: bob.clientId }).ok).toBe(false);
    expect(openWrappedServiceKey(bob, { serviceId: f.service.id, period, wrappedKey: a.wrappedKey }).ok).toBe(
      false,
    );
    // Bound to its period and service too.
    expect(
      unwrapServiceKeyForClient(f.receiver.clientKey, w, { ...ctx, period: nextPeriod(period) }).ok,
    ).toBe(false);
    expect(unwrapServiceKeyForClient(f.receiver.clientKey, w, { ...ctx, serviceId: 2 }).ok).toBe(false);
    // Never in clear in the log.
    const hex = Buffer.from(a.serviceKey).toString('base64');
    for (const r of await logRecords(f)) expect(r.response ?? '').not.toContain(hex);
  });

  it('hands out the next period’s key ahead of the change, to its subscribers only', async () => {
    const next = nextPeriod(period);
    const alice = new KeyServerClient(f.receiver, { serverUrl: url });
    await grantSubscription(f.store, { clientId: f.receiver.clientId, serviceId: f.service.id, period });
    const now = orThrow(await alice.requestServiceKey(f.service.id, period));
    expect(await alice.requestServiceKey(f.service.id, next)).toMatchObject({
      ok: false,
      code: 'not_entitled',
    });
    const bought = orThrow(await alice.purchaseSubscription(f.service.id, next));
    expect(bought.serviceKey).not.toEqual(now.serviceKey);
    expect(orThrow(await alice.requestServiceKey(f.service.id, next)).serviceKey).toEqual(bought.serviceKey);
  });

  it('refuses with documented codes, and logs each refusal', async () => {
    const alice = new KeyServerClient(f.receiver, { serverUrl: url });
    const sender = new KeyServerClient(f.sender, { serverUrl: url });
    expect(await alice.requestServiceKey(f.service.id, period)).toMatchObject({
      ok: false,
      code: 'not_entitled',
      status: 403,
    });
    expect(await sender.purchaseSubscription(f.service.id, period)).toMatchObject({
      ok: false,
      code: 'forbidden_role',
    });
    expect(await alice.purchaseSubscription(99, period)).toMatchObject({
      ok: false,
      code: 'unknown_service',
      status: 404,
    });
    expect(await alice.purchaseSubscription(f.service.id, nextPeriod(nextPeriod(period)))).toMatchObject({
      ok: false,
      code: 'period_not_available',
      status: 409,
      retryable: true,
    });
    expect(await alice.purchaseSubscription(f.service.id, '2000-01')).toMatchObject({
      ok: false,
      code: 'invalid_request',
    });
    orThrow(await alice.purchaseSubscription(f.service.id, period, 'same'));
    expect(await alice.purchaseSubscription(f.service.id, nextPeriod(period), 'same')).toMatchObject({
      ok: false,
      code: 'request_id_conflict',
    });
    const denied = (await requestLog(f)).filter((r) => r.outcome === 'denied').map((r) => r.code);
    expect(denied).toEqual([
      'not_entitled',
      'forbidden_role',
      'unknown_service',
      'period_not_available',
      'invalid_request',
      'request_id_conflict',
    ]);
    const invoice = rateLog(await logRecords(f), plan);
    expect(invoice.lines.map((l) => l.item)).toEqual([`subscription service=1 period=${period}`]);
  });
});

describe('segment keys under the service key', () => {
  it('claim 9: the content-key answer carries a signed segment_key message whose PSK opens with the SK', async () => {
    const { verifyKeyMessage } = await import('../../src/keys/key-message-sign.js');
    const { periodNumber, unwrapSegmentKeyUnderServiceKey } = await import('../../src/keys/service-key.js');
    const alice = new KeyServerClient(f.receiver, { serverUrl: url });
    const sk = orThrow(await alice.purchaseSubscription(f.service.id, period)).serviceKey;
    const now = Date.now();
    const issued = orThrow(
      await new KeyServerClient(f.sender, { serverUrl: url }).issueContentKey({
        programmeId: f.programme.id,
        segment: 0,
        ssrc: 1,
        roc: 0,
        seq: 0,
        activatesAtMs: now + 1000,
        expiresAtMs: now + 12_000,
      }),
    );
    const v = verifyKeyMessage(issued.segmentKeyMessage!, f.secrets.signing.publicKey);
    expect(v.ok && v.msg.type).toBe('segment_key');
    if (!v.ok || v.msg.type !== 'segment_key') return;
    expect(v.msg).toMatchObject({ programmeId: 1, segment: 0, epoch: 0, activatesAtMs: now + 1000 });
    const entry = v.msg.entries.find((e) => e.epoch === periodNumber(period))!;
    expect(entry).toMatchObject({ wrapKind: 'service', wrapKeyId: f.service.id });
    const ctx = { serviceId: f.service.id, period, programmeId: 1, segment: 0, epoch: 0 };
    const psk = unwrapSegmentKeyUnderServiceKey(sk, entry.wrapped, ctx);
    expect(psk.ok).toBe(true);
    // The PSK is the one a per-segment request would get.
    const unicast = orThrow(await alice.requestSegmentKey(1, 0));
    expect(psk.ok && psk.key).toEqual(unicast.segmentKey);
  });

  it('near a period change the segment_key message carries the PSK under both periods’ service keys', async () => {
    const { verifyKeyMessage } = await import('../../src/keys/key-message-sign.js');
    const { periodNumber } = await import('../../src/keys/service-key.js');
    const { contentKeyRequest, inject } = await import('./fixture.js');
    const entries = async (now: number, segment = 0) => {
      f.clock.now = now;
      const res = await inject(f, f.sender, contentKeyRequest(f, segment));
      const v = verifyKeyMessage(
        new Uint8Array(Buffer.from(res.json<{ segmentKeyMessage: string }>().segmentKeyMessage, 'base64')),
        f.secrets.signing.publicKey,
      );
      return v.ok ? v.msg.entries.map((e) => [e.wrapKind, e.wrapKeyId, e.epoch]) : [];
    };
    // Mid-month: the current period only. Two minutes before the change (segments are 5 minutes): both.
    expect(await entries(Date.UTC(2026, 11, 15, 12))).toEqual([['service', 1, periodNumber('2026-12')]]);
    expect(await entries(Date.UTC(2026, 11, 31, 23, 58), 1)).toEqual([
      ['service', 1, periodNumber('2026-12')],
      ['service', 1, periodNumber('2027-01')],
    ]);
  });
});
