// Every refusal code: answered with its status and { error: { code, message } }, logged as a denial, and no key
// delivered. (log_unavailable is in log-before-deliver.test.ts.)
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { asClientId, asSegmentIndex } from '../../src/ids.js';
import { grantSegments, grantSubscription } from '../../src/store/index.js';
import {
  contentKeyRequest,
  expectChainOk,
  inject,
  requestLog,
  segmentRequest,
  setup,
  signedHeaders,
  type Fixture,
} from './fixture.js';

let f: Fixture;
beforeEach(async () => {
  f = await setup();
});
afterEach(async () => {
  await f.close();
});

function expectRefused(res: LightMyRequestResponse, code: string, status: number): void {
  expect(res.statusCode).toBe(status);
  const body = res.json<{ error: { code: string; message: string } }>();
  const retry = code === 'not_yet' ? { retryAfterMs: expect.any(Number) as unknown } : {};
  expect(body).toEqual({ error: { code, message: expect.any(String), ...retry } });
  for (const k of ['wrappedKey', 'wrappedContentKey', 'keyMessage']) expect(res.body).not.toContain(k);
}

/** The last record is a denial with `code`, and nothing was ever delivered to a client. */
async function expectDenialLogged(code: string, extra: Record<string, unknown> = {}): Promise<void> {
  const log = await requestLog(f);
  expect(log.at(-1)).toMatchObject({ outcome: 'denied', code, basis: null, response: null, ...extra });
  expect(log.filter((r) => r.outcome === 'delivered')).toEqual([]);
  expect(
    await f.store.transact((tx) => tx.segmentKeys.get(f.programme.id, asSegmentIndex(0), 0)),
  ).toBeUndefined();
  await expectChainOk(f);
}

async function entitle(): Promise<void> {
  await grantSubscription(f.store, {
    clientId: f.receiver.clientId,
    serviceId: f.service.id,
    period: '2026-12',
  });
}

