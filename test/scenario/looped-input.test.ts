// A sender whose input loops (the same TS twice, so the PCR goes back at the join) or whose PCR jumps: the media
// clock goes on (src/sender/ts-chunker.ts), the sender keeps rotating keys forward, and the receiver hands on every
// byte. Before, the PCR going back sent the sender to a crypto period it had left, and it stopped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleSlice, sendMedia, startReceiver, startSystem, type TestSystem } from '../helpers/system.js';

describe('an input whose PCR goes back', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startSystem({ cryptoPeriodMs: 1000, segmentLengthMs: 2000 });
  });
  afterAll(async () => system.close());

  it('a looped file: every packet sent and decrypted, keys and segments only move forward', async () => {
    const sender = await system.enrol('encoder', 'sender');
    const viewer = await system.enrol('viewer', 'receiver', 'subscription');
    const rx = await startReceiver(system, viewer);
    const once = await sampleSlice(250); // ≈ 2.7 s of media
    const media = Buffer.concat([once, once]);
    const { progress, segmentRanges } = await sendMedia(system, sender, media, { speed: 4 });
    await new Promise((r) => setTimeout(r, 300));
    await rx.close();
    expect(progress.packetsSent).toBe(500);
    expect(progress.keysRotated).toBeGreaterThanOrEqual(4);
    const segments = segmentRanges.map((r) => r.segment);
    expect(segments).toEqual([...segments].sort((a, b) => a - b));
    expect(new Set(segments).size).toBe(segments.length);
    expect(rx.receiver.stats.packetsRejected).toBe(0);
    expect(rx.output().equals(media)).toBe(true);
  });
});
