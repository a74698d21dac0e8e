// Issue 3, points 6 and 7: the receiver's retry rules for segment keys, against a real key server over real HTTP,
// made to misbehave by a real proxy in front of it (test/helpers/fault-proxy.ts) or, for "not yet", by asking the
// real key server for a segment ahead of the sender. Everything runs through the real SegmentKeys and
// KeyServerClient (as `segmentKeyFetcher` builds it for `keycast receive`), and one case through a real Receiver.
//
//  - 503 and lost answers: backoff, one requestId, answered from the log: one delivered record, billed once;
//  - timeouts and dropped connections: backoff, never two requests for the key in flight;
//  - not_yet: wait the announced time, then ask again; four tries log four requests, deliver one key, bill it once;
//  - 403: one request, the refusal reported, never asked again;
//  - two consumers at once: one request, one log record.
import { afterEach, describe, expect, it } from 'vitest';
import { rateLog } from '../../src/billing/rate.js';
import {
  COOLDOWN_MS,
  MAX_ERROR_TRIES,
  MAX_NOT_YET_WAITS,
  SegmentKeys,
  segmentKeyFetcher,
} from '../../src/receiver/segment-keys.js';
import { orThrow } from '../../src/server/client.js';
import type { LogRecord } from '../../src/store/index.js';
import {
  FORWARD,
  UNAVAILABLE,
  startFaultProxy,
  type Fault,
  type FaultProxy,
  type FaultProxyOptions,
} from '../helpers/fault-proxy.js';
import {
  quietLog,
  sampleSlice,
  sendMedia,
  startReceiver,
  startSystem,
  type TestClient,
  type TestSystem,
} from '../helpers/system.js';

const SEGMENT_PATH = '/v1/keys/segment';
/** Timer callbacks may run a millisecond before their time; a wait "respected" allows this much. */
const TIMER_SLACK_MS = 2;

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

interface World {
  readonly system: TestSystem;
  readonly sender: TestClient;
  readonly viewer: TestClient;
  /** Puts the sender on the air at `segment` (a real content key, issued by the key server). */
  issue(segment: number): Promise<void>;
}

async function world(o: { cryptoPeriodMs?: number; segmentLengthMs?: number } = {}): Promise<World> {
  const system = await startSystem({
    pricing: 'per_segment',
    cryptoPeriodMs: o.cryptoPeriodMs ?? 250,
    segmentLengthMs: o.segmentLengthMs ?? 500,
  });
  cleanup.push(() => system.close());
  const sender = await system.enrol('encoder', 'sender');
  const viewer = await system.enrol('viewer', 'receiver', 'per_segment');
  const issue = async (segment: number) => {
    const now = Date.now();
    orThrow(
      await sender.client.issueContentKey({
        programmeId: system.programme.id,
        segment,
        ssrc: 1,
        roc: 0,
        seq: segment,
        activatesAtMs: now,
        expiresAtMs: now + system.programme.cryptoPeriodMs,
      }),
    );
  };
  await issue(0);
  return { system, sender, viewer, issue };
}

async function proxy(w: World, o: FaultProxyOptions): Promise<FaultProxy> {
  const p = await startFaultProxy(w.system.url, o);
  cleanup.push(() => p.close());
  return p;
}

/** The fault for the n-th segment-key request (1-based) from a list; forward after it. */
function segmentFaults(faults: readonly Fault[]): NonNullable<FaultProxyOptions['plan']> {
  return ({ path, attempt }) => (path === SEGMENT_PATH ? (faults[attempt - 1] ?? FORWARD) : FORWARD);
}

/** A receiver's SegmentKeys asking through `p`, with what it reported. */
function segmentKeys(w: World, p: FaultProxy, client: TestClient = w.viewer, timeoutMs?: number) {
  const tries: number[] = [];
  const refusals: { segment: number; code: string }[] = [];
  const keys: number[] = [];
  const sk = new SegmentKeys(
    segmentKeyFetcher(client.credentials, {
      serverUrl: p.url,
      programmeId: w.system.programme.id,
      ...(timeoutMs !== undefined && { timeoutMs }),
    }),
    quietLog,
    {
      onRequest: (s) => tries.push(s),
      onRefusal: (segment, code) => refusals.push({ segment, code }),
      onKey: (s) => keys.push(s),
    },
  );
  return { sk, tries, refusals, keys };
}

