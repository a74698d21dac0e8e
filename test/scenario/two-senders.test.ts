// One sender per programme: a second sender resumes after the programme's newest segment, and the first, now
// behind, is refused its next key (segment_not_monotonic) and stops instead of staying on the air.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleSlice, sendMedia, startSystem, type TestSystem } from '../helpers/system.js';

describe('a second sender on the same programme', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startSystem({ cryptoPeriodMs: 1000, segmentLengthMs: 2000 });
  });
  afterAll(async () => system.close());

  it('takes over; the first stops with a final refusal', async () => {
    const a = await system.enrol('encoder-a', 'sender');
    const b = await system.enrol('encoder-b', 'sender');
    const media = await sampleSlice(600); // ≈ 6.6 s of media
    const first = sendMedia(system, a, media, { speed: 2, leadMs: 100 });
    const firstOutcome = first.then(
      () => 'finished',
      (err: Error) => err.message,
    );
    await new Promise((r) => setTimeout(r, 1200));
    const second = await sendMedia(system, b, await sampleSlice(200), { speed: 2, leadMs: 100 });
    expect(second.progress.packetsSent).toBe(200);
    expect(second.progress.segmentsSent).toBeGreaterThanOrEqual(1);
    expect(await firstOutcome).toMatch(/segment_not_monotonic/);
  });
});
