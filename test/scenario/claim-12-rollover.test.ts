// Claim 12 end to end on loopback: before a segment boundary the next content key is multicast wrapped under the
// current segment's key and under the next one's. A receiver entitled to both segments goes through the boundary
// without a gap, even when the key server cannot be reached for the next segment key at the boundary; one entitled
// only to the earlier segment stops exactly at the boundary; one entitled only to the later starts exactly there.
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asProgrammeId, asSegmentIndex } from '../../src/ids.js';
import { keyMessageOpener } from '../../src/receiver/open-key-message.js';
import { Receiver } from '../../src/receiver/receiver.js';
import { KeyServerClient } from '../../src/server/client.js';
import { grantSegments } from '../../src/store/index.js';
import { bytesOfSegments, captureProgramme, mapCapture } from '../helpers/capture.js';
import {
  quietLog,
  sampleSlice,
  sendMedia,
  startReceiver,
  startSystem,
  type TestClient,
  type TestSystem,
} from '../helpers/system.js';

/** The boundary under test: from segment S to S + 1. */
const S = 1;

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A loopback URL where nothing listens: a real connection refused. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

describe('claim 12: seamless rollover at segment boundaries', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startSystem({ cryptoPeriodMs: 1000, segmentLengthMs: 2000 });
  });
  afterAll(async () => system.close());

  async function viewer(name: string, from: number, to?: number): Promise<TestClient> {
    const c = await system.enrol(name, 'receiver');
    await grantSegments(system.store, {
      clientId: c.credentials.clientId,
      programmeId: asProgrammeId(system.programme.id),
      fromSegment: asSegmentIndex(from),
      toSegment: to === undefined ? undefined : asSegmentIndex(to),
    });
    return c;
  }

  /**
   * A receiver entitled to S and S + 1 whose requests for PSK(S + 1) meet a key server it cannot reach until it has
   * gone through the boundary on the copy of the content key under PSK(S).
   */
  function slowReceiver(c: TestClient, unreachable: string) {
    const chunks: Buffer[] = [];
    const events: string[] = [];
    const offline = new KeyServerClient(c.credentials, { serverUrl: unreachable, maxAttempts: 1 });
    const receiver: Receiver = new Receiver({
      programme: system.programme,
      interfaceAddress: '127.0.0.1',
      log: quietLog,
      holdMs: 10_000,
      sinks: [
        { write: (_p, payload) => void chunks.push(Buffer.from(payload)), close: () => Promise.resolve() },
      ],
      openKeyMessage: keyMessageOpener(c.credentials.serverPublicKey),
      fetchSegmentKey: async (segment) => {
        const through = receiver.stats.rolloverKeys > 0;
        const client = segment === S + 1 && !through ? offline : c.client;
        const r = await client.requestSegmentKey(system.programme.id, segment);
        events.push(`${segment}:${r.ok ? 'key' : r.code}:${Buffer.concat(chunks).length}`);
        return r.ok ? { ok: true, key: r.segmentKey } : { ok: false, code: r.code, retryable: r.retryable };
      },
    });
    return { receiver, events, output: () => Buffer.concat(chunks) };
  }

  it('claim 12: the next content key is on the air under both segment keys before the boundary; receivers of either segment switch exactly there', async () => {
    const sender = await system.enrol('encoder', 'sender');
    const both = await startReceiver(system, await viewer('both', S, S + 1));
    const earlier = await startReceiver(system, await viewer('earlier', S, S));
    const later = await startReceiver(system, await viewer('later', S + 1));
    const slow = slowReceiver(await viewer('slow', S, S + 1), await deadUrl());
    await slow.receiver.open();
    const capture = await captureProgramme(system);

    const media = await sampleSlice(500); // ≈ 5.5 s of media: 6 crypto periods, segments 0, 1, 2
    const { progress } = await sendMedia(system, sender, media, { speed: 4 });
    await new Promise((r) => setTimeout(r, 300));
    // The slow receiver's next try for PSK(S + 1), now reachable, may come up to a backoff later.
    await until(() => slow.events.some((e) => e.startsWith(`${S + 1}:key`)), 10_000);
    await capture.close();
    await Promise.all([both.close(), earlier.close(), later.close(), slow.receiver.close()]);
    expect(progress.segment).toBeGreaterThanOrEqual(S + 1);

    // On the air: the first key of S + 1 under PSK(S + 1) and PSK(S), before its first packet; every other key under
    // its own segment's PSK alone.
    const { keys, media: packets } = mapCapture(
      system,
      capture.datagrams,
      sender.credentials.serverPublicKey,
    );
    expect(packets).toHaveLength(progress.packetsSent);
    expect(Buffer.concat(packets.map((p) => media.subarray(p.offset, p.offset + p.lengthBytes)))).toEqual(
      Buffer.from(media),
    );
    const firstOfNext = packets.find((p) => p.segment === S + 1)!;
    const lastOfS = packets.filter((p) => p.segment === S).at(-1)!;
    expect(keys.get(firstOfNext.keyId)!.segments).toEqual([S + 1, S]);
    expect(keys.get(firstOfNext.keyId)!.firstMessageAt).toBeLessThan(firstOfNext.at);
    expect(keys.get(lastOfS.keyId)!.segments).toEqual([S]);
    for (const [keyId, k] of keys) {
      const first = packets.find((p) => p.keyId === keyId)!;
      const rollover =
        first.segment > 0 && packets[packets.indexOf(first) - 1]!.segment === first.segment - 1;
      expect(k.segments).toEqual(rollover ? [first.segment, first.segment - 1] : [first.segment]);
    }

    // Entitled to S and S + 1: continuous and byte-identical across the boundary.
    const inS = bytesOfSegments(media, packets, (s) => s === S);
    const inNext = bytesOfSegments(media, packets, (s) => s === S + 1);
    expect(both.output().equals(Buffer.concat([inS, inNext]))).toBe(true);
    // Entitled only to S: the input up to the last TS packet of S, then nothing; its request for S + 1 refused ahead.
    expect(earlier.output().equals(inS)).toBe(true);
    expect(earlier.receiver.stats.refusals).toContainEqual({ segment: S + 1, code: 'not_entitled' });
    expect(earlier.receiver.stats.rolloverKeys).toBe(0);
    // Entitled only to S + 1 (and on): exactly from the first packet of S + 1.
    expect(later.output().equals(bytesOfSegments(media, packets, (s) => s >= S + 1))).toBe(true);
    expect(later.receiver.stats.refusals).toContainEqual({ segment: S, code: 'not_entitled' });

    // PSK(S + 1) unavailable at the boundary: the copy under PSK(S) carries the receiver through, without a gap.
    expect(slow.receiver.stats.rolloverKeys).toBe(1);
    expect(slow.output().equals(Buffer.concat([inS, inNext]))).toBe(true);
    const failed = slow.events.filter((e) => e.startsWith(`${S + 1}:network_error`));
    const got = slow.events.find((e) => e.startsWith(`${S + 1}:key`));
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(got).toBeDefined();
    // When PSK(S + 1) finally came, packets of S + 1 had already been handed on.
    expect(Number(got!.split(':')[2])).toBeGreaterThan(inS.length);
  });
});
