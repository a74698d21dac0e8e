// Claims 7, 8, 30, 31 and 32 on real sockets: clients that ask for the same programme segment key within the key
// server's collection window get it in ONE signed multicast message on the programme's key port, which concatenates
// each client's copy wrapped under that client's own key; each client finds its entry by its id. A long list is
// split across datagrams under 1200 bytes, each signed once. A lone request, and a client that missed the message,
// get the key by unicast (claim 5), from the log, billed once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rateLog } from '../../src/billing/rate.js';
import { verifyKeyMessage } from '../../src/keys/key-message-sign.js';
import { unwrapSegmentKeyForClient } from '../../src/keys/segment-key.js';
import type { SignedSegmentKeyMessage } from '../../src/packet/key-message.js';
import { keyMessageOpener } from '../../src/receiver/open-key-message.js';
import { orThrow } from '../../src/server/client.js';
import {
  captureGroup,
  sampleSlice,
  sendMedia,
  startReceiver,
  startSystem,
  type TestClient,
  type TestSystem,
} from '../helpers/system.js';

let system: TestSystem;
let capture: Awaited<ReturnType<typeof captureGroup>>;

beforeAll(async () => {
  // A window long enough that requests sent together land in it even on a loaded machine.
  system = await startSystem({ pricing: 'per_segment', segmentKeyWindowMs: 300 });
  capture = await captureGroup(system, system.programme.keyPort);
});

afterAll(async () => {
  await capture.close();
  await system.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function viewers(n: number, prefix: string): Promise<TestClient[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) => system.enrol(`${prefix}-${i}`, 'receiver', 'per_segment')),
  );
}

/** Segment-key messages captured on the key port since `from`, verified, one per messageSeq. */
function captured(from: number): { msg: SignedSegmentKeyMessage; bytes: Buffer }[] {
  const bySeq = new Map<number, { msg: SignedSegmentKeyMessage; bytes: Buffer }>();
  for (const bytes of capture.packets.slice(from)) {
    const v = verifyKeyMessage(new Uint8Array(bytes), system.secrets.signing.publicKey);
    expect(v.ok).toBe(true);
    if (v.ok && v.msg.type === 'segment_key') bySeq.set(v.msg.messageSeq, { msg: v.msg, bytes });
  }
  return [...bySeq.values()];
}

describe('segment keys multicast to named clients', () => {
  it('claims 7, 8, 30, 31, 32: one signed message concatenates each client’s copy under its own key', async () => {
    const clients = await viewers(3, 'c7');
    const from = capture.packets.length;
    const answers = await Promise.all(
      clients.map((c, i) =>
        c.client.requestSegmentKeyByMulticast(system.programme.id, 0, `c7-${i}`).then(orThrow),
      ),
    );
    // Every answer points at the message on the air instead of carrying the key (claim 7).
    for (const a of answers) expect(a).toMatchObject({ delivery: 'multicast', segment: 0, epoch: 0 });
    expect(new Set(answers.map((a) => 'messageSeq' in a && a.messageSeq)).size).toBe(1);
    await sleep(400); // the repeats
    const messages = captured(from);
    expect(messages).toHaveLength(1); // one message for all three, sent with repeats: each signed once
    const { msg } = messages[0]!;
    expect(
      capture.packets.slice(from).filter((p) => p.equals(messages[0]!.bytes)).length,
    ).toBeGreaterThanOrEqual(2);
    // Claims 30, 31: the copies are concatenated, one entry per client, named by client id.
    expect(msg.entries.map((e) => [e.wrapKind, e.wrapKeyId])).toEqual(
      clients.map((c) => ['client', c.credentials.clientId]),
    );
    // Claim 8: each copy opens only under its own client's key; claim 32: what it opens is the programme segment key.
    const psks = clients.map((c, i) => {
      const ctx = {
        clientId: c.credentials.clientId,
        programmeId: system.programme.id,
        segment: 0,
        epoch: 0,
      };
      const own = unwrapSegmentKeyForClient(c.credentials.clientKey, msg.entries[i]!.wrapped, ctx);
      const other = unwrapSegmentKeyForClient(
        c.credentials.clientKey,
        msg.entries[(i + 1) % 3]!.wrapped,
        ctx,
      );
      expect(other.ok).toBe(false);
      expect(own.ok).toBe(true);
      return Buffer.from(own.ok ? own.key : []);
    });
    expect(psks[1]).toEqual(psks[0]);
    expect(psks[2]).toEqual(psks[0]);
    // A receiver's opener finds its own entry by id; a stranger's finds none.
    const opened = keyMessageOpener(
      system.secrets.signing.publicKey,
      clients[1]!.credentials,
    )(new Uint8Array(messages[0]!.bytes));
    expect(opened.ok && 'segmentKey' in opened && Buffer.from(opened.segmentKey.own() ?? [])).toEqual(
      psks[0],
    );
    const stranger = (await viewers(1, 'stranger'))[0]!;
    const notMine = keyMessageOpener(
      system.secrets.signing.publicKey,
      stranger.credentials,
    )(new Uint8Array(messages[0]!.bytes));
    expect(notMine.ok && 'segmentKey' in notMine && notMine.segmentKey.own()).toBeUndefined();
    // The same key by unicast, for a client that missed the message: from the log, not billed again.
    const again = orThrow(await clients[0]!.client.requestSegmentKey(system.programme.id, 0, 'c7-0'));
    expect(Buffer.from(again.segmentKey)).toEqual(psks[0]);
    const log = await system.store.transact((tx) => tx.log.range(1, 100_000));
    const ids = new Set(clients.map((c) => c.credentials.clientId));
    const delivered = log.filter(
      (r) => r.event === 'segment_key' && r.outcome === 'delivered' && ids.has(r.clientId!),
    );
    expect(delivered).toHaveLength(3); // one per client, logged before the multicast
    const plan = {
      version: 1 as const,
      currency: 'EUR',
      subscriptions: [],
      segments: [{ programmeId: system.programme.id, price: 7 }],
    };
    const bill = rateLog(log, plan);
    for (const c of clients) {
      expect(bill.totals.find((t) => t.client === c.credentials.clientId)?.amount).toBe(7);
    }
  });

  it('splits a long list across datagrams under 1200 bytes, each signed once, every client in exactly one', async () => {
    const clients = await viewers(40, 'many');
    const from = capture.packets.length;
    const answers = await Promise.all(
      clients.map((c, i) =>
        c.client.requestSegmentKeyByMulticast(system.programme.id, 0, `many-${i}`).then(orThrow),
      ),
    );
    await sleep(400);
    const messages = captured(from);
    expect(messages.length).toBeGreaterThanOrEqual(3);
    for (const m of messages) expect(m.bytes.length).toBeLessThan(1200);
    const named = messages.flatMap((m) => m.msg.entries.map((e) => e.wrapKeyId));
    expect(named.sort((a, b) => a - b)).toEqual(
      clients.map((c) => c.credentials.clientId).sort((a, b) => a - b),
    );
    // Each answer names the message that holds that client's entry.
    for (const [i, a] of answers.entries()) {
      expect(a).toMatchObject({ delivery: 'multicast' });
      const seq = 'messageSeq' in a ? a.messageSeq : -1;
      const m = messages.find((x) => x.msg.messageSeq === seq)!;
      expect(m.msg.entries.map((e) => e.wrapKeyId)).toContain(clients[i]!.credentials.clientId);
    }
  });

  it('claim 5 stays: a lone request within the window is answered by unicast', async () => {
    const [c] = await viewers(1, 'alone');
    const from = capture.packets.length;
    const a = orThrow(await c!.client.requestSegmentKeyByMulticast(system.programme.id, 0));
    expect(a).toMatchObject({ ok: true, segment: 0 });
    expect('segmentKey' in a && a.segmentKey.length).toBe(32);
    await sleep(200);
    expect(captured(from)).toHaveLength(0);
  });

  it('refuses a client that is not entitled before any batching', async () => {
    const outsider = await system.enrol('outsider', 'receiver');
    const r = await outsider.client.requestSegmentKeyByMulticast(system.programme.id, 0);
    expect(r).toMatchObject({ ok: false, code: 'not_entitled' });
  });
});