async function log(w: World): Promise<LogRecord[]> {
  return w.system.store.transact((tx) => tx.log.range(1, 100_000));
}

async function segmentRecords(w: World, client: TestClient = w.viewer) {
  return (await log(w)).filter(
    (r) => r.event === 'segment_key' && r.clientId === client.credentials.clientId,
  );
}

/** The viewer's per-segment bill: how many segments it is charged for. */
async function segmentsBilled(w: World, client: TestClient = w.viewer): Promise<number> {
  const invoice = rateLog(await log(w), {
    version: 1,
    currency: 'EUR',
    subscriptions: [],
    segments: [{ programmeId: w.system.programme.id, price: 25 }],
  });
  return invoice.lines
    .filter((l) => l.client === client.credentials.clientId)
    .reduce((n, l) => n + l.quantity, 0);
}

/** The segment key as another entitled client gets it straight from the key server. */
async function witnessKey(w: World, segment: number): Promise<Uint8Array> {
  const witness = await w.system.enrol(`witness-${segment}`, 'receiver', 'per_segment');
  return orThrow(await witness.client.requestSegmentKey(w.system.programme.id, segment)).segmentKey;
}

const segmentRequests = (p: FaultProxy) => p.requests.filter((r) => r.path === SEGMENT_PATH);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('retry rules: 503 and lost answers', () => {
  it('503 three times then success: four tries, one requestId, one key, one delivered record, billed once', async () => {
    const w = await world();
    const p = await proxy(w, { plan: segmentFaults([UNAVAILABLE, UNAVAILABLE, UNAVAILABLE]) });
    const h = segmentKeys(w, p);

    const key = await h.sk.request(0);

    expect(key).toEqual(await witnessKey(w, 0));
    expect(h.tries).toEqual([0, 0, 0, 0]);
    expect(h.keys).toEqual([0]);
    expect(h.refusals).toEqual([]);
    const rs = segmentRequests(p);
    expect(rs.map((r) => r.status)).toEqual([503, 503, 503, 200]);
    expect(new Set(rs.map((r) => r.requestId)).size).toBe(1);
    expect(new Set(rs.map((r) => r.nonce)).size).toBe(4); // each try signed afresh
    // Exponential backoff with jitter: the waits are at least 50, 100 and 200 ms (half of 100·2^(n-1)).
    for (let i = 0; i < 3; i++) {
      expect(rs[i + 1]!.arrivedAtMs - rs[i]!.repliedAtMs!).toBeGreaterThanOrEqual(
        50 * 2 ** i - TIMER_SLACK_MS,
      );
    }
    const records = await segmentRecords(w);
    expect(records.map((r) => [r.outcome, r.requestId])).toEqual([['delivered', rs[0]!.requestId]]);
    expect(await segmentsBilled(w)).toBe(1);
  });

  it('an answer lost after the server delivered: the retry is answered from the log, one record, billed once', async () => {
    const w = await world();
    const p = await proxy(w, {
      plan: segmentFaults([{ kind: 'lose_answer' }, { kind: 'lose_answer' }]),
    });
    const h = segmentKeys(w, p);

    const key = await h.sk.request(1);

    expect(key).toEqual(await witnessKey(w, 1));
    const rs = segmentRequests(p);
    expect(rs.map((r) => [r.fault, r.status])).toEqual([
      ['lose_answer', 503],
      ['lose_answer', 503],
      ['forward', 200],
    ]);
    expect(new Set(rs.map((r) => r.requestId)).size).toBe(1);
    // The server delivered (and logged) three times over the wire, but from one record.
    const records = await segmentRecords(w);
    expect(records.map((r) => [r.outcome, r.requestId])).toEqual([['delivered', rs[0]!.requestId]]);
    expect(await segmentsBilled(w)).toBe(1);
  });

  it('gives up after a bounded number of tries, reports it, and asks nothing more during the pause', async () => {
    const w = await world();
    const p = await proxy(w, { plan: segmentFaults(Array<Fault>(100).fill(UNAVAILABLE)) });
    const h = segmentKeys(w, p);
    const t0 = performance.now();

    expect(await h.sk.request(0)).toBeUndefined();
    const tookMs = performance.now() - t0;

    expect(h.tries).toHaveLength(MAX_ERROR_TRIES);
    expect(h.refusals).toEqual([{ segment: 0, code: 'log_unavailable' }]);
    // Seven waits, each at least half and less than all of 100, 200, 400, 800, 1600, 3200, 5000 ms.
    expect(tookMs).toBeGreaterThanOrEqual(5650 - TIMER_SLACK_MS);
    for (let i = 0; i < 10; i++) h.sk.want(0);
    expect(await h.sk.request(0)).toBeUndefined();
    await sleep(100);
    expect(segmentRequests(p)).toHaveLength(MAX_ERROR_TRIES);
    expect(COOLDOWN_MS).toBeGreaterThan(100); // the checks above ran inside the pause
    expect(await segmentRecords(w)).toEqual([]);
  }, 20_000);
});

