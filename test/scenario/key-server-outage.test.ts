// The key server goes away mid-programme and comes back. The sender keeps the programme on the air under the
// current key, asks again, and rotates once the next key comes; receivers lose nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildKeyServer } from '../../src/server/index.js';
import { exportContentKeys } from '../../src/store/index.js';
import { asProgrammeId } from '../../src/ids.js';
import { sampleSlice, sendMedia, startReceiver, startSystem, type TestSystem } from '../helpers/system.js';

describe('a key-server outage during a programme', () => {
  let system: TestSystem;
  let replacement: ReturnType<typeof buildKeyServer> | undefined;
  beforeAll(async () => {
    system = await startSystem({ cryptoPeriodMs: 1000, segmentLengthMs: 4000 });
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