describe('refusals', () => {
  it('unknown_client (401): an id that was never enrolled', async () => {
    await entitle();
    const res = await inject(f, f.receiver, {
      ...segmentRequest(f.programme.id, 0),
      clientId: asClientId(99),
    });
    expectRefused(res, 'unknown_client', 401);
    await expectDenialLogged('unknown_client', {
      clientId: 99,
      authenticated: false,
      programmeId: 1,
      segment: 0,
    });
  });

  it('unknown_client (401): no client header at all', async () => {
    const res = await f.app.inject({ method: 'GET', url: `/v1/programmes/${f.programme.id}` });
    expectRefused(res, 'unknown_client', 401);
    await expectDenialLogged('unknown_client', { clientId: null, event: 'programme' });
  });

  it('bad_mac (401): the body was changed after signing', async () => {
    await entitle();
    const r = segmentRequest(f.programme.id, 0);
    const headers = signedHeaders(f, f.receiver, r);
    const res = await f.app.inject({
      method: 'POST',
      url: r.url,
      headers,
      payload: JSON.stringify({ ...r.body, segment: 1 }),
    });
    expectRefused(res, 'bad_mac', 401);
    await expectDenialLogged('bad_mac', { clientId: f.receiver.clientId, authenticated: false });
  });

  it('bad_mac (401): signed with another client key', async () => {
    await entitle();
    const res = await inject(f, f.sender, {
      ...segmentRequest(f.programme.id, 0),
      clientId: f.receiver.clientId,
    });
    expectRefused(res, 'bad_mac', 401);
    await expectDenialLogged('bad_mac');
  });

  it('replayed_request (401): the exact same request sent twice', async () => {
    await entitle();
    const r = segmentRequest(f.programme.id, 0);
    const headers = signedHeaders(f, f.receiver, r);
    const first = await f.app.inject({
      method: 'POST',
      url: r.url,
      headers,
      payload: JSON.stringify(r.body),
    });
    expect(first.statusCode).toBe(200);
    const replay = await f.app.inject({
      method: 'POST',
      url: r.url,
      headers,
      payload: JSON.stringify(r.body),
    });
    expectRefused(replay, 'replayed_request', 401);
    const log = await requestLog(f);
    expect(log.map((x) => [x.outcome, x.code])).toEqual([
      ['delivered', null],
      ['denied', 'replayed_request'],
    ]);
  });

  it('stale_request (401): timestamp 31 s old, and 31 s in the future', async () => {
    await entitle();
    for (const skew of [-31_000, 31_000]) {
      const res = await inject(f, f.receiver, {
        ...segmentRequest(f.programme.id, 0),
        timestampMs: f.clock.now + skew,
      });
      expectRefused(res, 'stale_request', 401);
    }
    await expectDenialLogged('stale_request');
    // 30 s is still inside the window.
    const ok = await inject(f, f.receiver, {
      ...segmentRequest(f.programme.id, 0),
      timestampMs: f.clock.now - 30_000,
    });
    expect(ok.statusCode).toBe(200);
  });

  it('not_entitled (403): no subscription for this month and no segment grant', async () => {
    await grantSubscription(f.store, {
      clientId: f.receiver.clientId,
      serviceId: f.service.id,
      period: '2026-11',
    });
    await grantSegments(f.store, {
      clientId: f.receiver.clientId,
      programmeId: f.programme.id,
      fromSegment: asSegmentIndex(5),
    });
    const res = await inject(f, f.receiver, segmentRequest(f.programme.id, 0));
    expectRefused(res, 'not_entitled', 403);
    await expectDenialLogged('not_entitled', { authenticated: true, serviceId: f.service.id, segment: 0 });
  });

  it('unknown_programme (404)', async () => {
    await entitle();
    const res = await inject(f, f.receiver, segmentRequest(77, 0));
    expectRefused(res, 'unknown_programme', 404);
    await expectDenialLogged('unknown_programme', { programmeId: 77 });
    const get = await inject(f, f.receiver, { method: 'GET', url: '/v1/programmes/77' });
    expectRefused(get, 'unknown_programme', 404);
  });

  it('unknown_segment (400): negative, fractional, too big, not a number', async () => {
    await entitle();
    for (const [i, segment] of [-1, 1.5, 2 ** 32, '3'].entries()) {
      const res = await inject(f, f.receiver, segmentRequest(f.programme.id, segment, `bad-${i}`));
      expectRefused(res, 'unknown_segment', 400);
    }
    await expectDenialLogged('unknown_segment');
  });

  it('not_yet (409): more than one segment beyond the sender, with the time to ask again', async () => {
    await entitle();
    // Before the sender has asked for anything, segment 0 is available and 1 is not: ask again in a second.
    const early = await inject(f, f.receiver, segmentRequest(f.programme.id, 1));
    expectRefused(early, 'not_yet', 409);
    expect(early.json()).toMatchObject({ error: { retryAfterMs: 1000 } });
    expect(early.headers['retry-after']).toBe('1');
    await expectDenialLogged('not_yet', { segment: 1 });
    const ck = await inject(f, f.sender, contentKeyRequest(f, 3));
    expect(ck.statusCode).toBe(200);
    expect((await inject(f, f.receiver, segmentRequest(f.programme.id, 4))).statusCode).toBe(200);
    // Segment 5 is published when segment 4 starts: one segment length after segment 3's first key activates.
    const res = await inject(f, f.receiver, segmentRequest(f.programme.id, 5));
    expectRefused(res, 'not_yet', 409);
    const { retryAfterMs } = res.json<{ error: { retryAfterMs: number } }>().error;
    expect(retryAfterMs).toBe(Math.min(60_000, 1000 + f.programme.segmentLengthMs));
    expect(res.headers['retry-after']).toBe(String(Math.ceil(retryAfterMs / 1000)));
    expect((await requestLog(f)).at(-1)).toMatchObject({ outcome: 'denied', code: 'not_yet', segment: 5 });
  });

  it('invalid_request (400): a delivery mode other than unicast or multicast', async () => {
    await entitle();
    const req = segmentRequest(f.programme.id, 0);
    for (const delivery of ['broadcast', 1, null]) {
      const res = await inject(f, f.receiver, { ...req, body: { ...req.body, delivery } });
      expectRefused(res, 'invalid_request', 400);
    }
    await expectDenialLogged('invalid_request');
  });

  it('forbidden_role (403): a receiver asking for content keys', async () => {
    const res = await inject(f, f.receiver, contentKeyRequest(f, 0));
    expectRefused(res, 'forbidden_role', 403);
    await expectDenialLogged('forbidden_role', { event: 'content_key', authenticated: true });
    expect(await f.store.transact((tx) => tx.contentKeys.list(f.programme.id))).toEqual([]);
  });

  it('segment_not_monotonic (409): the sender going back a segment', async () => {
    expect((await inject(f, f.sender, contentKeyRequest(f, 2))).statusCode).toBe(200);
    expect((await inject(f, f.sender, contentKeyRequest(f, 2))).statusCode).toBe(200); // same segment: fine
    const res = await inject(f, f.sender, contentKeyRequest(f, 1));
    expectRefused(res, 'segment_not_monotonic', 409);
    expect((await requestLog(f)).at(-1)).toMatchObject({ outcome: 'denied', code: 'segment_not_monotonic' });
  });

  it('segment_too_far (409): a sender jumping far ahead, which would publish every segment key up to it', async () => {
    const first = await inject(f, f.sender, contentKeyRequest(f, 4_000_000_000));
    expectRefused(first, 'segment_too_far', 409);
    expect((await inject(f, f.sender, contentKeyRequest(f, 63))).statusCode).toBe(200); // 0 + 64 - 1: allowed
    const res = await inject(f, f.sender, contentKeyRequest(f, 63 + 65));
    expectRefused(res, 'segment_too_far', 409);
    expect((await requestLog(f)).at(-1)).toMatchObject({ outcome: 'denied', code: 'segment_too_far' });
    expect(await f.store.transact((tx) => tx.contentKeys.latestSegment(f.programme.id))).toBe(63);
    // Receivers still meet not_yet beyond the real latest segment.
    await entitle();
    expectRefused(await inject(f, f.receiver, segmentRequest(f.programme.id, 65)), 'not_yet', 409);
  });

  it('request_id_conflict (409): a request id reused for a different segment', async () => {
    await entitle();
    expect((await inject(f, f.receiver, segmentRequest(f.programme.id, 0, 'same'))).statusCode).toBe(200);
    const res = await inject(f, f.receiver, segmentRequest(f.programme.id, 1, 'same'));
    expectRefused(res, 'request_id_conflict', 409);
    const log = await requestLog(f);
    expect(log.map((r) => [r.outcome, r.code, r.segment])).toEqual([
      ['delivered', null, 0],
      ['denied', 'request_id_conflict', 1],
    ]);
  });

  it('invalid_request (400): a missing request id, or a content key that expires before it activates', async () => {
    await entitle();
    const res = await inject(f, f.receiver, {
      method: 'POST',
      url: '/v1/keys/segment',
      body: { programmeId: f.programme.id, segment: 0 },
    });
    expectRefused(res, 'invalid_request', 400);
    await expectDenialLogged('invalid_request');
    const ck = await inject(f, f.sender, contentKeyRequest(f, 0, { expiresAtMs: f.clock.now }));
    expectRefused(ck, 'invalid_request', 400);
  });

  it('malformed_json (400), refused before anything else', async () => {
    const r = { ...segmentRequest(f.programme.id, 0), rawBody: '{"programmeId": 1,' };
    const res = await inject(f, f.receiver, r);
    expectRefused(res, 'malformed_json', 400);
    expect(await requestLog(f)).toEqual([]);
  });

  it('body_too_large (413): bodyLimit 16 KiB', async () => {
    const r = {
      ...segmentRequest(f.programme.id, 0),
      rawBody: JSON.stringify({ pad: 'x'.repeat(16 * 1024) }),
    };
    const res = await inject(f, f.receiver, r);
    expectRefused(res, 'body_too_large', 413);
    expect(await requestLog(f)).toEqual([]);
  });

  it('unsupported_media_type (415) and not_found (404)', async () => {
    const res = await f.app.inject({
      method: 'POST',
      url: '/v1/keys/segment',
      headers: { 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expectRefused(res, 'unsupported_media_type', 415);
    expectRefused(await f.app.inject({ method: 'GET', url: '/v1/nothing' }), 'not_found', 404);
  });
});
