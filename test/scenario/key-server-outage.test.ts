// The key server goes away mid-programme and comes back. Within a segment the sender keeps the programme on the
// air under the current key, asks again, and rotates once the next key comes; at a segment boundary it holds the
// stream until the next segment's key comes, so no segment goes out under another's key. Receivers lose nothing,
// and a buyer of one segment decrypts that segment exactly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildKeyServer } from '../../src/server/index.js';
import { exportContentKeys, grantSegments } from '../../src/store/index.js';
import { asProgrammeId, asSegmentIndex } from '../../src/ids.js';
import { sampleSlice, sendMedia, startReceiver, startSystem, type TestSystem } from '../helpers/system.js';

describe('a key-server outage within a segment', () => {
  let system: TestSystem;
  let replacement: ReturnType<typeof buildKeyServer> | undefined;
  beforeAll(async () => {
    // One 8 s segment: the 6.6 s of media never cross a segment boundary.
    system = await startSystem({ cryptoPeriodMs: 1000, segmentLengthMs: 8000 });
  });
  afterAll(async () => {
    await replacement?.close();
    await system.close();
  });

  it('costs no packet: the stream stays on the current key until the server is back', async () => {
    const sender = await system.enrol('encoder', 'sender');
    const viewer = await system.enrol('viewer', 'receiver', 'subscription');
    const rx = await startReceiver(system, viewer, 10_000);
    const media = await sampleSlice(600); // ≈ 6.6 s of media, 3.3 s at speed 2
    const port = Number(new URL(system.url).port);
    const outage = (async () => {
      await new Promise((r) => setTimeout(r, 1200));
      await system.server.close();
      await new Promise((r) => setTimeout(r, 2000));
      replacement = buildKeyServer({ store: system.store, dataDir: system.dataDir });
      await replacement.listen({ host: '127.0.0.1', port });
    })();
    const { progress } = await sendMedia(system, sender, media, { speed: 2 });
    await outage;
    await new Promise((r) => setTimeout(r, 500));
    await rx.close();

    expect(progress.packetsSent).toBe(600);
    const keys = (await exportContentKeys(system.store, system.secrets, asProgrammeId(system.programme.id)))
      .keys;
    // Fewer keys than the 7 crypto periods: some periods ran long on the previous key during the outage.
    expect(keys.length).toBeLessThan(7);
    expect(progress.keysRotated).toBeGreaterThanOrEqual(1);
    expect(rx.receiver.stats.packetsRejected).toBe(0);
    expect(rx.output().equals(Buffer.from(media))).toBe(true);
  });
});

describe('a key-server outage across segment boundaries', () => {
  let system: TestSystem;
  let replacement: ReturnType<typeof buildKeyServer> | undefined;
  beforeAll(async () => {
    system = await startSystem({ cryptoPeriodMs: 1000, segmentLengthMs: 2000 });
  });
  afterAll(async () => {
    await replacement?.close();
    await system.close();
  });

  it('holds the stream at the boundary: every packet sent, no segment under another segment key, a one-segment buyer gets exactly that segment', async () => {
    const sender = await system.enrol('encoder', 'sender');
    const viewer = await system.enrol('viewer', 'receiver', 'subscription');
    const buyer = await system.enrol('segment-1-only', 'receiver');
    await grantSegments(system.store, {
      clientId: buyer.credentials.clientId,
      programmeId: asProgrammeId(system.programme.id),
      fromSegment: asSegmentIndex(1),
      toSegment: asSegmentIndex(1),
    });
    const all = await startReceiver(system, viewer, 10_000);
    const one = await startReceiver(system, buyer, 10_000);
    const media = await sampleSlice(600); // ≈ 6.6 s of media: segments 0..3 of 2 s, 3.3 s at speed 2 without the outage
    const port = Number(new URL(system.url).port);
    const outage = (async () => {
      // Down from about media 2.4 s to well past the boundaries at 4 s and 6 s (keys are asked 1.3 s of media ahead).
      await new Promise((r) => setTimeout(r, 1200));
      await system.server.close();
      await new Promise((r) => setTimeout(r, 2500));
      replacement = buildKeyServer({ store: system.store, dataDir: system.dataDir });
      await replacement.listen({ host: '127.0.0.1', port });
    })();
    const { progress, segmentRanges } = await sendMedia(system, sender, media, { speed: 2 });
    await outage;
    await new Promise((r) => setTimeout(r, 500));
    await Promise.all([all.close(), one.close()]);

    expect(progress.packetsSent).toBe(600);
    expect(segmentRanges.map((r) => r.segment)).toEqual([0, 1, 2, 3]);
    const keys = (await exportContentKeys(system.store, system.secrets, asProgrammeId(system.programme.id)))
      .keys;
    for (const r of segmentRanges) expect(keys.some((k) => k.segment === r.segment)).toBe(true);
    expect(all.receiver.stats.packetsRejected).toBe(0);
    expect(all.output().equals(Buffer.from(media))).toBe(true);
    // The buyer of segment 1 decrypts it exactly: nothing of segment 2 went out under a key of segment 1, and
    // nothing of segment 1 under a key of segment 0.
    const s1 = segmentRanges.find((r) => r.segment === 1)!;
    expect(one.output().equals(Buffer.from(media.subarray(s1.tsByteStart, s1.tsByteEnd)))).toBe(true);
  });
});
