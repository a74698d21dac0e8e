// KeyServerClient against a key server listening on 127.0.0.1 (port 0): signing, unwrapping, typed refusals, and the
// retry policy (503 and timeouts: bounded backoff with jitter, fresh nonce, same requestId; 4xx: no retry).
import { createServer } from 'node:net';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyKeyMessage } from '../../src/keys/key-message-sign.js';
import { KeyServerClient, KeyServerRefusalError, orThrow } from '../../src/server/client.js';
import { grantSubscription } from '../../src/store/index.js';
import { logRecords, setup, type Fixture } from './fixture.js';

let f: Fixture;
let url: string;
beforeEach(async () => {
  f = await setup();
  url = await f.app.listen({ host: '127.0.0.1', port: 0 });
  f.clock.now = Date.now(); // the client signs with the real clock
});
afterEach(async () => {
  await f.close();
});

interface Call {
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
}

/** A TCP port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function recordingFetch(calls: Call[], inner: typeof fetch = fetch): typeof fetch {
  return (input, init) => {
    calls.push({
      headers: { ...(init?.headers as Record<string, string>) },
      body: init?.body as string | undefined,
    });
    return inner(input, init);
  };
}

describe('KeyServerClient', () => {
  it('gets the programme and a segment key, unwrapped', async () => {
    await grantSubscription(f.store, {
      clientId: f.receiver.clientId,
      serviceId: f.service.id,
      period: new Date().toISOString().slice(0, 7),
    });
    const c = new KeyServerClient(f.receiver, { serverUrl: url });
    const p = orThrow(await c.getProgramme(1));
    expect(p.programme).toMatchObject({ id: 1, group: '239.255.0.1', keyPort: 5006, cryptoPeriodMs: 10_000 });
    const k = await c.requestSegmentKey(1, 0, 'abc');
    expect(k).toMatchObject({ ok: true, requestId: 'abc', programmeId: 1, segment: 0, epoch: 0 });
    expect(k.ok && k.segmentKey.length).toBe(32);
  });

  it('issues a content key for the sender: CK unwrapped, key message verified', async () => {
    const c = new KeyServerClient(f.sender, { serverUrl: url });
    const now = Date.now();
    const r = orThrow(
      await c.issueContentKey({
        programmeId: 1,
        segment: 0,
        ssrc: 7,
        roc: 0,
        seq: 1,
        activatesAtMs: now,
        expiresAtMs: now + 10_000,
      }),
    );
    expect([r.keyId, r.masterKey.length, r.masterSalt.length, r.profile, r.mkiLengthBytes]).toEqual([
      1,
      16,
      14,
      'AES_CM_128_HMAC_SHA1_80',
      4,
    ]);
    expect(verifyKeyMessage(r.keyMessage, f.sender.serverPublicKey).ok).toBe(true);
  });

  it('returns a typed refusal for a 4xx and does not retry it', async () => {
    const calls: Call[] = [];
    const c = new KeyServerClient(f.receiver, { serverUrl: url, fetch: recordingFetch(calls) });
    const r = await c.requestSegmentKey(1, 0);
    expect(r).toEqual({
      ok: false,
      code: 'not_entitled',
      status: 403,
      retryable: false,
      message: expect.any(String),
      serverUrl: url,
    });
    expect(calls).toHaveLength(1);
    expect(() => orThrow(r)).toThrow(/^key server refused: not_entitled \(403\): client \d+ is not entitled/);
    const forbidden = await new KeyServerClient(f.receiver, { serverUrl: url }).issueContentKey({
      programmeId: 1,
      segment: 0,
      ssrc: 1,
      roc: 0,
      seq: 0,
      activatesAtMs: 1,
      expiresAtMs: 2,
    });
    expect(forbidden).toMatchObject({ ok: false, code: 'forbidden_role', status: 403 });
  });

  it('retries a 503 (log unavailable) with a fresh nonce and the same requestId; billed once', async () => {
    await grantSubscription(f.store, {
      clientId: f.receiver.clientId,
      serviceId: f.service.id,
      period: new Date().toISOString().slice(0, 7),
    });
    const raw = new Database(f.dbPath);
    raw.exec("CREATE TRIGGER log_fails BEFORE INSERT ON log BEGIN SELECT RAISE(ABORT, 'disk on fire'); END");
    const calls: Call[] = [];
    const sleeps: number[] = [];
    const c = new KeyServerClient(f.receiver, {
      serverUrl: url,
      fetch: recordingFetch(calls),
      random: () => 0.5,
      sleep: (ms) => {
        sleeps.push(ms);
        if (sleeps.length === 2) raw.exec('DROP TRIGGER log_fails'); // the disk recovers before the 3rd attempt
        return Promise.resolve();
      },
    });
    const r = await c.requestSegmentKey(1, 0, 'rid-1');
    raw.close();
    expect(r.ok).toBe(true);
    expect(calls).toHaveLength(3);
    expect(sleeps).toEqual([50, 100]); // 0.5 × 100·2^0, 0.5 × 100·2^1
    expect(new Set(calls.map((x) => x.headers['x-keycast-nonce'])).size).toBe(3);
    expect(new Set(calls.map((x) => x.body)).size).toBe(1); // same requestId, same body
    expect(JSON.parse(calls[0]!.body!)).toMatchObject({ requestId: 'rid-1' });
    const delivered = (await logRecords(f)).filter((x) => x.event === 'segment_key');
    expect(delivered).toHaveLength(1);
  });

  it('gives up after maxAttempts on timeouts, with capped backoff', async () => {
    const sleeps: number[] = [];
    let attempts = 0;
    const hanging: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => {
        attempts++;
        init?.signal?.addEventListener('abort', () => reject(init.signal!.reason as Error));
      });
    const c = new KeyServerClient(f.receiver, {
      serverUrl: url,
      fetch: hanging,
      timeoutMs: 20,
      maxAttempts: 5,
      baseDelayMs: 100,
      maxDelayMs: 300,
      random: () => 0.999,
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
    });
    const r = await c.getProgramme(1);
    expect(r).toMatchObject({ ok: false, code: 'timeout', status: 0, retryable: true });
    expect(attempts).toBe(5);
    expect(sleeps).toEqual([99, 199, 299, 299]);
  });

  it('reports an unreachable server as network_error', async () => {
    const closed = await closedPort();
    const c = new KeyServerClient(f.receiver, {
      serverUrl: `http://127.0.0.1:${closed}`,
      maxAttempts: 2,
      sleep: () => Promise.resolve(),
    });
    const r = await c.getProgramme(1);
    expect(r).toMatchObject({
      ok: false,
      code: 'network_error',
      status: 0,
      retryable: true,
      serverUrl: `http://127.0.0.1:${closed}`,
      message: expect.stringMatching(/^fetch failed \(.*ECONNREFUSED/),
    });
    // Never reached: the error does not say the server refused anything.
    const err = (() => {
      try {
        orThrow(r);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(KeyServerRefusalError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^could not reach the key server at http://127\\.0\\.0\\.1:${closed}: fetch failed \\(.*ECONNREFUSED`,
      ),
    );
    const timeout = await new KeyServerClient(f.receiver, {
      serverUrl: url,
      maxAttempts: 1,
      fetch: () => Promise.reject(new DOMException('timed out', 'TimeoutError')),
    }).getProgramme(1);
    expect(() => orThrow(timeout)).toThrow(
      `could not reach the key server at ${url}: no answer within 5000 ms`,
    );
  });

  it("words an invalid answer as the key server's answer, not a refusal", async () => {
    const c = new KeyServerClient(f.receiver, {
      serverUrl: url,
      fetch: () => Promise.resolve(new Response('{"id":"nope"}', { status: 200 })),
    });
    const r = await c.getProgramme(1);
    expect(r).toMatchObject({ ok: false, code: 'bad_response', status: 200 });
    expect(() => orThrow(r)).toThrow(
      "the key server's answer was not valid (bad_response, HTTP 200): malformed programme",
    );
  });
});