describe('retry rules: timeouts and dropped connections', () => {
  it('a server that hangs: each try times out, backoff, never two requests for the key in flight', async () => {
    const w = await world();
    const hang: Fault = { kind: 'hang' };
    const p = await proxy(w, { plan: segmentFaults([hang, hang, hang]) });
    const timeoutMs = 200;
    const h = segmentKeys(w, p, w.viewer, timeoutMs);

    // Many consumers keep wanting the key while the tries hang.
    const consumers = Array.from({ length: 5 }, () => h.sk.request(1));
    const nagging = setInterval(() => h.sk.want(1), 10);
    const keys = await Promise.all(consumers);
    clearInterval(nagging);

    const expected = await witnessKey(w, 1);
    for (const k of keys) expect(k).toEqual(expected);
    const rs = segmentRequests(p);
    expect(rs.map((r) => r.fault)).toEqual(['hang', 'hang', 'hang', 'forward']);
    expect(h.tries).toHaveLength(4);
    expect(Math.max(...p.maxConcurrent.values())).toBe(1);
    expect(new Set(rs.map((r) => r.requestId)).size).toBe(1);
    // Each try was given up after the timeout, then a backoff of at least 50·2^(n-1) ms.
    for (let i = 0; i < 3; i++) {
      expect(rs[i + 1]!.arrivedAtMs - rs[i]!.arrivedAtMs).toBeGreaterThanOrEqual(
        timeoutMs + 50 * 2 ** i - TIMER_SLACK_MS,
      );
    }
    expect((await segmentRecords(w)).map((r) => r.outcome)).toEqual(['delivered']);
  });

  it('dropped connections are retried with the same requestId: one delivered record', async () => {
    const w = await world();
    const p = await proxy(w, { plan: segmentFaults([{ kind: 'drop' }, { kind: 'drop' }]) });
    const h = segmentKeys(w, p);

    const key = await h.sk.request(0);

    expect(key).toEqual(await witnessKey(w, 0));
    const rs = segmentRequests(p);
    expect(rs.map((r) => r.fault)).toEqual(['drop', 'drop', 'forward']);
    expect(new Set(rs.map((r) => r.requestId)).size).toBe(1);
    expect(Math.max(...p.maxConcurrent.values())).toBe(1);
    expect((await segmentRecords(w)).map((r) => r.outcome)).toEqual(['delivered']);
    expect(await segmentsBilled(w)).toBe(1);
  });
});