describe('receivers taking their segment keys from the multicast', () => {
  it('claims 4, 7 and 8 end to end: content keys under segment keys that reach each receiver in one shared multicast message', async () => {
    const sender = await system.enrol('encoder', 'sender');
    const viewers3 = await viewers(3, 'e2e');
    const rxs = await Promise.all(
      viewers3.map((v) => startReceiver(system, v, 3000, { segmentKeyDelivery: 'multicast' })),
    );
    const media = await sampleSlice(800); // ≈ 8.8 s of media: three segments of 4 s
    const { progress } = await sendMedia(system, sender, media, { speed: 4, leadMs: 500 });
    await sleep(300);
    await Promise.all(rxs.map((rx) => rx.close()));
    const segments = progress.segment + 1;
    expect(segments).toBeGreaterThanOrEqual(3);
    for (const rx of rxs) {
      const st = rx.receiver.stats;
      expect(rx.output().equals(Buffer.from(media))).toBe(true);
      expect(st.packetsRejected).toBe(0);
      // Every segment key this receiver held came addressed to it in a shared message: no unicast fallback.
      expect(st.segmentKeysAddressed).toBe(segments);
      expect(st.segmentKeyRequests).toBe(segments);
    }
  });
});

describe('a receiver that misses its multicast copy', () => {
  it('asks again with the same requestId by unicast and gets the same key from the log, billed once', async () => {
    const { segmentKeyFetcher } = await import('../../src/receiver/segment-keys.js');
    const [a, b] = await viewers(2, 'miss');
    const fetch = (c: TestClient) =>
      segmentKeyFetcher(c.credentials, {
        serverUrl: system.url,
        programmeId: system.programme.id,
        delivery: 'multicast',
      });
    const fa = fetch(a!);
    const fb = fetch(b!);
    // Nobody listens for these two: both copies go out in one message and are lost to them.
    const [ra, rb] = await Promise.all([fa(0, 'miss-a'), fb(0, 'miss-b')]);
    expect(ra).toMatchObject({ ok: false, code: 'on_the_air', retryable: true });
    expect(rb).toMatchObject({ ok: false, code: 'on_the_air' });
    const again = await fa(0, 'miss-a'); // the receiver's next try: unicast, answered from the log
    expect(again.ok && again.key.length).toBe(32);
    // Reposting the requestId asking for multicast again is answered from the log by unicast: nothing re-multicast.
    await sleep(400); // the first message's repeats are over
    const from = capture.packets.length;
    const repost = orThrow(await a!.client.requestSegmentKeyByMulticast(system.programme.id, 0, 'miss-a'));
    expect('segmentKey' in repost && Buffer.from(repost.segmentKey)).toEqual(
      Buffer.from(again.ok ? again.key : []),
    );
    await sleep(200);
    expect(captured(from)).toHaveLength(0);
    const log = await system.store.transact((tx) => tx.log.range(1, 100_000));
    const mine = log.filter((r) => r.clientId === a!.credentials.clientId && r.event === 'segment_key');
    expect(mine.map((r) => [r.outcome, r.requestId])).toEqual([['delivered', 'miss-a']]);
  });
});