describe('retry rules: not yet', () => {
  it('four tries ending in success log four requests (three denied not_yet + one delivered), deliver one key and bill it once', async () => {
    const w = await world({ cryptoPeriodMs: 250, segmentLengthMs: 500 });
    let latest = 0;
    // Each "not yet" moves the sender one segment on (a real content key) before the answer reaches the client.
    const p = await proxy(w, {
      beforeReply: async (r) => {
        if (r.errorCode === 'not_yet') await w.issue(++latest);
      },
    });
    const h = segmentKeys(w, p);

    const key = await h.sk.request(4); // the sender is at 0: segment 4 is published when 3 goes on the air

    expect(latest).toBe(3);
    expect(key).toEqual(await witnessKey(w, 4));
    expect(h.tries).toEqual([4, 4, 4, 4]);
    expect(h.keys).toEqual([4]);
    expect(h.refusals).toEqual([]);
    const rs = segmentRequests(p);
    expect(rs.map((r) => [r.status, r.errorCode])).toEqual([
      [409, 'not_yet'],
      [409, 'not_yet'],
      [409, 'not_yet'],
      [200, undefined],
    ]);
    // The first answer announced about three segments' wait; every wait respected what was announced.
    expect(rs[0]!.retryAfterMs).toBeGreaterThan(1000);
    for (let i = 0; i < 3; i++) {
      const announced = rs[i]!.retryAfterMs!;
      expect(announced).toBeGreaterThanOrEqual(100);
      expect(rs[i + 1]!.arrivedAtMs - rs[i]!.repliedAtMs!).toBeGreaterThanOrEqual(announced - TIMER_SLACK_MS);
    }
    const records = await segmentRecords(w);
    expect(records.map((r) => [r.outcome, r.code, r.segment])).toEqual([
      ['denied', 'not_yet', 4],
      ['denied', 'not_yet', 4],
      ['denied', 'not_yet', 4],
      ['delivered', null, 4],
    ]);
    expect(new Set(records.map((r) => r.requestId))).toEqual(new Set([rs[0]!.requestId]));
    expect(await segmentsBilled(w)).toBe(1);
  });

  it('not_yet waits do not use up the error tries', async () => {
    const w = await world();
    const notYet: Fault = { kind: 'error', status: 409, code: 'not_yet', retryAfterMs: 20 };
    // Five errors (one short of giving up), with a "not yet" after each.
    const faults = Array.from({ length: MAX_ERROR_TRIES - 1 }, () => [UNAVAILABLE, notYet]).flat();
    const p = await proxy(w, { plan: segmentFaults(faults) });
    const h = segmentKeys(w, p);

    const key = await h.sk.request(0);

    expect(key).toEqual(await witnessKey(w, 0));
    expect(h.tries).toHaveLength(2 * (MAX_ERROR_TRIES - 1) + 1);
    expect(new Set(segmentRequests(p).map((r) => r.requestId)).size).toBe(1);
    expect((await segmentRecords(w)).map((r) => r.outcome)).toEqual(['delivered']);
  }, 20_000);

  it('not_yet waits are bounded: the round gives up after MAX_NOT_YET_WAITS waits and reports it', async () => {
    const w = await world();
    const notYet: Fault = { kind: 'error', status: 409, code: 'not_yet', retryAfterMs: 5 };
    const p = await proxy(w, { plan: segmentFaults(Array<Fault>(100).fill(notYet)) });
    const h = segmentKeys(w, p);

    expect(await h.sk.request(0)).toBeUndefined();

    expect(h.tries).toHaveLength(MAX_NOT_YET_WAITS + 1);
    expect(h.refusals).toEqual([{ segment: 0, code: 'not_yet' }]);
    h.sk.want(0);
    await sleep(50);
    expect(segmentRequests(p)).toHaveLength(MAX_NOT_YET_WAITS + 1);
  }, 20_000);
});

describe('retry rules: 403', () => {
  it('not_entitled: exactly one request, the refusal reported at once, never asked again', async () => {
    const w = await world();
    const nobody = await w.system.enrol('nobody', 'receiver');
    const p = await proxy(w, {});
    const h = segmentKeys(w, p, nobody);

    expect(await h.sk.request(0)).toBeUndefined();
    expect(h.refusals).toEqual([{ segment: 0, code: 'not_entitled' }]);
    expect(h.sk.refusal(0)).toBe('not_entitled');
    for (let i = 0; i < 20; i++) h.sk.want(0);
    await sleep(300);
    expect(await h.sk.request(0)).toBeUndefined();
    expect(h.sk.get(0)).toBeUndefined();

    expect(h.tries).toEqual([0]);
    expect(segmentRequests(p).map((r) => r.status)).toEqual([403]);
    const records = await segmentRecords(w, nobody);
    expect(records.map((r) => [r.outcome, r.code])).toEqual([['denied', 'not_entitled']]);
    expect(await segmentsBilled(w, nobody)).toBe(0);
  });

  it('forbidden_role: stops at once as well', async () => {
    const w = await world();
    const forbidden: Fault = { kind: 'error', status: 403, code: 'forbidden_role' };
    const p = await proxy(w, { plan: segmentFaults([forbidden]) });
    const h = segmentKeys(w, p);

    expect(await h.sk.request(0)).toBeUndefined();
    h.sk.want(0);
    await sleep(300);

    expect(h.refusals).toEqual([{ segment: 0, code: 'forbidden_role' }]);
    expect(segmentRequests(p)).toHaveLength(1);
  });

  it('a real Receiver not entitled to the programme asks once per segment and never again', async () => {
    const w = await world({ cryptoPeriodMs: 250, segmentLengthMs: 500 });
    const nobody = await w.system.enrol('nobody', 'receiver');
    const p = await proxy(w, {});
    const rx = await startReceiver(w.system, nobody, 500, { serverUrl: p.url });
    cleanup.push(() => rx.close());

    await sendMedia(w.system, w.sender, await sampleSlice(300), { speed: 4 });
    await sleep(300);

    const rs = segmentRequests(p);
    const segments = [...new Set(rs.map((r) => r.key))];
    expect(segments.length).toBeGreaterThanOrEqual(2);
    expect(rs).toHaveLength(segments.length); // one request per segment
    expect(rs.every((r) => r.status === 403 && r.errorCode === 'not_entitled')).toBe(true);
    expect(rx.receiver.stats.segmentKeyRequests).toBe(segments.length);
    expect(rx.receiver.stats.refusals.map((r) => r.code)).toEqual(segments.map(() => 'not_entitled'));
    expect(rx.receiver.stats.packetsDecrypted).toBe(0);
  }, 30_000);
});

describe('single flight', () => {
  it('two consumers needing the same key at the same moment: one request, one log record', async () => {
    const w = await world();
    const p = await proxy(w, {
      // The answer is slow, so the second consumer comes while the first's request is on the wire.
      beforeReply: () => sleep(100),
    });
    const h = segmentKeys(w, p);

    const first = h.sk.request(0);
    await sleep(30);
    expect(segmentRequests(p)).toHaveLength(1);
    const [a, b] = await Promise.all([first, h.sk.request(0)]);

    expect(a).toBeDefined();
    expect(b).toEqual(a);
    expect(h.tries).toEqual([0]);
    expect(segmentRequests(p)).toHaveLength(1);
    expect((await segmentRecords(w)).map((r) => r.outcome)).toEqual(['delivered']);
  });
});

describe('retry rules in a real Receiver', () => {
  it('503 then a lost answer for every segment: the stream is whole, one delivered record per segment, each billed once', async () => {
    const w = await world({ cryptoPeriodMs: 250, segmentLengthMs: 500 });
    const p = await proxy(w, { plan: segmentFaults([UNAVAILABLE, { kind: 'lose_answer' }]) });
    const rx = await startReceiver(w.system, w.viewer, 3000, { serverUrl: p.url });
    let open = true;
    const close = async () => {
      if (open) await rx.close();
      open = false;
    };
    cleanup.push(close);
    const media = await sampleSlice(300);

    await sendMedia(w.system, w.sender, media, { speed: 4 });
    await sleep(500);
    await close();

    expect(rx.output().equals(Buffer.from(media))).toBe(true);
    expect(rx.receiver.stats.packetsRejected).toBe(0);
    const rs = segmentRequests(p);
    const bySegment = new Map<string, typeof rs>();
    for (const r of rs) bySegment.set(r.key, [...(bySegment.get(r.key) ?? []), r]);
    expect(bySegment.size).toBeGreaterThanOrEqual(2);
    for (const tries of bySegment.values()) {
      expect(tries.map((r) => r.status)).toEqual([503, 503, 200]);
      expect(new Set(tries.map((r) => r.requestId)).size).toBe(1);
    }
    expect(rx.receiver.stats.segmentKeyRequests).toBe(rs.length);
    const delivered = (await segmentRecords(w)).filter((r) => r.outcome === 'delivered');
    expect(delivered).toHaveLength(bySegment.size);
    expect(new Set(delivered.map((r) => r.segment)).size).toBe(bySegment.size);
    expect(await segmentsBilled(w)).toBe(bySegment.size);
  }, 30_000);
});
